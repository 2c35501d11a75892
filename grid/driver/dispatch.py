"""The dispatch loop: groups go out as tasks, rows stream back and are written at once, and a watchdog keeps every
cell moving towards exactly one row.

While a run goes on, the watchdog polls the head's node table: a group whose node died (raylet killed, or partitioned:
Ray leaves such a task hanging for minutes, ../shared/notes/ray.md §4) is abandoned and resubmitted to a live node of
the same class, or its cells are recorded `node_lost`; a group whose class has no live node for `class_wait_s` becomes
`skipped` (`node_lost` if it was a retry). The driver is the only writer of rows, so no cell is written twice.

Groups wait in grid's own per-class queue, not Ray's: a class gets as many tasks as it has live nodes (one grid slot
each), and the next goes out when one of them has written its last row. So order stays grid's to decide after
submission: a retried group (its node died) goes in by its remaining predicted time, ahead of shorter work, instead of
to the back of Ray's FIFO where a long group whose node died late would finish last.

Ray is reached only through a `Calls` object (grid.driver.calls): RayCalls by default, a fake in tests.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grid import store
from grid.core.environments import ENV_BUILD_ERROR
from grid.core.options import RunOptions
from grid.core.plan import Cell
from grid.core.schema import ResultRow
from grid.core.status import Status
from grid.driver import placement, spares
from grid.driver.calls import Calls, EnvFailed, NodeDied, RayCalls, RayFailure, TaskFailed, WorkerDied
from grid.driver.envs import FIX as ENV_FIX
from grid.driver.progress import Progress

MAX_ATTEMPTS = 3  # first run + up to two fail-overs to a sibling of the same class
WATCHDOG_PERIOD_S = 2.0
GRID_BUG_FIX = "A grid bug: report it with this message."


@dataclass(eq=False)  # identity: the loop looks flights up by handle, never by value
class Flight:
    """One group: its task handle (None while it waits in grid's queue), the cells still without a row, where it
    runs once started."""

    handle: Any
    cells: list[Cell]
    attempt: int
    node_id: str | None = None
    waiting_since: float | None = None  # when its class was first seen with no live node
    started_at: float | None = None  # the loop's clock when its start marker arrived
    size: int = 0  # cells at submission
    left_s: float | None = None  # predicted seconds of work left (grid.driver.predict), None when unknown
    spares: int | None = None  # spare children its task was told to keep (grid.driver.spares); None: the run's setting

    def __post_init__(self) -> None:
        self.first = self.cells[0]  # kept when every cell has its row: the flight still has a class and a target

    @property
    def hw_class(self) -> str:
        return self.first.hw_class

    @property
    def per_node(self) -> bool:
        return bool(self.first.node_id)

    @property
    def key(self) -> str:
        """The queue it waits in: its class, or its node for per-node groups."""
        return f"node:{self.first.node_id}" if self.per_node else self.hw_class

    @property
    def target(self) -> str:
        return f"node {self.first.node_id[:12]}" if self.per_node else f"class {self.hw_class}"


class Execution:
    """One run's dispatch: submit groups, take what their tasks stream back, watch the nodes, write every row."""

    def __init__(
        self,
        results_root,
        run_id: str,
        on_row: Callable[[ResultRow], None] | None,
        options: RunOptions,
        estimates: dict,
        calls: Calls | None = None,
        clock: Callable[[], float] = time.monotonic,
        writer: Callable | None = None,
        predicted: dict | None = None,
        startup: dict[str, float] | None = None,
    ):
        self.results_root, self.run_id, self.on_row = results_root, run_id, on_row
        self.options, self.estimates = options, estimates
        self.calls: Calls = calls if calls is not None else RayCalls()
        self.clock = clock
        self.rows: list[ResultRow] = []
        self.flights: list[Flight] = []
        self._by_handle: dict = {}  # handle -> flight, for the flights in self.flights
        self.progress = Progress(results_root, run_id)
        self._last_watch: float | None = None
        self.writer = writer if writer is not None else store.write_row  # the simulation keeps rows in memory
        self.predicted = predicted or {}  # (model, hw_class) -> predicted group seconds (grid.driver.predict)
        self.group_times: list[dict] = []  # predicted vs actual, per group attempt that finished its cells
        self.decisions = 0  # submits, items taken, fail-overs: the loop's scheduling decisions
        self.held: dict[str, list[Flight]] = {}  # per class (or node): groups waiting in grid's queue, in order
        self.capacity: dict[str, int] | None = None  # live nodes per class; None until the head has answered
        self.cores: dict[str, float] = {}  # CPUs of each class's smallest live node (Ray's CPU resource), where known
        self.startup = spares.StartupTimes(startup)  # child start-up per class: sizes each group's spares

    @property
    def class_wait_s(self) -> float:
        return self.options.class_wait_s

    # --- rows -------------------------------------------------------------------------------------------------------

    def record(self, row: ResultRow) -> None:
        est = self.estimates.get(row.model)
        if est is not None and row.predicted_memory_gb is None:  # until every row builder reads the cell's
            row = row.replace(predicted_memory_gb=est.total_gb)
        self.writer(self.results_root, row)
        self.rows.append(row)
        self.startup.add(row.hw_class, row.child_start_s)
        self.progress.cell_done(row)
        if self.on_row:
            self.on_row(row)

    def _record_all(self, flight: Flight, status: Status, error_class: str, message: str, fix: str, **extra) -> None:
        """A driver-written row for every cell of the flight still without one."""
        for cell in flight.cells:
            self.record(
                placement.grid_row(cell, status, error_class, message[:1000], fix, attempt=flight.attempt, **extra)
            )

    # --- flights ----------------------------------------------------------------------------------------------------

    def submit(self, cells: list[Cell], attempt: int, left_s: float | None = None, retry: bool = False) -> None:
        """Queue a group in grid's queue of its class, then send out what the class has room for."""
        self.fill(self.enqueue(cells, attempt, left_s, retry))

    def enqueue(self, cells: list[Cell], attempt: int, left_s: float | None = None, retry: bool = False) -> str:
        """Queue a group in grid's queue of its class (returned). A retry goes in by its predicted time left (longest
        first, unknown first), the others in the order given."""
        flight = Flight(None, list(cells), attempt, size=len(cells))
        if left_s is None and not retry:
            left_s = self.predicted.get((cells[0].model.id, cells[0].hw_class))
        flight.left_s = left_s
        queue = self.held.setdefault(flight.key, [])
        at = len(queue)
        if retry:
            at = next((i for i, f in enumerate(queue) if left_s is None or f.left_s is None or f.left_s < left_s), at)
        queue.insert(at, flight)
        self.progress.queued(flight)
        return flight.key

    def _room(self, key: str) -> int:
        """How many more tasks the class (or node) can start now: live slots minus groups still writing rows."""
        if self.capacity is None:
            return len(self.held.get(key, ()))  # the head never answered: hold nothing back
        slots = 1 if key.startswith("node:") else max(self.capacity.get(key, 0), 1)  # >= 1: the class wait runs
        return slots - sum(1 for f in self.flights if f.cells and f.key == key)

    def fill(self, key: str | None = None) -> None:
        """Send held groups to Ray while their class has a free slot (one class, or every class)."""
        for k in [key] if key is not None else list(self.held):
            queue = self.held.get(k)
            room = self._room(k) if queue else 0
            while queue and room > 0:
                flight = queue.pop(0)
                flight.handle = self.calls.submit(flight.cells, flight.attempt, self._options_for(flight, queue))
                self.decisions += 1
                self.flights.append(flight)
                self._by_handle[flight.handle] = flight
                room -= 1
            if not queue:
                self.held.pop(k, None)

    def _options_for(self, flight: Flight, queued: list[Flight]) -> RunOptions:
        """The run's options, with the spares sized for this group when the run left that to grid (grid.driver.spares):
        from the class's measured child start-up and the predicted time of what is still queued behind it."""
        if self.options.spare_children is not None:
            return self.options
        cores = self.cores.get(flight.hw_class)
        flight.spares = spares.spares_for(self.startup.get(flight.hw_class), [f.left_s for f in queued], cores)
        return dataclasses.replace(self.options, spare_children=flight.spares)

    def _set_capacity(self, nodes: list[dict]) -> None:
        if nodes:
            capacity: dict[str, int] = {}
            cores: dict[str, float] = {}
            for n in nodes:
                if n.get("Alive", True):
                    cls = n["Labels"]["hw_class"]
                    capacity[cls] = capacity.get(cls, 0) + 1
                    if cpus := (n.get("Resources") or {}).get("CPU"):
                        cores[cls] = min(cpus, cores.get(cls, cpus))
            self.capacity, self.cores = capacity, cores

    def _abandon(self, flight: Flight) -> None:
        self.flights.remove(flight)
        self._by_handle.pop(flight.handle, None)
        self.progress.left(flight)
        try:
            self.calls.cancel(flight.handle)  # best effort: a partitioned node's ref never resolves anyway
        except Exception:
            pass

    def fail_over(
        self, flight: Flight, reason: str, alive_classes: set[str] | None = None, node_dead: bool = True
    ) -> None:
        """Its node (or only its worker process) is gone: retry what is left on a live node of the class (a sibling
        when the node died; the same node may serve again when only the worker was killed), else record node_lost."""
        self._abandon(flight)
        if alive_classes is None:  # the head may still list a dying node as alive for a few seconds: not a sibling
            alive_classes = {
                n["Labels"]["hw_class"] for n in self.calls.nodes() if not (node_dead and n["NodeID"] == flight.node_id)
            }
        if not flight.per_node and flight.hw_class in alive_classes and flight.attempt < MAX_ATTEMPTS:
            left = None if flight.left_s is None else flight.left_s * len(flight.cells) / max(flight.size, 1)
            self.submit(flight.cells, flight.attempt + 1, left_s=left, retry=True)
            return
        why = (
            "its node"
            if flight.per_node
            else f"every node of {flight.hw_class}"
            if flight.attempt < MAX_ATTEMPTS
            else f"{flight.attempt} nodes of {flight.hw_class} in turn"
        )
        node_id = flight.node_id or flight.cells[0].node_id  # cells of one flight share their target
        self._record_all(
            flight,
            Status.NODE_LOST,
            "Node Lost",
            f"{why} died under this cell: {reason}",
            "Check the node (`grid nodes`), then `grid resume RUN` to run what is left.",
            node_id=node_id,
        )

    # --- the watchdog -----------------------------------------------------------------------------------------------

    def watchdog(self) -> None:
        """Compare in-flight groups with the head's node table (cheap GCS call, every WATCHDOG_PERIOD_S)."""
        now = self.clock()
        if self._last_watch is not None and now - self._last_watch < WATCHDOG_PERIOD_S:
            return
        self._last_watch = now
        nodes = self.calls.nodes(alive_only=False)
        if not nodes and self.flights:
            return  # the head did not answer this time (or lists no node): judge nothing on an empty table
        alive = {n["NodeID"] for n in nodes if n["Alive"]}
        alive_classes = {n["Labels"]["hw_class"] for n in nodes if n["Alive"]}
        self._set_capacity(nodes)
        self.progress.nodes({n["NodeID"]: n.get("NodeManagerAddress", "") for n in nodes})
        for flight in list(self.flights):
            if flight.node_id is not None:
                if flight.node_id not in alive:
                    self.fail_over(flight, f"node {flight.node_id[:12]} marked dead by the head", alive_classes)
            else:
                target_alive = flight.cells[0].node_id in alive if flight.per_node else flight.hw_class in alive_classes
                self._judge_waiting(flight, now, target_alive)
        self.fill()  # nodes joined, or groups of a class with no node were given up: room for the queue
        self.progress.flush()

    def _judge_waiting(self, flight: Flight, now: float, target_alive: bool) -> None:
        """A group not started yet: its class (or node) must have a live node within class_wait_s."""
        if target_alive:
            flight.waiting_since = None
        elif flight.waiting_since is None:
            flight.waiting_since = now
        elif now - flight.waiting_since >= self.class_wait_s:
            self._abandon(flight)
            for given_up in [flight, *self.held.pop(flight.key, [])]:  # what waits in grid's queue waited as long
                self.progress.left(given_up)
                lost = given_up.attempt > 1  # a retry: its node died under it and no sibling came
                self._record_all(
                    given_up,
                    Status.NODE_LOST if lost else Status.SKIPPED,
                    "Node Lost" if lost else "No Node",
                    f"no live node of {flight.target} for {self.class_wait_s:.0f} s"
                    + (" after its node died under it" if lost else ""),
                    "Join a node of this class (`grid node join HEAD:6379`), then `grid resume RUN`.",
                )

    # --- the loop ---------------------------------------------------------------------------------------------------

    def take(self, flight: Flight) -> None:
        """The next item of a flight's stream: the start marker, a row, the end, or one of Ray's failures."""
        try:
            item = self.calls.take(flight.handle)
        except StopIteration:
            self._abandon(flight)  # the task ended without a row for these: never silently drop a cell
            self._record_all(
                flight, Status.CRASHED, "Crash", "grid task ended without a row for this cell", GRID_BUG_FIX
            )
            return
        except NodeDied as exc:
            self.fail_over(flight, str(exc))
            return
        except (WorkerDied, RayFailure) as exc:  # the worker died (or Ray gave up on it): the node may well be fine
            self.fail_over(flight, str(exc), node_dead=False)
            return
        except EnvFailed as exc:  # the package environment failed at dispatch: never ran, the model is not to blame
            self._abandon(flight)
            self._record_all(
                flight, Status.SKIPPED, ENV_BUILD_ERROR, f"environment could not be set up on the node: {exc}",
                ENV_FIX, error_package="environment",
            )  # fmt: skip
            return
        except TaskFailed as exc:  # a bug in grid's own agent code, not in the model
            self._abandon(flight)
            self._record_all(flight, Status.CRASHED, "Crash", f"grid agent error: {exc}", GRID_BUG_FIX)
            return
        self.decisions += 1
        if isinstance(item, dict):  # the start marker
            flight.node_id = item["node_id"]
            flight.started_at = self.clock()
            self.progress.started(flight)
            return
        flight.cells = [c for c in flight.cells if c.cell_id != item.cell_id]
        self.record(item)
        if not flight.cells:
            if flight.started_at is not None:
                self._group_done(flight, item)
            self.fill(flight.key)  # its last row is written: its slot is the next group's

    def _group_done(self, flight: Flight, last: ResultRow) -> None:
        key = (last.model, last.hw_class)
        self.group_times.append(
            {
                "model": last.model,
                "hw_class": last.hw_class,
                "cells": flight.size,
                "attempt": flight.attempt,
                "node_id": flight.node_id,
                "predicted_s": self.predicted.get(key),
                "spare_children": flight.spares,
                "actual_s": round(self.clock() - flight.started_at, 3),
            }
        )

    def run(self, groups: list[list[Cell]]) -> list[ResultRow]:
        self._set_capacity(self.calls.nodes())
        for group in groups:  # every group queued before any goes out: the first ones' spares see what follows
            self.enqueue(group, 1)
        self.fill()
        self.progress.flush(force=True)
        while self.flights or self.held:
            if not self.flights:
                self.fill()
            for handle in self.calls.wait(list(self._by_handle), WATCHDOG_PERIOD_S / 2):
                flight = self._by_handle.get(handle)
                if flight is not None:
                    self.take(flight)
                    self.fill(flight.key)  # it ended, failed over or crashed: its slot may be free
            self.watchdog()
        self.progress.finish()
        if self.group_times and self.writer is store.write_row:
            from grid.driver.predict import write_group_times

            write_group_times(self.results_root, self.run_id, self.group_times)
        return self.rows
