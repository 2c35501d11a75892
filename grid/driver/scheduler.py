"""A run: plan a suite over the live hardware classes, write the run's manifest, place the cells, dispatch them, and
resume a run later with only what it still lacks.

Each model group becomes one Ray task on a node of its hardware class (agent/tasks.py); rows stream back as cells
finish and are written at once (grid/driver/dispatch.py). Before dispatch, cells predicted not to fit their class's
memory become `skipped` rows (grid/driver/placement.py), every cell carries its predicted memory, and groups go out
longest-predicted first. The connection and the node table are grid/driver/connect.py.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from grid import store
from grid.compact import compact_finished
from grid.core.errors import GridError
from grid.core.options import RunOptions
from grid.core.plan import Cell, group_cells, plan_cells
from grid.core.schema import ResultRow
from grid.core.status import RETRYABLE_STATUSES
from grid.core.suite import Suite, parse_suite
from grid.driver import envs, placement, predict
from grid.driver.calls import Calls
from grid.driver.connect import NODE_ROLE, SLOT, connect, grid_nodes, live_targets, ray_module
from grid.driver.dispatch import MAX_ATTEMPTS, WATCHDOG_PERIOD_S, Execution, Flight
from grid.driver.progress import Progress
from grid.driver.validate import validate_suite

__all__ = [  # the names other modules import from here (the connection and the loop live in their own modules)
    "MAX_ATTEMPTS",
    "NODE_ROLE",
    "SLOT",
    "WATCHDOG_PERIOD_S",
    "Execution",
    "Flight",
    "RunResult",
    "SchedulerError",
    "connect",
    "execute",
    "grid_nodes",
    "live_targets",
    "resume_run",
    "run_suite",
]


class SchedulerError(GridError, RuntimeError):
    pass


@dataclass
class RunResult:
    run_id: str
    rows: list[ResultRow] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.rows)


def _with_class_wait(options: RunOptions | None, class_wait_s: float | None) -> RunOptions:
    """The options, with an explicitly given class_wait_s (the older keyword) taking precedence."""
    options = options if options is not None else RunOptions()
    if class_wait_s is None:
        return options
    return dataclasses.replace(options, class_wait_s=float(class_wait_s))


def _with_predictions(cells: list[Cell]) -> tuple[list[Cell], dict]:
    """Each model's predicted memory (placement.estimate, once per model), and the cells carrying it."""
    estimates: dict = {}
    for c in cells:
        if c.model.id not in estimates:
            estimates[c.model.id] = placement.estimate(c.model, c.generation.max_tokens)
    out = []
    for c in cells:
        est = estimates.get(c.model.id)
        out.append(dataclasses.replace(c, predicted_memory_gb=est.total_gb) if est is not None else c)
    return out, estimates


def execute(
    cells: list[Cell],
    results_root,
    on_row: Callable[[ResultRow], None] | None = None,
    class_wait_s: float | None = None,
    run_id: str = "",
    limits: dict | None = None,
    options: RunOptions | None = None,
    calls: Calls | None = None,
) -> list[ResultRow]:
    """Place and run cells on the connected cluster, writing each row the moment it arrives."""
    if not cells:
        return []
    run_id = run_id or cells[0].run_id
    options = _with_class_wait(options, class_wait_s)
    cells, estimates = _with_predictions(cells)
    if limits is None:
        limits = placement.class_limits(grid_nodes() if calls is None else calls.nodes())
    place, skipped = placement.fit_check(cells, limits, estimates)
    place, env_skipped, builds = envs.prepare(place, None if calls is None else calls.nodes())  # package environments
    if builds:
        _record_builds(results_root, run_id, builds)
    groups = group_cells(place)
    predicted, startup = predict.predict_for_run(results_root, run_id, groups, estimates, calls)
    ex = Execution(results_root, run_id, on_row, options, estimates, calls=calls,
                   predicted={k: s for k, (s, _) in predicted.items()}, startup=startup)  # fmt: skip
    for row in skipped + env_skipped:
        ex.record(row)
    return ex.run(predict.longest_predicted_first(groups, predicted))


def _record_builds(results_root, run_id: str, builds: list) -> None:
    """Each environment build (env, node, seconds, error) goes into the run's manifest, appended on resume: what a
    cell's env_build_s came from, and why a skipped cell's environment failed on which node."""
    try:
        manifest = store.read_manifest(results_root, run_id)
    except store.StoreError:
        return  # an execute() without a run (tests, bench): nothing to record into
    manifest["env_builds"] = [*manifest.get("env_builds", []), *envs.builds_manifest(builds)]
    store.write_manifest(results_root, run_id, manifest)


def planned_record(cells: list[Cell]) -> list[dict]:
    """The run's plan as its manifest keeps it: reports count "n of N planned cells" from it, without the images."""
    return [
        {
            "cell_id": c.cell_id,
            "model": c.model.id,
            "hw_class": c.hw_class,
            "prompt_id": c.prompt.id,
            "image_id": c.image.id,
        }
        for c in cells
    ]


def _manifest(
    suite: Suite, run_id: str, targets, address, per_node, options: RunOptions | None = None, cells=()
) -> dict:
    return {
        "planned": planned_record(list(cells)),
        "run_id": run_id,
        "suite": {k: v for k, v in dataclasses.asdict(suite).items() if k != "source"},
        "suite_source": suite.source,
        "suite_hash": suite.hash,
        "targets": [list(t) for t in targets],
        "address": address or "",
        "per_node": per_node,
        "options": (options if options is not None else RunOptions()).to_dict(),
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
    class_wait_s: float | None = None,
    targets: list[tuple[str, str]] | None = None,
    options: RunOptions | None = None,
    retry: frozenset[str] = frozenset(),
    rewrite_manifest: bool = False,
) -> RunResult:
    """Plan the suite over the live hardware classes (or given targets), skip cells that already have a terminal row
    (resume), run the rest. `options` (default RunOptions()) go into the manifest and to every group task;
    class_wait_s, if given, overrides options.class_wait_s. `retry`: statuses whose cells run again (resume).
    `rewrite_manifest`: write the manifest even if the run has one (grid resume --rebuild-manifest)."""
    options = _with_class_wait(options, class_wait_s)
    run_id = run_id or store.new_run_id(suite.name)
    has_manifest = not rewrite_manifest and _check_same_suite(results_root, run_id, suite)
    started = connect(address, options.mlx_device)
    try:
        targets = [tuple(t) for t in targets] if targets else live_targets(per_node)
        if not targets:
            raise SchedulerError(
                "no live grid nodes: start one with `grid node join HEAD:6379`, or run without --address"
            )
        planned = plan_cells(suite, run_id, targets)
        finished = store.terminal_cell_ids(results_root, run_id, retry)
        cells = [c for c in planned if c.cell_id not in finished]
        if not has_manifest:
            manifest = _manifest(suite, run_id, targets, address, per_node, options, planned)
            store.write_manifest(results_root, run_id, manifest)
        if on_plan:
            on_plan(cells)
        rows = execute(cells, results_root, on_row, run_id=run_id, options=options)
        compact_finished(results_root, run_id)  # every planned cell has its row: merge a large run's cell files
        return RunResult(run_id, rows)
    finally:
        if started:
            ray_module().shutdown()


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
    class_wait_s: float | None = None,
    options: RunOptions | None = None,
    retry: frozenset[str] | None = None,
    rebuild_suite: Suite | None = None,
) -> RunResult:
    """Run the cells of RUN that have no row, or whose latest row's status is in `retry` (default: the retryable
    ones, grid.core.status.RETRYABLE_STATUSES), on the run's own targets (so cell ids match), with the run's own
    options (from its manifest) unless new ones are given. `rebuild_suite`: the manifest is damaged or gone; plan
    from this suite over the targets the rows name, and write a new manifest."""
    retry = RETRYABLE_STATUSES if retry is None else frozenset(retry)
    live = Progress(results_root, run_id).read()
    if not force and live.get("state") == "running" and _driver_alive(live):
        raise SchedulerError(f"run {run_id} has a live driver ({live.get('driver')}); wait, cancel it, or --force")
    if rebuild_suite is not None:
        validate_suite(rebuild_suite)  # as `grid run` does: a suite error before any Ray start
        targets = _rebuild_targets(results_root, run_id, rebuild_suite)
        if targets and _nothing_left(results_root, run_id, rebuild_suite, targets, retry):
            store.write_manifest(
                results_root,
                run_id,
                _manifest(
                    rebuild_suite, run_id, targets, address, False, options, plan_cells(rebuild_suite, run_id, targets)
                ),
            )
            return RunResult(run_id)
        return run_suite(
            rebuild_suite,
            results_root,
            run_id=run_id,
            address=address,
            on_row=on_row,
            on_plan=on_plan,
            class_wait_s=class_wait_s,
            targets=targets,
            options=options,
            retry=retry,
            rewrite_manifest=True,
        )
    manifest = store.read_manifest(results_root, run_id)
    for key, kind in (("suite", dict), ("targets", list)):
        if not isinstance(manifest.get(key), kind):
            raise store.ManifestError.lacking(run_id, key)
    suite = parse_suite(manifest["suite"], manifest.get("suite_source") or f"run {run_id} manifest")
    if options is None:
        options = RunOptions.from_dict(manifest.get("options"))
    targets = [tuple(t) for t in manifest["targets"]]
    if targets and _nothing_left(results_root, run_id, suite, targets, retry):
        return RunResult(run_id)  # no cluster to start or reach
    validate_suite(suite)  # a model folder moved or deleted since the run began: a suite error, not failed rows
    return run_suite(
        suite,
        results_root,
        run_id=run_id,
        address=address or manifest.get("address") or None,
        per_node=manifest.get("per_node", False),
        on_row=on_row,
        on_plan=on_plan,
        class_wait_s=class_wait_s,
        targets=targets,
        options=options,
        retry=retry,
    )


def _nothing_left(results_root, run_id: str, suite: Suite, targets, retry: frozenset[str]) -> bool:
    finished = store.terminal_cell_ids(results_root, run_id, retry)
    return all(c.cell_id in finished for c in plan_cells(suite, run_id, targets))


def _rebuild_targets(results_root, run_id: str, suite: Suite) -> list[tuple[str, str]] | None:
    """The targets a run's rows were planned over, checked against the suite: per class, else per node. None when the
    run has no rows yet (plan over the live classes, as `grid run` does)."""
    table = store.read_table(results_root, run_id).select(["cell_id", "hw_class", "node_id", "suite_hash"])
    if table.num_rows == 0:
        return None
    hashes = set(table["suite_hash"].to_pylist()) - {"", None}
    if hashes and suite.hash not in hashes:
        raise SchedulerError(
            f"suite {suite.name!r} is not the suite run {run_id} was started with (its rows carry another suite hash)",
            f"give the run's own suite file: `grid resume {run_id} --rebuild-manifest --suite SUITE`",
        )
    have = set(table["cell_id"].to_pylist())
    classes = sorted(set(table["hw_class"].to_pylist()))
    nodes = sorted(set(zip(table["hw_class"].to_pylist(), table["node_id"].to_pylist())))
    for targets in ([(c, "") for c in classes], nodes):
        if have <= {c.cell_id for c in plan_cells(suite, run_id, targets)}:
            return targets
    raise SchedulerError(
        f"suite {suite.name!r} does not plan the cells run {run_id} holds (different models, prompts or images)",
        f"give the run's own suite file: `grid resume {run_id} --rebuild-manifest --suite SUITE`",
    )
