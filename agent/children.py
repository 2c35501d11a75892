"""The isolated child processes of a node's worker: one spawned agent.child per model group, its pipe and wall-clock
limits (ChildProcess), and the warm spares that let the next group start without waiting for an interpreter
(ChildPool). This process never imports mlx.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from agent import blas
from agent.child import Reply, Request
from grid.core import rows
from grid.core.options import RunOptions

TAIL_CHARS = rows.TAIL_CHARS


class ChildDied(Exception):
    def __init__(self, exit_code: int | None, log_tail: str):
        self.exit_code, self.log_tail = exit_code, log_tail
        super().__init__(f"child exited with {exit_code}")


class ChildTimeout(Exception):
    pass


class ChildProcess:
    """A spawned agent.child process and its pipe. The `spawn` start method gives a fresh interpreter: nothing of the
    parent's imports, threads or Ray state leaks into the measurement. `options` go to the child as it starts (its
    pre-import thread and MLX device are settled before the first request)."""

    def __init__(self, options: RunOptions | None = None):
        self.options = options or RunOptions()
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        fd, self.log_path = tempfile.mkstemp(prefix="grid-child-", suffix=".log")
        os.close(fd)
        from agent import child

        self.spawned_at = time.time()  # wall clock: the child compares it with its own (grid.core.schema child_start_s)
        self.process = ctx.Process(
            target=child.main, args=(child_conn, self.log_path, self.options, self.spawned_at), daemon=True
        )
        with blas.preloaded():  # Linux: an installed OpenBLAS for MLX's CPU kernels (agent.blas)
            self.process.start()
        child_conn.close()

    def request(self, request: Request, timeout_s: float) -> Reply:
        """Send one request and wait up to timeout_s for its typed reply (a ChildError when the child raised)."""
        try:
            self._conn.send(request)
            if not self._conn.poll(timeout_s):
                self.kill()
                raise ChildTimeout(f"{request.op} exceeded {timeout_s:.0f} s")
            return self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.process.join(5)
            raise ChildDied(self.process.exitcode, self.log_tail()) from None

    def serves(self, options: RunOptions) -> bool:
        """Whether this child was started with the settings a child of `options` needs."""
        return (self.options.preimport, self.options.mlx_device) == (options.preimport, options.mlx_device)

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
            _POOL.dying.append(self)
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


def spare_count(options: RunOptions) -> int:
    return options.spares()


def trace(path: str, event: str, **fields: Any) -> None:
    """RunOptions.trace_path: append one JSON line per runner event (wall clock, pid); bench/ uses it to see where
    time goes. "" = off."""
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"t": time.time(), "pid": os.getpid(), "event": event, **fields}) + "\n")


class ChildPool:
    """Warm spare children of one worker process (the Ray worker that runs model groups on this node): spawned as soon
    as a child is taken, each imports mlx / mlx_vlm at low priority (agent.child.Preimport) while the current model
    runs, so the next model group does not wait for a fresh interpreter. Every model still gets its own process.
    RunOptions.spare_children=0 turns them off; k keeps k (default 1: enough where a child starts faster than a model
    group runs; more where start-up is slow and groups are short, BENCHMARKS.md P3)."""

    def __init__(self) -> None:
        self.spares: list[ChildProcess] = []
        self.dying: list[ChildProcess] = []  # killed, not yet reaped (see ChildProcess.close)

    def take(self, options: RunOptions) -> ChildProcess:
        """The oldest live spare started with these settings (the likeliest to have finished its imports), else a
        fresh child; then top the spares up or trim them to the count these options ask for (the newest go first).
        A spare started with other settings is closed, never used."""
        self.dying[:] = [c for c in self.dying if not c.reaped()]
        child = None
        while self.spares and child is None:
            candidate = self.spares.pop(0)
            if candidate.process.is_alive() and candidate.serves(options):
                child = candidate
            else:
                candidate.close()
        spare_hit = child is not None
        if child is None:
            child = ChildProcess(options)
        trace(options.trace_path, "child_taken", spare_hit=spare_hit)
        while len(self.spares) < spare_count(options):
            self.spares.append(ChildProcess(options))
        while len(self.spares) > spare_count(options):  # fewer groups follow: give their memory back to this one
            self.spares.pop().close(wait=False)
        return child

    def close(self) -> None:
        """Close every spare and reap every killed child (end of a bench or test; Ray workers just exit)."""
        while self.spares:
            self.spares.pop().close()
        for dying in self.dying:
            dying.kill()
            dying.reaped()
        self.dying.clear()


_POOL = ChildPool()  # one per worker process: spares outlive a model group, so the next group finds one warm


def take_child(options: RunOptions | None = None) -> ChildProcess:
    return _POOL.take(options or RunOptions())


def close_spare() -> None:
    _POOL.close()
