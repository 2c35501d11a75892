"""The one row builder: every ResultRow starts in `build`, the agent's (ok, failed, timeout, crashed, oom) and the
driver's (skipped, node_lost, crashed).

The cell gives the identity, the generation settings and the predicted memory (set on the cell by placement before
dispatch; None when it could not be predicted). What else is known comes in parts, each a dict of columns built by the
helpers below from typed values (measurements, failures, options); a later part wins over an earlier one.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from grid.core import failures, methodology, quality
from grid.core.failures import ErrorInfo
from grid.core.measurements import CellTrials, ChildError, FetchInfo, LoadInfo
from grid.core.options import RunOptions
from grid.core.plan import Cell
from grid.core.schema import ResultRow
from grid.core.status import Status

TAIL_CHARS = 4000  # characters of a traceback or a child's log kept in a row
MESSAGE_CHARS = 2000  # characters of an error message kept in a row


def now() -> str:
    """ISO 8601 in UTC, to the second: started_at / finished_at."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def build(cell: Cell, status: Status | str, *parts: Mapping[str, Any], **fields: Any) -> ResultRow:
    """A row of `cell`: its identity, generation settings and predicted memory, then each part, then `fields`."""
    gen = cell.generation
    columns: dict[str, Any] = dict(
        run_id=cell.run_id,
        cell_id=cell.cell_id,
        model=cell.model.id,
        hw_class=cell.hw_class,
        suite_name=cell.suite_name,
        suite_hash=cell.suite_hash,
        model_source=cell.model.source,
        model_revision=cell.model.revision,
        prompt_id=cell.prompt.id,
        image_id=cell.image.id,
        node_id=cell.node_id,
        max_tokens=gen.max_tokens,
        temperature=gen.temperature,
        warmup_runs=gen.warmup_runs,
        trials=gen.trials,
        exact_tokens=gen.exact_tokens,
        seed=gen.seed,
        predicted_memory_gb=cell.predicted_memory_gb,
        env_id=cell.env_id,
        env_packages=", ".join(cell.environment.packages) if cell.environment is not None else "",
        env_build_s=cell.env_build_s,
    )
    for part in parts:
        columns.update(part)
    columns.update(fields)
    return ResultRow(status=Status.parse(status).value, **columns)


def driver_row(cell: Cell, status: Status | str, error_class: str, message: str, fix: str, **extra: Any) -> ResultRow:
    """A row the driver writes itself (skipped, node_lost, a task that ended without a row): grid owns the error."""
    stamp = now()
    grid_error = dict(error_class=error_class, error_package="grid", error_message=message, error_fix=fix)
    return build(cell, status, grid_error, dict(started_at=stamp, finished_at=stamp), **extra)


# --- parts ----------------------------------------------------------------------------------------------------------


def settings(options: RunOptions) -> dict[str, Any]:
    """The run's settings that can change a measurement, as the child that measured the cell ran under them."""
    return dict(
        spare_children=options.spares(),
        preimport=options.preimport,
        measure_bandwidth=options.measure_bandwidth,
        mlx_device=options.mlx_device.strip().lower(),
    )


def fetched(fetch: FetchInfo | None) -> dict[str, Any]:
    """Fetch figures, and the versions the child resolved in its environment (they win over the worker's)."""
    if fetch is None:
        return {}
    return dict(download_s=fetch.download_s, download_bytes=fetch.download_bytes) | dict(fetch.versions)


def loaded(load: LoadInfo | None) -> dict[str, Any]:
    """Load figures; the backend the child reports wins over the hardware probe's."""
    if load is None:
        return {}
    part = dict(
        arch=load.arch,
        load_s=load.load_s,
        weight_bytes=load.weight_bytes,
        decode_weight_bytes=load.decode_weight_bytes,
        child_start_s=load.child_start_s,
    )
    return part | ({"backend": load.backend} if load.backend else {})


def failure(info: ErrorInfo, message: str, traceback_tail: str) -> tuple[Status, dict[str, Any]]:
    """The status and failure columns of a cell that did not finish; message and traceback redacted, then cut."""
    return failures.status_for(info), dict(
        error_class=info.error_class,
        error_package=info.error_package,
        error_fix=info.error_fix,
        error_message=failures.redact(message)[:MESSAGE_CHARS],
        traceback_tail=failures.redact(traceback_tail[-TAIL_CHARS:]),
    )


def child_error(err: ChildError, model_dir: str | None) -> tuple[Status, dict[str, Any]]:
    """An exception the child sent back, classified (its frames inside `model_dir` belong to the model files)."""
    chain = [(c.exc_type, c.message, list(c.frames)) for c in err.chain]
    info = failures.classify(err.exc_type, err.message, list(err.frames), model_dir, chain)
    return failure(info, f"{err.exc_type}: {err.message}", err.traceback)


def measured(
    result: CellTrials, cell: Cell, decode_weight_bytes: int | None, bandwidth_gbps: float | None
) -> dict[str, Any]:
    """The columns of an ok cell: medians and statistics over the trials (grid.core.methodology), the raw trials, and
    the last trial's output with its quality flags."""
    stats = methodology.trial_fields(
        result.cold.to_dict() if result.cold is not None else None,
        [t.to_dict() for t in result.trials],
        decode_weight_bytes,
        bandwidth_gbps,
    )
    last = result.trials[-1]
    return stats | dict(
        output_text=last.text,
        finish_reason=last.finish_reason,
        quality_flags=quality.flags(last.text, cell.prompt.text, cell.prompt.context)
        + ([quality.IMAGE_DROPPED] if any(t.image_inputs is False for t in result.trials) else []),
    )
