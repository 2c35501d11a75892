"""The isolated child process: it alone imports mlx (through agent.adapter), loads one model and serves its cells.

The parent (agent/runner.py) spawns it with the `spawn` start method and talks over a Pipe:
  ("fetch", {...}) -> {"path", "download_s", "download_bytes"}      model to local disk, before any timer
  ("load",  {...}) -> adapter.load_model info                        timed load
  ("run",   {...}) -> {"cold": {...} | None, "trials": [{...}, ...]} warmup, then timed trials
  ("exit",  {})
Any exception becomes {"error": {...}} with the frames the classifier needs. A segfault or abort kills only this process;
faulthandler writes its stack to the log file the parent reads back.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import sys
import time
import traceback
from pathlib import Path


def _frames(tb) -> list[list]:
    return [[f.filename, f.lineno, f.name] for f in traceback.extract_tb(tb)]


def describe_exception(exc: BaseException) -> dict:
    chain = []
    inner = exc.__cause__ or exc.__context__
    while inner is not None and len(chain) < 5:
        chain.append([type(inner).__name__, str(inner), _frames(inner.__traceback__)])
        inner = inner.__cause__ or inner.__context__
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "frames": _frames(exc.__traceback__),
        "chain": chain,
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _fetch(model: str, revision: str | None) -> dict:
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
    return {"path": str(path), "download_s": time.perf_counter() - t0, "download_bytes": size}


def _limit_memory(limit_gb: float) -> None:
    """Cap the address space at what is mapped now plus `limit_gb`, so allocations past it fail (OOM) here, not the
    whole machine."""
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    cap = mapped + int(limit_gb * 1e9)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _run(adapter, model, processor, p: dict) -> dict:
    def once():
        return adapter.generate_timed(
            model, processor, p["prompt"], p["image"], p["max_tokens"], p["temperature"], p["exact_tokens"], p["seed"]
        )

    cold = once() if p["warmup_runs"] > 0 else None  # the first run after load: JIT and caches, recorded apart
    for _ in range(max(p["warmup_runs"] - 1, 0)):
        once()
    return {"cold": cold, "trials": [once() for _ in range(p["trials"])]}


# Imported ahead of the first request (see Preimport): mlx + mlx_vlm (via the adapter) and the modules every load and
# generate pulls in lazily, so a child's load_s is the model's load, as in a warm in-process loop.
PREIMPORT_MODULES = (
    "agent.twins",
    "agent.adapter",
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


def main(conn, log_path: str) -> None:
    log = open(log_path, "a", buffering=1)
    os.dup2(log.fileno(), 1)  # model code prints; keep it out of the parent's terminal and the protocol
    os.dup2(log.fileno(), 2)
    faulthandler.enable(file=log)
    preimport = Preimport() if os.environ.get("GRID_PREIMPORT", "1") != "0" else None
    adapter = model = processor = None
    while True:
        try:
            op, payload = conn.recv()
        except EOFError:
            return
        if op == "exit":
            return
        try:
            if op == "fetch":
                if preimport is not None:
                    preimport.boost()  # building a twin imports the adapter too
                reply = _fetch(payload["model"], payload.get("revision"))
            elif op == "load":
                if payload.get("memory_limit_gb"):
                    _limit_memory(payload["memory_limit_gb"])
                waited = preimport.wait() if preimport is not None else None
                from agent import adapter  # noqa: PLW0621 — imports mlx here, in the child only

                model, processor, reply = adapter.load_model(payload["path"], payload.get("trust_remote_code", False))
                reply["preimport_wait_s"] = waited
                reply["backend"] = adapter.backend_name()
            elif op == "run":
                reply = _run(adapter, model, processor, payload)
            else:
                reply = {
                    "error": {
                        "type": "ValueError",
                        "message": f"unknown op {op}",
                        "frames": [],
                        "chain": [],
                        "traceback": "",
                    }
                }
        except BaseException as exc:  # noqa: BLE001 — every failure inside model code is data for the row
            reply = {"error": describe_exception(exc)}
        sys.stdout.flush()
        conn.send(reply)
