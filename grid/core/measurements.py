"""Typed measurements: what the isolated child sends back to its parent over the pipe, with units in the field names.

The child (agent/child.py) measures, the parent (agent/runner.py) reads these attributes, the row builder
(grid/core/rows.py) turns them into columns. They cross the `spawn` Pipe as pickles of these frozen dataclasses:
both ends import this module, so nothing is read back by string key. Times are wall-clock seconds
(time.perf_counter), memory is in GB (1e9 bytes, as mlx reports it), throughput in tokens per second.
"""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass

from grid.core.failures import Frame


@dataclass(frozen=True)
class FetchInfo:
    """The model is on local disk (before any cell timer runs): the reply to a fetch request."""

    path: str  # local folder holding the model's files (config.json, weights, processor files)
    download_s: float  # seconds the fetch took (a download, a twin build, or ~0 for a cached model)
    download_bytes: int  # bytes of every file under `path`
    # (column, value) pairs read inside the child (agent.provenance.versions): the environment it really ran in
    versions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LoadInfo:
    """The model is loaded (mlx_vlm.load, strict): the reply to a load request."""

    load_s: float  # seconds inside mlx_vlm.load (no download inside: the files were fetched before)
    weight_bytes: int  # bytes of every parameter of the loaded model
    decode_weight_bytes: int  # bytes of the language model's parameters: what each decoded token reads
    arch: str | None  # model_type from the model's config.json
    load_peak_memory_gb: float  # mlx's peak memory during the load, GB
    backend: str = ""  # metal | cuda | cpu: the backend the child runs on (after the mlx_device setting)
    preimport_wait_s: float | None = None  # seconds the load waited for the pre-import thread; None: pre-import off
    child_start_s: float | None = None  # seconds from the child's spawn to its pre-imports done; None: pre-import off


# what a tokenizer alone returns: any other key a processor fills (pixel_values, image_grid_thw, ...) is image data
TEXT_INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids", "position_ids"})


def image_inputs(inputs: dict, image: str | None) -> bool | None:
    """Whether a processor's output carries the image (None without one): a bare tokenizer returns text keys only."""
    if image is None:
        return None
    return any(v is not None for k, v in inputs.items() if k not in TEXT_INPUTS)


@dataclass(frozen=True)
class Trial:
    """One generation, timed by stage (agent.adapter.generate_timed). processor_s + vision_s + prefill_s + decode_s
    account for wall_s within grid.core.methodology.STAGE_SUM_* (the stages are timed back to back)."""

    text: str  # decoded output (untrusted: escape before rendering)
    finish_reason: str | None  # mlx-vlm's: "stop" (EOS), "length" (max_tokens), None when nothing was generated
    first_token_id: int | None  # id of the first generated token (tests make a twin stop on it)
    prompt_tokens: int  # tokens of the prompt, image tokens included
    generation_tokens: int  # tokens decoded
    prefill_tps: float  # mlx-vlm's prompt_tps: prompt tokens per second of prefill
    decode_tps: float  # mlx-vlm's generation_tps: decoded tokens per second
    peak_memory_gb: float  # mlx's peak memory over the generation, GB
    processor_s: float  # chat template + image preprocessing + tokenising, seconds
    vision_s: float  # vision tower + projector (the model's get_input_embeddings), seconds
    prefill_s: float  # language-model prefill up to the first token, vision excluded, seconds
    ttft_s: float  # time to first token from the processor's start: processor + vision + prefill, seconds
    decode_s: float  # first token to the last, seconds
    wall_s: float  # the whole generate call, seconds
    # the processor's output held image data (None: the cell had no image); False is a VLM run text-only: mlx-vlm
    # fell back to a bare tokenizer when the model's processor failed to load, and the image was dropped silently
    image_inputs: bool | None = None

    def to_dict(self) -> dict:
        """The measurements as grid.core.methodology's statistics read them (key = field name)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CellTrials:
    """The reply to a run request: the cold first run apart, then the timed trials (grid.core.methodology)."""

    cold: Trial | None  # the first run after load (JIT, caches); None without warmup runs
    trials: tuple[Trial, ...]  # the timed trials, in order


@dataclass(frozen=True)
class ErrorCause:
    """One exception of a chain (`raise ... from`, or raised while handling another)."""

    exc_type: str  # the exception class's name, e.g. "ValueError"
    message: str  # str(exception), not yet redacted (the row builder redacts)
    frames: tuple[Frame, ...]  # traceback frames, outermost first


@dataclass(frozen=True)
class ChildError:
    """Any exception in the child (fetch, load or run): the reply instead of FetchInfo / LoadInfo / CellTrials.
    Carries what grid.core.failures.classify needs (type, message, frames, causes) and the traceback text."""

    exc_type: str  # the exception class's name, e.g. "ValueError"
    message: str  # str(exception), not yet redacted
    frames: tuple[Frame, ...]  # traceback frames, outermost first
    chain: tuple[ErrorCause, ...] = ()  # causes / contexts, outermost first (at most CHAIN_LIMIT)
    traceback: str = ""  # traceback.format_exception text, not yet redacted

    @classmethod
    def from_exception(cls, exc: BaseException) -> ChildError:
        chain = []
        inner = exc.__cause__ or exc.__context__
        while inner is not None and len(chain) < CHAIN_LIMIT:
            chain.append(ErrorCause(type(inner).__name__, str(inner), _frames(inner.__traceback__)))
            inner = inner.__cause__ or inner.__context__
        return cls(
            exc_type=type(exc).__name__,
            message=str(exc),
            frames=_frames(exc.__traceback__),
            chain=tuple(chain),
            traceback="".join(traceback.format_exception(exc)),
        )


CHAIN_LIMIT = 5  # causes kept per error: wrappers rarely nest deeper, and a cycle must not loop


def _frames(tb) -> tuple[Frame, ...]:
    return tuple(Frame(f.filename, f.lineno, f.name) for f in traceback.extract_tb(tb))
