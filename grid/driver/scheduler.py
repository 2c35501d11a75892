"""Ray scheduling: each model group becomes one Ray task on a node of its hardware class; rows stream back as cells
finish and are written at once.

With no address an embedded single-node Ray is started, labelled with this machine's hardware class; with an address
the same code path runs against a lab cluster whose nodes joined with `grid node join`.

Before dispatch, cells predicted not to fit their class's memory become `skipped` rows (grid/placement.py) and groups
go out longest-predicted first. While a run goes on, a watchdog polls the head's node table: a group whose node died
(raylet killed, or partitioned: Ray leaves such a task hanging for minutes, ../shared/notes/ray.md §4) is abandoned and
resubmitted to a live node of the same class, or its cells are recorded `node_lost`; a group whose class has no live
node for `class_wait_s` becomes `skipped`. The driver is the only writer of rows, so no cell is written twice.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from grid import store
from grid.core.errors import GridError
from grid.core.plan import Cell, group_cells, plan_cells
from grid.core.schema import ResultRow
from grid.core.suite import Suite, parse_suite
from grid.driver import placement
from grid.driver.progress import Progress

NODE_ROLE = "grid-node"  # label of nodes that run cells; the head of a lab cluster has none
SLOT = "grid_slot"  # one per node: one benchmark at a time, measurements never share a machine
MAX_ATTEMPTS = 3  # first run + up to two fail-overs to a sibling of the same class
DEFAULT_CLASS_WAIT_S = float(os.environ.get("GRID_CLASS_WAIT_S", 300))
WATCHDOG_PERIOD_S = 2.0


class SchedulerError(GridError, RuntimeError):
    pass


@dataclass
class RunResult:
    run_id: str
    rows: list[ResultRow] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.rows)


def _ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    return ray


def connect(address: str | None) -> bool:
    """Connect to a cluster (an address, "auto", or RAY_ADDRESS as set inside a Ray Job), or start an embedded one
    labelled with this machine's class. Returns True if it started one."""
    ray = _ray()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    from grid.driver.ray_auth import ensure_token, use_token_if_available

    if address:
        use_token_if_available()
        ray.init(address=address, log_to_driver=False)
        return False
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "disabled":
        ensure_token()  # Ray's embedded start would create it world-readable (0644); grid creates it 0600 first
    from agent.hardware import probe

    hw = probe(device_info=False)
    ray.init(
        num_cpus=os.cpu_count() or 1,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 2**20,
        resources={SLOT: 1},
        labels={**hw.labels(), "role": NODE_ROLE},
    )
    return True


def grid_nodes(alive_only: bool = True) -> list[dict]:
    return [
        n
        for n in _ray().nodes()
        if (n.get("Labels") or {}).get("role") == NODE_ROLE
        and "hw_class" in (n.get("Labels") or {})
        and (n.get("Alive") or not alive_only)
    ]


def _grid_nodes_safe(alive_only: bool = True) -> list[dict]:
    try:
        return grid_nodes(alive_only)
    except Exception:  # a GCS hiccup must not kill a run's driver
        return []


def live_targets(per_node: bool = False) -> list[tuple[str, str]]:
    """(hw_class, node_id) targets: one per class of live grid nodes, or one per node with per_node."""
    return sorted({(n["Labels"]["hw_class"], n["NodeID"] if per_node else "") for n in grid_nodes()})


# --- the task on a worker node ----------------------------------------------------------------------------------------

_PROBE = None


def _group_task(cells: list[Cell], attempt: int):
    """Runs on a worker node. First yields where it runs (the watchdog needs the node before any row exists), then a
    row per cell as it finishes."""
    global _PROBE
    import ray

    from agent.hardware import probe
    from agent.runner import run_group

    node_id = ray.get_runtime_context().get_node_id()
    yield {"node_id": node_id, "hostname": socket.gethostname()}
    if _PROBE is None:
        _PROBE = probe()
    hw = _PROBE
    label = ray.get_runtime_context().get_node_labels().get("hw_class")
    if label and label != hw.hw_class:  # the node's label decided placement, so rows carry it
        hw = dataclasses.replace(hw, hw_class=label)
    yield from run_group(cells, hw, node_id, attempt)


def _submit(group: list[Cell], attempt: int):
    ray = _ray()
    selector = {"role": NODE_ROLE}
    if group[0].hw_class:
        selector["hw_class"] = group[0].hw_class
    cell = group[0]
    options = dict(
        num_returns="streaming",
        num_cpus=0,
        resources={SLOT: 1},
        label_selector=selector,
        max_retries=0,
        name=f"grid:{cell.run_id}:{cell.model.id}@{cell.hw_class}",
    )
    if group[0].node_id:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(group[0].node_id, soft=False)
    return ray.remote(_group_task).options(**options).remote(group, attempt)


# --- the driver loop --------------------------------------------------------------------------------------------------


@dataclass
class Flight:
    """One submitted group: its generator, the cells still without a row, where it runs once started."""

    gen: object
    cells: list[Cell]
    attempt: int
    node_id: str | None = None
    waiting_since: float | None = None  # when its class was first seen with no live node

    @property
    def hw_class(self) -> str:
        return self.cells[0].hw_class


class Execution:
    def __init__(
        self,
        results_root,
        run_id: str,
        on_row: Callable[[ResultRow], None] | None,
        class_wait_s: float,
        estimates: dict,
    ):
        self.results_root, self.run_id, self.on_row = results_root, run_id, on_row
        self.class_wait_s, self.estimates = class_wait_s, estimates
        self.rows: list[ResultRow] = []
        self.flights: list[Flight] = []
        self.progress = Progress(results_root, run_id)
        self._last_watch = 0.0

    def record(self, row: ResultRow) -> None:
        est = self.estimates.get(row.model)
        if est is not None and row.predicted_memory_gb is None:
            row = row.replace(predicted_memory_gb=est.total_gb)
        store.write_row(self.results_root, row)
        self.rows.append(row)
        self.progress.cell_done(row)
        if self.on_row:
            self.on_row(row)

    def submit(self, cells: list[Cell], attempt: int) -> None:
        flight = Flight(_submit(cells, attempt), list(cells), attempt)
        self.flights.append(flight)
        self.progress.queued(flight)

    def _abandon(self, flight: Flight) -> None:
        self.flights.remove(flight)
        self.progress.left(flight)
        try:
            _ray().cancel(flight.gen, force=True)  # best effort: a partitioned node's ref never resolves anyway
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
                n["Labels"]["hw_class"] for n in _grid_nodes_safe() if not (node_dead and n["NodeID"] == flight.node_id)
            }
        per_node = bool(flight.cells[0].node_id)
        if not per_node and flight.hw_class in alive_classes and flight.attempt < MAX_ATTEMPTS:
            self.submit(flight.cells, flight.attempt + 1)
            return
        why = (
            "its node"
            if per_node
            else f"every node of {flight.hw_class}"
            if flight.attempt < MAX_ATTEMPTS
            else f"{flight.attempt} nodes of {flight.hw_class} in turn"
        )
        for cell in flight.cells:
            self.record(
                placement.grid_row(
                    cell,
                    "node_lost",
                    "Node Lost",
                    f"{why} died under this cell: {reason}"[:1000],
                    "Check the node (`grid nodes`), then `grid resume RUN` to run what is left.",
                    attempt=flight.attempt,
                    node_id=flight.node_id or cell.node_id,
                )
            )

    def watchdog(self) -> None:
        """Compare in-flight groups with the head's node table (cheap GCS call, every WATCHDOG_PERIOD_S)."""
        now = time.monotonic()
        if now - self._last_watch < WATCHDOG_PERIOD_S:
            return
        self._last_watch = now
        nodes = _grid_nodes_safe(alive_only=False)
        if not nodes and self.flights:
            return  # the head did not answer this time (or lists no node): judge nothing on an empty table
        alive = {n["NodeID"] for n in nodes if n["Alive"]}
        alive_classes = {n["Labels"]["hw_class"] for n in nodes if n["Alive"]}
        self.progress.nodes({n["NodeID"]: n.get("NodeManagerAddress", "") for n in nodes})
        for flight in list(self.flights):
            if flight.node_id is not None:
                if flight.node_id not in alive:
                    self.fail_over(flight, f"node {flight.node_id[:12]} marked dead by the head", alive_classes)
                continue
            target_alive = (
                flight.cells[0].node_id in alive if flight.cells[0].node_id else flight.hw_class in alive_classes
            )
            if target_alive:
                flight.waiting_since = None
            elif flight.waiting_since is None:
                flight.waiting_since = now
            elif now - flight.waiting_since >= self.class_wait_s:
                self._abandon(flight)
                target = (
                    f"node {flight.cells[0].node_id[:12]}" if flight.cells[0].node_id else f"class {flight.hw_class}"
                )
                lost = flight.attempt > 1  # a retry: its node died under it and no sibling came
                for cell in flight.cells:
                    self.record(
                        placement.grid_row(
                            cell,
                            "node_lost" if lost else "skipped",
                            "Node Lost" if lost else "No Node",
                            f"no live node of {target} for {self.class_wait_s:.0f} s"
                            + (" after its node died under it" if lost else ""),
                            "Join a node of this class (`grid node join HEAD:6379`), then `grid resume RUN`.",
                            attempt=flight.attempt,
                        )
                    )
        self.progress.flush()

    def _take(self, flight: Flight) -> None:
        ray = _ray()
        try:
            item = ray.get(next(flight.gen))
        except StopIteration:
            self._abandon(flight)
            for cell in flight.cells:  # the task ended without a row for these: never silently drop a cell
                self.record(
                    placement.grid_row(
                        cell,
                        "crashed",
                        "Crash",
                        "grid task ended without a row for this cell",
                        "A grid bug: report it with this message.",
                        attempt=flight.attempt,
                    )
                )
            return
        except (ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as exc:
            self.fail_over(flight, f"{type(exc).__name__}: {exc}")
            return
        except (
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.ActorDiedError,
            ray.exceptions.TaskCancelledError,
        ) as exc:  # the worker died, the node may well be fine
            self.fail_over(flight, f"{type(exc).__name__}: {exc}", node_dead=False)
            return
        except ray.exceptions.RayTaskError as exc:  # a bug in grid's own agent code, not in the model
            self._abandon(flight)
            for cell in flight.cells:
                self.record(
                    placement.grid_row(
                        cell,
                        "crashed",
                        "Crash",
                        f"grid agent error: {exc}"[:1000],
                        "A grid bug: report it with this message.",
                        attempt=flight.attempt,
                    )
                )
            return
        except ray.exceptions.RayError as exc:  # OutOfMemoryError (Ray's memory monitor), RaySystemError, ...
            self.fail_over(flight, f"{type(exc).__name__}: {exc}", node_dead=False)
            return
        if isinstance(item, dict):  # the start marker
            flight.node_id = item["node_id"]
            self.progress.started(flight)
            return
        flight.cells = [c for c in flight.cells if c.cell_id != item.cell_id]
        self.record(item)

    def run(self, groups: list[list[Cell]]) -> list[ResultRow]:
        ray = _ray()
        for group in groups:
            self.submit(group, 1)
        self.progress.flush(force=True)
        while self.flights:
            by_gen = {f.gen: f for f in self.flights}
            ready, _ = ray.wait(list(by_gen), num_returns=1, timeout=WATCHDOG_PERIOD_S / 2)
            for gen in ready:
                if by_gen[gen] in self.flights:
                    self._take(by_gen[gen])
            self.watchdog()
        self.progress.finish()
        return self.rows


def execute(
    cells: list[Cell],
    results_root,
    on_row: Callable[[ResultRow], None] | None = None,
    class_wait_s: float = DEFAULT_CLASS_WAIT_S,
    run_id: str = "",
    limits: dict | None = None,
) -> list[ResultRow]:
    """Place and run cells on the connected cluster, writing each row the moment it arrives."""
    if not cells:
        return []
    run_id = run_id or cells[0].run_id
    estimates = {}
    for c in cells:
        if c.model.id not in estimates:
            estimates[c.model.id] = placement.estimate(c.model, c.generation.max_tokens)
    limits = limits if limits is not None else placement.class_limits(grid_nodes())
    place, skipped = placement.fit_check(cells, limits, estimates)
    ex = Execution(results_root, run_id, on_row, class_wait_s, estimates)
    for row in skipped:
        ex.record(row)
    return ex.run(placement.longest_first(group_cells(place), estimates))


def _manifest(suite: Suite, run_id: str, targets, address, per_node) -> dict:
    import datetime

    return {
        "run_id": run_id,
        "suite": {k: v for k, v in dataclasses.asdict(suite).items() if k != "source"},
        "suite_source": suite.source,
        "suite_hash": suite.hash,
        "targets": [list(t) for t in targets],
        "address": address or "",
        "per_node": per_node,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def run_suite(
    suite: Suite,
    results_root,
    run_id: str | None = None,
    address: str | None = None,
    per_node: bool = False,
    on_row: Callable[[ResultRow], None] | None = None,
    on_plan: Callable[[list[Cell]], None] | None = None,
    class_wait_s: float = DEFAULT_CLASS_WAIT_S,
    targets: list[tuple[str, str]] | None = None,
) -> RunResult:
    """Plan the suite over the live hardware classes (or given targets), skip cells that already have a terminal row
    (resume), run the rest."""
    run_id = run_id or store.new_run_id(suite.name)
    has_manifest = _check_same_suite(results_root, run_id, suite)
    started = connect(address)
    try:
        targets = [tuple(t) for t in targets] if targets else live_targets(per_node)
        if not targets:
            raise SchedulerError(
                "no live grid nodes: start one with `grid node join HEAD:6379`, or run without --address"
            )
        cells = plan_cells(suite, run_id, targets)
        finished = store.terminal_cell_ids(results_root, run_id)
        cells = [c for c in cells if c.cell_id not in finished]
        if not has_manifest:
            store.write_manifest(results_root, run_id, _manifest(suite, run_id, targets, address, per_node))
        if on_plan:
            on_plan(cells)
        return RunResult(run_id, execute(cells, results_root, on_row, class_wait_s, run_id))
    finally:
        if started:
            _ray().shutdown()


def _check_same_suite(results_root, run_id: str, suite: Suite) -> bool:
    """A run holds the cells of one suite: its manifest must keep describing every row (and what `resume` runs).
    Returns whether the run already has a manifest."""
    try:
        manifest = store.read_manifest(results_root, run_id)
    except store.StoreError:
        return False
    if manifest.get("suite_hash") not in (None, suite.hash):
        name = manifest.get("suite", {}).get("name", "?")
        raise SchedulerError(
            f"run {run_id!r} was started with another suite ({name!r}, different models or settings): "
            f"continue it with `grid resume {run_id}`, or give this suite a new --run-id"
        )
    return True


def _driver_alive(progress: dict) -> bool:
    """The driver's heartbeat: on this host ask the OS about its pid; elsewhere trust a heartbeat under 30 s."""
    host, _, pid = str(progress.get("driver", "")).rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return time.time() - float(progress.get("updated_at_s", 0)) < 30


def resume_run(
    results_root,
    run_id: str,
    address: str | None = None,
    force: bool = False,
    on_row: Callable[[ResultRow], None] | None = None,
    on_plan: Callable[[list[Cell]], None] | None = None,
    class_wait_s: float = DEFAULT_CLASS_WAIT_S,
) -> RunResult:
    """Run only the cells of RUN without a terminal row, on the run's own targets (so cell ids match)."""
    manifest = store.read_manifest(results_root, run_id)
    live = Progress(results_root, run_id).read()
    if not force and live.get("state") == "running" and _driver_alive(live):
        raise SchedulerError(f"run {run_id} has a live driver ({live.get('driver')}); wait, cancel it, or --force")
    suite = parse_suite(manifest["suite"], manifest.get("suite_source") or f"run {run_id} manifest")
    return run_suite(
        suite,
        results_root,
        run_id=run_id,
        address=address or manifest.get("address") or None,
        per_node=manifest.get("per_node", False),
        on_row=on_row,
        on_plan=on_plan,
        class_wait_s=class_wait_s,
        targets=[tuple(t) for t in manifest["targets"]],
    )
