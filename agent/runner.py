"""Parent side of a cell: spawn the isolated child, enforce wall-clock limits, turn every outcome into a ResultRow.

One child serves one model group (all its prompts × images on this node): it fetches, loads once, and runs each cell.
If a cell hangs or kills the child, that cell gets its row (timeout / crashed / oom) and a fresh child takes the rest.
The run's settings come as a grid.core.options.RunOptions (from the Ray task; None means the defaults), never from
the environment. This process never imports mlx.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import blas, energy, node_state, sentinel
from agent.child import EnergyRequest, FetchRequest, LoadRequest, RunRequest, SentinelRequest
from agent.children import ChildDied, ChildPool, ChildProcess, ChildTimeout, close_spare, take_child, trace  # noqa: F401
from agent.hardware import Hardware
from agent.images import image_path
from agent.provenance import versions
from grid.core import failures, modelfiles, rows
from grid.core.measurements import CellTrials, ChildError, FetchInfo, LoadInfo
from grid.core.options import RunOptions
from grid.core.plan import Cell
from grid.core.schema import ResultRow
from grid.core.status import Status

TAIL_CHARS = rows.TAIL_CHARS
SENTINEL_TIMEOUT_S = 120.0  # a sentinel or energy request that takes longer: the child is stuck (it is killed)


Outcome = tuple[Status, dict[str, Any]]  # a cell's status and the columns its outcome adds
_STEADY_READING_S: dict[str, float] = {}  # per mlx_device: what this worker's last sentinel reading after a cell cost


class GroupRun:
    """Runs one model group on this node, yielding a row per cell as each finishes."""

    def __init__(
        self,
        cells: list[Cell],
        hardware: Hardware,
        node_id: str = "",
        attempt: int = 1,
        options: RunOptions | None = None,
    ):
        self.cells, self.hw, self.node_id, self.attempt = cells, hardware, node_id, attempt
        self.options = options or RunOptions()
        self.fetch: FetchInfo | None = None
        self.load: LoadInfo | None = None
        self.load_error: ChildError | None = None  # a model that cannot load fails every cell of its group
        self.child: ChildProcess | None = None
        self.bandwidth_gbps: float | None = hardware.bandwidth_gbps
        self.sentinel_group_ms: float | None = None  # the group's first sentinel reading (right after load)
        self.sentinel_last_ms: float | None = None  # the latest reading: the next cell's "before"
        self.sentinel_cost_s: float | None = None  # the latest reading's wall, as the parent waited for it
        self.sentinel_read_end = time.perf_counter()  # when the latest reading ended (the group's start until one has)
        self.disk_skip: Outcome | None = None  # a model that cannot fit the node's disk: every cell skipped
        self.disk_was_cached = True

    def _trace(self, event: str, **fields: Any) -> None:
        trace(self.options.trace_path, event, **fields)

    # --- row building (grid.core.rows) --------------------------------------------------------------------------------
    def _node_fields(self, cell: Cell) -> dict[str, Any]:
        """What this node and run add to every row: the hardware, the settings, the versions that ran the cell."""
        hw = self.hw
        return dict(
            hw_class=hw.hw_class,
            hostname=hw.hostname,
            node_id=self.node_id,
            chip=hw.chip,
            ram_gb=hw.ram_gb,
            gpu_cores=hw.gpu_cores,
            os_name=hw.os_name,
            os_version=hw.os_version,
            backend=hw.backend,
            simulated=hw.simulated,
            attempt=self.attempt,
            bandwidth_gbps=self.bandwidth_gbps,
            blas=blas.choice()[0],
            memory_limit_gb=cell.model.memory_limit_gb,
            **rows.settings(self.options),
            **versions(),
        )

    def _row(
        self, cell: Cell, outcome: Outcome, started: str, wall_s: float, state: dict | None = None, finished: str = ""
    ) -> ResultRow:
        status, fields = outcome
        return rows.build(
            cell,
            status,
            self._node_fields(cell),
            rows.fetched(self.fetch),
            rows.loaded(self.load),
            state or {},
            fields,
            started_at=started,
            finished_at=finished or rows.now(),
            wall_s=wall_s,
        )

    def _child_error(self, err: ChildError) -> Outcome:
        return rows.child_error(err, self.fetch.path if self.fetch is not None else None)

    # --- child lifecycle ---------------------------------------------------------------------------------------------
    def _start_child(self, cell: Cell) -> ChildError | None:
        """Spawn, fetch, load. Returns the child's error on failure, None when ready."""
        self.child = take_child(self.options)
        fetch = FetchRequest(model=cell.model.id, revision=cell.model.revision)
        reply = self.child.request(fetch, self.options.fetch_timeout_s)
        if isinstance(reply, ChildError):
            return reply
        self.fetch = reply
        self._trace("fetched", model=cell.model.id)
        if cell.model.source == "hf":  # the ledger: what grid downloaded (LRU eviction never touches anything else)
            from agent import disk

            try:
                disk.record_download(cell.model.id, reply.download_bytes, reply.path, self.disk_was_cached)
            except OSError:
                pass
        load = LoadRequest(reply.path, cell.model.trust_remote_code, cell.model.memory_limit_gb)
        reply = self.child.request(load, cell.timeout_s)
        if isinstance(reply, ChildError):
            return reply
        self.load = reply
        self._trace("loaded", model=cell.model.id, load_s=reply.load_s, preimport_wait_s=reply.preimport_wait_s)
        self.sentinel_group_ms = self.sentinel_last_ms = self._sentinel()
        # the first reading builds and warms its inputs: what it cost says nothing of the next. This worker's last
        # steady reading on this device does (None on its first group: the next reading comes after the first cell)
        self.sentinel_cost_s = _STEADY_READING_S.get(self.options.mlx_device)
        return None

    def _disk_check(self, cell: Cell) -> Outcome | None:
        """agent.disk: will the model fit this node's disk (and budget)? Evicts grid's own LRU downloads to make room;
        a model that cannot fit is skipped with both numbers. Returns the skip outcome, or None (also False: checked)."""
        from agent import disk

        check = disk.check_and_make_room(cell.model.id, cell.model.revision)
        self.disk_was_cached = check.was_cached
        d = check.decision
        if d.needed_bytes is not None:  # a size was predicted (an offline hub predicts nothing: no event)
            self._trace("disk", fits=d.fits, needed=d.needed_bytes, free=d.free_bytes, evicted=check.evicted)
        if d.fits:
            return None
        gb = dict(
            disk_free_gb=round(d.free_bytes / 1e9, 2) if d.free_bytes is not None else None,
            disk_needed_gb=round(d.needed_bytes / 1e9, 2) if d.needed_bytes is not None else None,
        )
        return Status.SKIPPED, dict(
            error_class="Disk Full",
            error_package="grid",
            error_message=f"model does not fit this node's disk: {d.reason}",
            error_fix="free space, raise `grid node join --disk-budget`, or run the model on a node with more disk",
            **gb,
        )

    def _sentinel(self) -> float | None:
        """One drift-sentinel reading in the child (ms); None when the child cannot run it."""
        if self.child is None:
            return None
        t0 = time.perf_counter()
        try:
            reply = self.child.request(SentinelRequest(), SENTINEL_TIMEOUT_S)
        except (ChildTimeout, ChildDied):  # the child is dead or killed: the next cell starts a fresh one
            self._stop_child()
            return None
        if not isinstance(reply, sentinel.SentinelReading):
            return None
        self.sentinel_read_end = time.perf_counter()
        self.sentinel_cost_s = self.sentinel_read_end - t0
        self._trace("sentinel", copy_ms=reply.copy_ms, matmul_ms=reply.matmul_ms, cost_ms=self.sentinel_cost_s * 1e3)
        return reply.total_ms

    def _energy(self) -> energy.TrialEnergy | None:
        try:
            reply = self.child.request(EnergyRequest(), SENTINEL_TIMEOUT_S) if self.child is not None else None
        except (ChildTimeout, ChildDied):
            return None
        return reply if isinstance(reply, energy.TrialEnergy) else None

    def _stop_child(self, wait: bool = True) -> None:
        if self.child is not None:
            self.child.close(wait=wait)
            self.child = None

    def _measure_bandwidth(self) -> None:
        """No table entry for this chip: the node's measured bandwidth (cached per node), before any child runs."""
        if self.bandwidth_gbps is None:
            from agent.bandwidth import node_bandwidth_gbps

            try:
                self.bandwidth_gbps, _ = node_bandwidth_gbps(
                    self.hw.hostname, self.hw.hw_class, None, measure_bandwidth=self.options.measure_bandwidth
                )
            except (OSError, MemoryError, ImportError):  # a figure we cannot get must not fail the cells
                self.bandwidth_gbps = None

    def _run_cell(self, cell: Cell) -> Outcome:
        """One cell's outcome: measured, or the failure that stopped it (a hang or a dead child ends this child)."""
        try:
            if self.disk_skip is None and self.child is None and self.load_error is None and cell.model.source == "hf":
                self.disk_skip = self._disk_check(cell)
            if self.disk_skip:
                return self.disk_skip
            if self.child is None and self.load_error is None:
                self.load_error = self._start_child(cell)
            if self.load_error is not None:
                return self._child_error(self.load_error)
            reply = self.child.request(RunRequest.for_cell(cell, _cell_image(cell)), cell.timeout_s)
            if isinstance(reply, ChildError):
                return self._child_error(reply)
            return self._measured(cell, reply)
        except ChildTimeout as exc:
            outcome = rows.failure(failures.TIMEOUT, f"Timeout: {exc}", self.child.log_tail())
            self._stop_child()
            return outcome
        except ChildDied as exc:
            info = failures.crash_info(exc.exit_code, exc.log_tail, cell.model.memory_limit_gb is not None)
            outcome = rows.failure(info, f"child process died (exit code {exc.exit_code})", exc.log_tail)
            self._stop_child()
            return outcome

    def _measured(self, cell: Cell, result: CellTrials) -> Outcome:
        decode_bytes = self.load.decode_weight_bytes if self.load is not None else None
        fields = rows.measured(result, cell, decode_bytes, self.bandwidth_gbps)
        # a load that fell back to defaults (no preprocessor config: another image pipeline) is never a clean ok
        missing = modelfiles.fallbacks(self.fetch.path) if self.fetch is not None else []
        if missing:
            fields["quality_flags"] = [*fields.get("quality_flags", []), *(f"load-fallback(no {m})" for m in missing)]
        tokens = [t.generation_tokens for t in result.trials]
        return Status.OK, fields | energy.columns(self._energy(), tokens)

    def _can_read(self) -> bool:
        return self.child is not None and self.load_error is None

    def _flush(self, done: list[_Done]) -> Iterator[ResultRow]:
        """The rows of the cells run since the last reading: one sentinel reading after them (their "after") and one
        node-state read, shared; each cell keeps its own "before", wall, end time and sleep."""
        after_ms = self._sentinel() if self._can_read() else None
        if after_ms is not None:
            self.sentinel_last_ms = after_ms
            _STEADY_READING_S[self.options.mlx_device] = self.sentinel_cost_s
        state = node_state.read(self.hw.backend)
        for d in done:
            cols = sentinel.columns(self.sentinel_group_ms, d.before_ms, after_ms) | state | {"slept_s": d.slept_s}
            yield self._row(d.cell, d.outcome, d.started, d.wall_s, cols, d.finished)
        done.clear()

    def __iter__(self) -> Iterator[ResultRow]:
        self._trace("group_start", model=self.cells[0].model.id if self.cells else None)
        self._measure_bandwidth()
        node_state.keep_awake()  # macOS: caffeinate while this worker runs cells
        done: list[_Done] = []
        try:
            for i, cell in enumerate(self.cells):
                started = rows.now()
                wall0 = time.perf_counter()
                clock = node_state.Clock()
                before_ms = self.sentinel_last_ms
                outcome = self._run_cell(cell)
                wall_s = time.perf_counter() - wall0  # the sentinel after the cell is not inside the cell's wall
                self._trace("cell_done", model=cell.model.id, trials_s=sum(outcome[1].get("trial_wall_s", ())))
                if before_ms is None:  # the group's first cell: its "before" is the reading right after load
                    before_ms = self.sentinel_last_ms
                done.append(_Done(cell, outcome, started, wall_s, before_ms, rows.now(), clock.slept_s()))
                last = i == len(self.cells) - 1
                gap = self.options.sentinel_gap_s
                if (
                    last
                    or not self._can_read()
                    or sentinel.reading_due(time.perf_counter() - self.sentinel_read_end, self.sentinel_cost_s, gap)
                ):
                    yield from self._flush(done)
        finally:
            self._stop_child(wait=False)
            self._trace("group_end")


@dataclass(frozen=True)
class _Done:
    """A finished cell whose row waits for the sentinel reading after it."""

    cell: Cell
    outcome: Outcome
    started: str
    wall_s: float
    before_ms: float | None
    finished: str
    slept_s: float


def _cell_image(cell: Cell) -> str | None:
    if cell.image.builtin:
        return image_path(builtin=cell.image.builtin)
    return image_path(data=cell.image_bytes, suffix=Path(cell.image.path or "x.png").suffix or ".png")


def run_group(
    cells: list[Cell], hardware: Hardware, node_id: str = "", attempt: int = 1, options: RunOptions | None = None
) -> Iterator[ResultRow]:
    """Rows of one model group run on this node, each as its cell finishes. options=None: RunOptions() defaults."""
    return iter(GroupRun(cells, hardware, node_id, attempt, options))
