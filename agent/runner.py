"""Parent side of a cell: spawn the isolated child, enforce wall-clock limits, turn every outcome into a ResultRow.

One child serves one model group (all its prompts × images on this node): it fetches, loads once, and runs each cell.
If a cell hangs or kills the child, that cell gets its row (timeout / crashed / oom) and a fresh child takes the rest.
This process never imports mlx.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from agent.hardware import Hardware
from agent.images import image_path
from agent.provenance import versions
from grid.core import failures as errors
from grid.core import methodology
from grid.core.failures import ErrorInfo, Frame
from grid.core.plan import Cell
from grid.core.schema import ResultRow

FETCH_TIMEOUT_S = float(os.environ.get("GRID_FETCH_TIMEOUT_S", 3600))
TAIL_CHARS = 4000


class ChildDied(Exception):
    def __init__(self, exit_code: int | None, log_tail: str):
        self.exit_code, self.log_tail = exit_code, log_tail
        super().__init__(f"child exited with {exit_code}")


class ChildTimeout(Exception):
    pass


class ChildProcess:
    """A spawned agent.child process and its pipe. The `spawn` start method gives a fresh interpreter: nothing of the
    parent's imports, threads or Ray state leaks into the measurement."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        fd, self.log_path = tempfile.mkstemp(prefix="grid-child-", suffix=".log")
        os.close(fd)
        from agent import child

        self.process = ctx.Process(target=child.main, args=(child_conn, self.log_path), daemon=True)
        self.process.start()
        child_conn.close()

    def request(self, op: str, payload: dict, timeout_s: float) -> dict:
        try:
            self._conn.send((op, payload))
            if not self._conn.poll(timeout_s):
                self.kill()
                raise ChildTimeout(f"{op} exceeded {timeout_s:.0f} s")
            return self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.process.join(5)
            raise ChildDied(self.process.exitcode, self.log_tail()) from None

    def log_tail(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-TAIL_CHARS:]
        except OSError:
            return ""

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)

    def close(self, wait: bool = True) -> None:
        # SIGKILL rather than a polite "exit": the child has sent everything it had (the log is line-buffered), and an
        # interpreter tearing down mlx + transformers costs ~0.3-2 s of CPU that would delay (or overlap) the next model.
        # wait=False: do not wait for the kernel to tear the process down (tens of ms with GBs mapped); it is reaped
        # at the next take_child, so the model group's task can end — and the node's slot free — at once.
        if not wait and self.process.is_alive():
            self.process.kill()
            self._conn.close()
            _DYING.append(self)
            return
        self.kill()
        self._conn.close()
        Path(self.log_path).unlink(missing_ok=True)

    def reaped(self) -> bool:
        self.process.join(0)
        if self.process.exitcode is None:
            return False
        Path(self.log_path).unlink(missing_ok=True)
        return True


# Warm spare children per worker process (the Ray worker that runs model groups on this node): spawned as soon as a
# child is taken, each imports mlx / mlx_vlm at low priority (agent.child.Preimport) while the current model runs, so
# the next model group does not wait for a fresh interpreter. Every model still gets its own process.
# GRID_SPARE_CHILD=0 turns them off; GRID_SPARE_CHILDREN=k keeps k (default 1: enough where a child starts faster
# than a model group runs; more where start-up is slow and groups are short, BENCHMARKS.md P3).
_SPARES: list[ChildProcess] = []
_DYING: list[ChildProcess] = []  # killed, not yet reaped (see ChildProcess.close)


def spare_count() -> int:
    if os.environ.get("GRID_SPARE_CHILD", "1") == "0":
        return 0
    try:
        return max(int(os.environ.get("GRID_SPARE_CHILDREN", "1")), 0)
    except ValueError:
        return 1


def trace(event: str, **fields) -> None:
    """GRID_TRACE=<file>: append one JSON line per runner event (wall clock, pid); bench/ uses it to see where time goes."""
    path = os.environ.get("GRID_TRACE")
    if path:
        import json
        import time

        with open(path, "a") as f:
            f.write(json.dumps({"t": time.time(), "pid": os.getpid(), "event": event, **fields}) + "\n")


def take_child() -> ChildProcess:
    """The oldest live spare (the likeliest to have finished its imports), else a fresh child; then top the spares up."""
    _DYING[:] = [c for c in _DYING if not c.reaped()]
    child = None
    while _SPARES and child is None:
        candidate = _SPARES.pop(0)
        if candidate.process.is_alive():
            child = candidate
        else:
            candidate.close()
    spare_hit = child is not None
    if child is None:
        child = ChildProcess()
    trace("child_taken", spare_hit=spare_hit)
    while len(_SPARES) < spare_count():
        _SPARES.append(ChildProcess())
    return child


def close_spare() -> None:
    """Close every spare and reap every killed child (end of a bench or test; Ray workers just exit)."""
    while _SPARES:
        _SPARES.pop().close()
    for dying in _DYING:
        dying.kill()
        dying.reaped()
    _DYING.clear()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _status_for(info: ErrorInfo) -> str:
    return {"OOM": "oom", "Timeout": "timeout", "Crash": "crashed"}.get(info.error_class, "failed")


class GroupRun:
    """Runs one model group on this node, yielding a row per cell as each finishes."""

    def __init__(self, cells: list[Cell], hardware: Hardware, node_id: str = "", attempt: int = 1):
        self.cells, self.hw, self.node_id, self.attempt = cells, hardware, node_id, attempt
        self.fetch: dict = {}
        self.load: dict = {}
        self.child: ChildProcess | None = None
        self.bandwidth_gbps: float | None = hardware.bandwidth_gbps

    # --- row building ------------------------------------------------------------------------------------------------
    def _base(self, cell: Cell, started: str) -> dict:
        hw = self.hw
        return dict(
            run_id=cell.run_id,
            cell_id=cell.cell_id,
            model=cell.model.id,
            hw_class=hw.hw_class,
            suite_name=cell.suite_name,
            suite_hash=cell.suite_hash,
            model_source=cell.model.source,
            model_revision=cell.model.revision,
            arch=self.load.get("arch"),
            prompt_id=cell.prompt.id,
            image_id=cell.image.id,
            hostname=hw.hostname,
            node_id=self.node_id,
            chip=hw.chip,
            ram_gb=hw.ram_gb,
            gpu_cores=hw.gpu_cores,
            os_name=hw.os_name,
            os_version=hw.os_version,
            backend=self.load.get("backend", hw.backend),
            started_at=started,
            finished_at=_now(),
            attempt=self.attempt,
            max_tokens=cell.generation.max_tokens,
            temperature=cell.generation.temperature,
            warmup_runs=cell.generation.warmup_runs,
            trials=cell.generation.trials,
            exact_tokens=cell.generation.exact_tokens,
            seed=cell.generation.seed,
            download_s=self.fetch.get("download_s"),
            download_bytes=self.fetch.get("download_bytes"),
            load_s=self.load.get("load_s"),
            weight_bytes=self.load.get("weight_bytes"),
            decode_weight_bytes=self.load.get("decode_weight_bytes"),
            bandwidth_gbps=self.bandwidth_gbps,
            memory_limit_gb=cell.model.memory_limit_gb,
            **versions(),
        )

    def _failure_row(self, cell: Cell, started: str, info: ErrorInfo, message: str, tail: str) -> ResultRow:
        return ResultRow(
            **self._base(cell, started),
            status=_status_for(info),
            error_class=info.error_class,
            error_package=info.error_package,
            error_fix=info.error_fix,
            error_message=errors.redact(message)[:2000],
            traceback_tail=errors.redact(tail[-TAIL_CHARS:]),
        )

    def _error_row(self, cell: Cell, started: str, err: dict) -> ResultRow:
        def frames(raw):
            return [Frame(*f) for f in raw]

        info = errors.classify(
            err["type"],
            err["message"],
            frames(err["frames"]),
            self.fetch.get("path"),
            [(t, m, frames(f)) for t, m, f in err.get("chain", [])],
        )
        return self._failure_row(cell, started, info, f"{err['type']}: {err['message']}", err.get("traceback", ""))

    def _ok_row(self, cell: Cell, started: str, result: dict) -> ResultRow:
        stats = methodology.trial_fields(
            result["cold"], result["trials"], self.load.get("decode_weight_bytes"), self.bandwidth_gbps
        )
        last = result["trials"][-1]
        return ResultRow(
            **{**self._base(cell, started), **stats},
            status="ok",
            output_text=last["text"],
            finish_reason=last["finish_reason"],
            quality_flags=_quality_flags(last["text"], cell),
        )

    # --- child lifecycle ---------------------------------------------------------------------------------------------
    def _start_child(self, cell: Cell) -> dict | None:
        """Spawn, fetch, load. Returns an error dict/exception marker on failure, None when ready."""
        self.child = take_child()
        reply = self.child.request("fetch", {"model": cell.model.id, "revision": cell.model.revision}, FETCH_TIMEOUT_S)
        if "error" in reply:
            return reply["error"]
        self.fetch = reply
        trace("fetched", model=cell.model.id)
        reply = self.child.request(
            "load",
            {
                "path": reply["path"],
                "trust_remote_code": cell.model.trust_remote_code,
                "memory_limit_gb": cell.model.memory_limit_gb,
            },
            cell.timeout_s,
        )
        if "error" in reply:
            return reply["error"]
        self.load = reply
        trace("loaded", model=cell.model.id, load_s=reply.get("load_s"), preimport_wait_s=reply.get("preimport_wait_s"))
        return None

    def _stop_child(self, wait: bool = True) -> None:
        if self.child is not None:
            self.child.close(wait=wait)
            self.child = None

    def _measure_bandwidth(self) -> None:
        """No table entry for this chip: the node's measured bandwidth (cached per node), before any child runs."""
        if self.bandwidth_gbps is None:
            from agent.bandwidth import node_bandwidth_gbps

            try:
                self.bandwidth_gbps, _ = node_bandwidth_gbps(self.hw.hostname, self.hw.hw_class, None)
            except (OSError, MemoryError, ImportError):  # a figure we cannot get must not fail the cells
                self.bandwidth_gbps = None

    def __iter__(self) -> Iterator[ResultRow]:
        load_error = None
        trace("group_start", model=self.cells[0].model.id if self.cells else None)
        self._measure_bandwidth()
        try:
            for cell in self.cells:
                started = _now()
                wall0 = time.perf_counter()
                try:
                    if self.child is None and load_error is None:
                        load_error = self._start_child(cell)
                    if load_error is not None:  # a model that cannot load fails every cell of its group
                        row = self._error_row(cell, started, load_error)
                    else:
                        payload = {
                            "prompt": cell.prompt.full_text,
                            "image": _cell_image(cell),
                            "max_tokens": cell.generation.max_tokens,
                            "temperature": cell.generation.temperature,
                            "exact_tokens": cell.generation.exact_tokens,
                            "seed": cell.generation.seed,
                            "warmup_runs": cell.generation.warmup_runs,
                            "trials": cell.generation.trials,
                        }
                        reply = self.child.request("run", payload, cell.timeout_s)
                        row = (
                            self._error_row(cell, started, reply["error"])
                            if "error" in reply
                            else self._ok_row(cell, started, reply)
                        )
                except ChildTimeout as exc:
                    row = self._failure_row(cell, started, errors.TIMEOUT, f"Timeout: {exc}", self.child.log_tail())
                    self._stop_child()
                except ChildDied as exc:
                    info = errors.crash_info(exc.exit_code, exc.log_tail, cell.model.memory_limit_gb is not None)
                    row = self._failure_row(
                        cell, started, info, f"child process died (exit code {exc.exit_code})", exc.log_tail
                    )
                    self._stop_child()
                trace("cell_done", model=cell.model.id, trials_s=sum(row.trial_wall_s))
                yield row.replace(wall_s=time.perf_counter() - wall0, finished_at=_now())
        finally:
            self._stop_child(wait=False)
            trace("group_end")


def _cell_image(cell: Cell) -> str | None:
    if cell.image.builtin:
        return image_path(builtin=cell.image.builtin)
    return image_path(data=cell.image_bytes, suffix=Path(cell.image.path or "x.png").suffix or ".png")


def _quality_flags(text: str, cell: Cell) -> list[str]:
    from grid.core import quality

    return quality.flags(text, cell.prompt.text, cell.prompt.context)


def run_group(cells: list[Cell], hardware: Hardware, node_id: str = "", attempt: int = 1) -> Iterator[ResultRow]:
    return iter(GroupRun(cells, hardware, node_id, attempt))
