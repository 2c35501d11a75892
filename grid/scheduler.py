"""Ray scheduling: each model group becomes one Ray task on a node of its hardware class; rows stream back as cells
finish and are written at once.

With no address an embedded single-node Ray is started, labelled with this machine's hardware class; with an address
the same code path runs against a lab cluster whose nodes joined with `grid node join`.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from grid import store
from grid.plan import Cell, group_cells, plan_cells
from grid.schema import ResultRow
from grid.suite import Suite

NODE_ROLE = "grid-node"  # label of nodes that run cells; the head of a lab cluster has none
SLOT = "grid_slot"  # one per node: one benchmark at a time, measurements never share a machine
MAX_ATTEMPTS = 2


class SchedulerError(RuntimeError):
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
    """Connect to a cluster, or start an embedded one labelled with this machine's class. Returns True if started."""
    ray = _ray()
    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False)
        return False
    from agent.hardware import probe

    hw = probe(device_info=False)
    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
             object_store_memory=100 * 2**20, resources={SLOT: 1},
             labels={**hw.labels(), "role": NODE_ROLE})
    return True


def live_targets(per_node: bool = False) -> list[tuple[str, str]]:
    """(hw_class, node_id) targets: one per class of live grid nodes, or one per node with per_node."""
    ray = _ray()
    targets = []
    for node in ray.nodes():
        labels = node.get("Labels", {}) or {}
        if not node.get("Alive") or labels.get("role") != NODE_ROLE or "hw_class" not in labels:
            continue
        targets.append((labels["hw_class"], node["NodeID"] if per_node else ""))
    return sorted(set(targets))


def _group_task(cells: list[Cell], attempt: int):
    """Runs on a worker node: probe once per worker process, then stream a row per cell."""
    import ray

    from agent.hardware import probe
    from agent.runner import run_group

    hw = _cached_probe(probe)
    label = ray.get_runtime_context().get_node_labels().get("hw_class")
    if label and label != hw.hw_class:  # the node's label decided placement, so rows carry it
        hw = dataclasses.replace(hw, hw_class=label)
    yield from run_group(cells, hw, ray.get_runtime_context().get_node_id(), attempt)


_PROBE = None


def _cached_probe(probe):
    global _PROBE
    if _PROBE is None:
        _PROBE = probe()
    return _PROBE


def _submit(group: list[Cell], attempt: int):
    ray = _ray()
    selector = {"role": NODE_ROLE}
    if group[0].hw_class:
        selector["hw_class"] = group[0].hw_class
    options = dict(num_returns="streaming", num_cpus=0, resources={SLOT: 1}, label_selector=selector, max_retries=0)
    if group[0].node_id:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(group[0].node_id, soft=False)
    return ray.remote(_group_task).options(**options).remote(group, attempt)


def _lost_row(cell: Cell, status: str, message: str, attempt: int) -> ResultRow:
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return ResultRow(run_id=cell.run_id, cell_id=cell.cell_id, model=cell.model.id, hw_class=cell.hw_class,
                     status=status, suite_name=cell.suite_name, suite_hash=cell.suite_hash,
                     model_source=cell.model.source, prompt_id=cell.prompt.id, image_id=cell.image.id,
                     error_class="Node Lost" if status == "node_lost" else "Crash", error_package="grid",
                     error_message=message, attempt=attempt, started_at=now, finished_at=now,
                     error_fix="Check the node (`grid nodes`), then `grid resume RUN` to run what is left.")


def execute(cells: list[Cell], results_root, on_row: Callable[[ResultRow], None] | None = None) -> list[ResultRow]:
    """Run cells on the connected cluster, writing each row the moment it arrives."""
    ray = _ray()
    rows: list[ResultRow] = []
    pending: dict = {}  # generator -> (group, attempt)
    for group in group_cells(cells):
        pending[_submit(group, 1)] = (group, 1)

    def record(row: ResultRow) -> None:
        store.write_row(results_root, row)
        rows.append(row)
        if on_row:
            on_row(row)

    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for gen in ready:
            group, attempt = pending.pop(gen)
            try:
                row = ray.get(next(gen))
            except StopIteration:
                continue
            except (ray.exceptions.NodeDiedError, ray.exceptions.WorkerCrashedError,
                    ray.exceptions.ActorDiedError, ray.exceptions.TaskCancelledError) as exc:
                done = {r.cell_id for r in rows}
                left = [c for c in group if c.cell_id not in done]
                if left and attempt < MAX_ATTEMPTS:
                    pending[_submit(left, attempt + 1)] = (left, attempt + 1)
                else:
                    for c in left:
                        record(_lost_row(c, "node_lost", f"{type(exc).__name__}: {exc}"[:500], attempt))
                continue
            except ray.exceptions.RayTaskError as exc:  # a bug in grid's own agent code, not in the model
                done = {r.cell_id for r in rows}
                for c in group:
                    if c.cell_id not in done:
                        record(_lost_row(c, "crashed", f"grid agent error: {exc}"[:1000], attempt))
                continue
            record(row)
            pending[gen] = (group, attempt)
    return rows


def run_suite(suite: Suite, results_root, run_id: str | None = None, address: str | None = None,
              per_node: bool = False, on_row: Callable[[ResultRow], None] | None = None,
              on_plan: Callable[[list[Cell]], None] | None = None) -> RunResult:
    """Plan the suite over the live hardware classes, skip cells that already have a terminal row (resume), run."""
    run_id = run_id or store.new_run_id(suite.name)
    started = connect(address)
    try:
        targets = live_targets(per_node)
        if not targets:
            raise SchedulerError("no live grid nodes: start one with `grid node join HEAD:6379`, or run without --address")
        cells = plan_cells(suite, run_id, targets)
        finished = store.terminal_cell_ids(results_root, run_id)
        cells = [c for c in cells if c.cell_id not in finished]
        store.write_manifest(results_root, run_id, {
            "run_id": run_id, "suite": {k: v for k, v in dataclasses.asdict(suite).items() if k != "source"},
            "suite_source": suite.source, "suite_hash": suite.hash, "targets": targets,
            "address": address or "", "per_node": per_node,
            "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        })
        if on_plan:
            on_plan(cells)
        return RunResult(run_id, execute(cells, results_root, on_row))
    finally:
        if started:
            _ray().shutdown()
