"""The isolated child process: it alone imports mlx (through agent.adapter), loads one model and serves its cells.

The parent (agent/runner.py) spawns it with the `spawn` start method, the run's grid.core.options.RunOptions as an
argument (the pre-import and the MLX device are settled before any request), and talks over a Pipe. Each request is
one of the frozen dataclasses below; each reply a typed measurement of grid.core.measurements (both cross the pipe
as pickles):
  FetchRequest -> FetchInfo    model to local disk, before any timer
  LoadRequest  -> LoadInfo     timed load
  RunRequest   -> CellTrials   warmup (the cold run kept apart), then timed trials
  ExitRequest  -> (no reply)   the loop ends
Any exception becomes a ChildError reply with the frames the classifier needs. A segfault or abort kills only this
process; faulthandler writes its stack to the log file the parent reads back.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from agent.energy import EnergyProbe, TrialEnergy
from agent.sentinel import SentinelReading
from grid.core.measurements import CellTrials, ChildError, FetchInfo, LoadInfo
from grid.core.options import RunOptions

if TYPE_CHECKING:  # the child starts with as few imports as it can (the plan pulls in the suite parser and yaml)
    from grid.core.plan import Cell


@dataclass(frozen=True)
class FetchRequest:
    op: ClassVar[str] = "fetch"
    model: str  # a Hugging Face repo id, a local folder, or a twin spec (twin:..., twin-broken:...)
    revision: str | None = None


@dataclass(frozen=True)
class LoadRequest:
    op: ClassVar[str] = "load"
    path: str  # FetchInfo.path
    trust_remote_code: bool = False
    memory_limit_gb: float | None = None  # address-space cap above what is mapped now, GB (None: no cap)


@dataclass(frozen=True)
class RunRequest:
    op: ClassVar[str] = "run"
    prompt: str
    image: str | None  # a local image file, or None for a text-only prompt
    max_tokens: int
    temperature: float
    exact_tokens: bool
    seed: int
    warmup_runs: int
    trials: int

    @classmethod
    def for_cell(cls, cell: Cell, image: str | None) -> RunRequest:
        gen = cell.generation
        return cls(
            prompt=cell.prompt.full_text,
            image=image,
            max_tokens=gen.max_tokens,
            temperature=gen.temperature,
            exact_tokens=gen.exact_tokens,
            seed=gen.seed,
            warmup_runs=gen.warmup_runs,
            trials=gen.trials,
        )


@dataclass(frozen=True)
class SentinelRequest:
    """Run the drift sentinel's reference workload (agent.sentinel) on this child's device -> SentinelReading."""

    op: ClassVar[str] = "sentinel"


@dataclass(frozen=True)
class EnergyRequest:
    """The energy windows of the last run request's timed trials (agent.energy) -> TrialEnergy."""

    op: ClassVar[str] = "energy"


@dataclass(frozen=True)
class ExitRequest:
    op: ClassVar[str] = "exit"


Request = FetchRequest | LoadRequest | RunRequest | SentinelRequest | EnergyRequest | ExitRequest
Reply = FetchInfo | LoadInfo | CellTrials | SentinelReading | TrialEnergy | ChildError


def _fetch(model: str, revision: str | None) -> FetchInfo:
    t0 = time.perf_counter()
    if model.startswith(("twin:", "twin-broken:")):
        from agent.twins import materialize

        path = materialize(model)
    elif Path(model).expanduser().exists():
        path = Path(model).expanduser().resolve()
    else:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(model, revision=revision))
    size = sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
    from agent.provenance import versions  # read here, in the child: the interpreter and packages that really run

    return FetchInfo(
        path=str(path),
        download_s=time.perf_counter() - t0,
        download_bytes=size,
        versions=tuple(sorted(versions().items())),
    )


def _limit_memory(limit_gb: float) -> None:
    """Cap the address space at what is mapped now plus `limit_gb`, so allocations past it fail (OOM) here, not the
    whole machine."""
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    cap = mapped + int(limit_gb * 1e9)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _run(adapter, model, processor, r: RunRequest, energy: EnergyProbe | None = None) -> tuple[CellTrials, TrialEnergy]:
    def once():
        return adapter.generate_timed(
            model, processor, r.prompt, r.image, r.max_tokens, r.temperature, r.exact_tokens, r.seed
        )

    cold = once() if r.warmup_runs > 0 else None  # the first run after load: JIT and caches, recorded apart
    for _ in range(max(r.warmup_runs - 1, 0)):
        once()
    measured = TrialEnergy(
        source=energy.source if energy is not None else "n/a",
        na_reason=energy.na_reason if energy is not None else "energy probe off",
        idle_power_w=energy.idle_power_w if energy is not None else None,
    )
    trials = []
    for _ in range(r.trials):
        if energy is None or energy.meter is None:
            trials.append(once())
            continue
        box: list = []
        try:  # the window spans the generate call (its wall_s): a counter read on each side, nothing else
            joules, seconds = energy.window(lambda box=box: box.append(once()))
            measured.trial_j.append(joules)
            measured.trial_s.append(seconds)
        except Exception as exc:  # noqa: BLE001 — a counter failing mid-run costs the energy figure, not the cell
            if not box:
                raise
            measured.na_reason = f"{energy.source} read failed: {type(exc).__name__}: {exc}"[:200]
        trials.extend(box)
    return CellTrials(cold=cold, trials=tuple(trials)), measured


# Imported ahead of the first request (see Preimport): mlx + mlx_vlm (via the adapter) and the modules every load and
# generate pulls in lazily, so a child's load_s is the model's load, as in a warm in-process loop.
PREIMPORT_MODULES = (
    "agent.twins",
    "agent.adapter",
    "agent.twins.weights",  # a twin built in the fetch (first use on a node) writes its weights through it
    "mlx_vlm.utils",
    "mlx_vlm.prompt_utils",
    "mlx_vlm.generate.dispatch",
    "transformers.models.auto.processing_auto",
    "transformers.image_processing_utils",
    "huggingface_hub",
)
# Niceness of the pre-import thread: a spare child imports while another child measures on the same node; at 19 the
# kernel gives it ~1.5% of a core under contention (CFS weight 15 vs 1024), so it does not disturb the measurement.
PREIMPORT_NICE = 19


class Preimport:
    """Imports PREIMPORT_MODULES on a low-priority background thread as soon as the child starts.

    This is what makes the runner's warm spare child cheap: a spawned child pays ~1-3 s of imports (mlx, mlx_vlm,
    transformers) before it can load; a spare does it while the previous model runs, at a priority that cannot steal
    the measurement's cores. `wait()` (before the first load) restores normal priority where the OS lets it, then joins.
    """

    def __init__(self):
        import threading

        self.tid: int | None = None
        self.error: BaseException | None = None
        self.done_at: float | None = None  # time.time() when every module was imported
        # the niceness to come back to (a bench may run the whole tree at another niceness than 0)
        self.base_nice = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else 0
        self.thread = threading.Thread(target=self._run, name="grid-preimport", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import importlib
        import threading

        self.tid = threading.get_native_id()
        _lower_thread_priority(self.tid)
        for name in PREIMPORT_MODULES:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 — the real import in the main thread reports it properly
                self.error = exc
                return
        self.done_at = time.time()

    def boost(self) -> None:
        """Back to normal priority: this child is now the one working, and its main thread may block on a module lock
        the import thread holds (priority inversion on a busy machine otherwise)."""
        if self.thread.is_alive() and self.tid is not None and hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, self.tid, self.base_nice)
            except OSError:  # unprivileged on Linux: a niced thread cannot be raised back; it finishes at nice 19
                pass

    def wait(self) -> float:
        """Join the import thread; returns the seconds waited (0 for a spare that was ready)."""
        t0 = time.perf_counter()
        self.boost()
        self.thread.join()
        return time.perf_counter() - t0


def _lower_thread_priority(tid: int) -> None:
    try:
        if sys.platform == "darwin":
            import ctypes

            # QOS_CLASS_UTILITY (0x11) for the calling thread: below the measurement's user-interactive/default QoS.
            ctypes.CDLL(None).pthread_set_qos_class_self_np(0x11, 0)
        elif hasattr(os, "setpriority"):
            os.setpriority(os.PRIO_PROCESS, tid, PREIMPORT_NICE)  # Linux: per-thread niceness
    except (OSError, AttributeError):
        pass


class Session:
    """The child's state between requests: the pre-import thread, then the loaded model."""

    def __init__(self, options: RunOptions, spawned_at: float | None = None):
        self.options = options
        self.spawned_at = spawned_at  # the parent's time.time() when it spawned this child
        self.preimport = Preimport() if options.preimport else None
        self.adapter = self.model = self.processor = None
        self.energy: EnergyProbe | None = None
        self.last_energy: TrialEnergy | None = None

    def _start_s(self) -> float | None:
        """Spawn to imports done: how long this child took to be ready (a spare: at low priority, beside a run)."""
        done = self.preimport.done_at if self.preimport is not None else None
        return round(done - self.spawned_at, 3) if done is not None and self.spawned_at is not None else None

    def serve(self, request: Request) -> Reply:
        if isinstance(request, FetchRequest):
            waited = 0.0
            if self.preimport is not None:
                self.preimport.boost()
                if request.model.startswith(("twin:", "twin-broken:")):
                    # building a twin imports transformers and mlx: importing them beside the pre-import thread raced
                    # ("cannot import name 'PreTrainedTokenizerFast' from 'transformers'", a twin failed at random)
                    waited = self.preimport.wait()
            info = _fetch(request.model, request.revision)
            return dataclasses.replace(info, download_s=info.download_s + waited) if waited else info
        if isinstance(request, LoadRequest):
            if request.memory_limit_gb:
                _limit_memory(request.memory_limit_gb)
            waited = self.preimport.wait() if self.preimport is not None else None
            from agent import adapter  # imports mlx here, in the child only

            self.adapter = adapter
            self.model, self.processor, info = adapter.load_model(
                request.path, request.trust_remote_code, self.options.mlx_device
            )
            self.energy = EnergyProbe(info.backend)
            self.energy.measure_idle()  # the node's idle power, right after load, nothing of grid running
            return dataclasses.replace(info, preimport_wait_s=waited, child_start_s=self._start_s())
        if isinstance(request, RunRequest):
            trials, self.last_energy = _run(self.adapter, self.model, self.processor, request, self.energy)
            return trials
        if isinstance(request, SentinelRequest):
            from agent import adapter

            return adapter.sentinel_workload(self.options.mlx_device)
        if isinstance(request, EnergyRequest):
            return self.last_energy or TrialEnergy(na_reason="no run request measured yet")
        return ChildError(exc_type="ValueError", message=f"unknown request {request!r}", frames=())


def main(conn, log_path: str, options: RunOptions | None = None, spawned_at: float | None = None) -> None:
    """The child's loop (the spawn target). `options`: the run's settings, as the parent's pool spawned it."""
    log = open(log_path, "a", buffering=1)
    os.dup2(log.fileno(), 1)  # model code prints; keep it out of the parent's terminal and the protocol
    os.dup2(log.fileno(), 2)
    faulthandler.enable(file=log)
    session = Session(options or RunOptions(), spawned_at)
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if isinstance(request, ExitRequest):
            return
        try:
            reply = session.serve(request)
        except BaseException as exc:  # noqa: BLE001 — every failure inside model code is data for the row
            reply = ChildError.from_exception(exc)
        sys.stdout.flush()
        conn.send(reply)
