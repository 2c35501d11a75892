"""The dispatch loop's state machine with Ray faked (grid.driver.calls.Calls): fail-over on node death, retries after a
worker crash, the watchdog, class waits, tasks ending early. No Ray cluster, no clock: the fake advances time itself.
Also the group task's view of a node (agent.tasks) and the run's options in the manifest."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pytest

from agent.hardware import Hardware
from agent.tasks import NodeState, node_hardware
from grid import store
from grid.core.options import RunOptions
from grid.core.plan import Cell, group_cells, plan_cells
from grid.core.schema import ResultRow
from grid.core.status import Status
from grid.core.suite import parse_suite
from grid.driver import placement
from grid.driver.calls import EnvFailed, NodeDied, RayCalls, RayFailure, TaskFailed, WorkerDied
from grid.driver.dispatch import MAX_ATTEMPTS, WATCHDOG_PERIOD_S, Execution

# --- the fake -----------------------------------------------------------------------------------------------------------

ROW, END, HANG = "row", "end", "hang"  # steps of a fake task's script; also Marker, Kill, Exception instances


@dataclass
class Marker:  # the task's first item: where it runs
    node_id: str


@dataclass
class Kill:  # a side effect when the script reaches it: the head marks the node dead
    node_id: str


class FakeTask:
    def __init__(self, group: list[Cell], attempt: int, options: RunOptions, script: list):
        self.group, self.attempt, self.options = group, attempt, options
        self.steps, self.left, self.node_id = deque(script), list(group), ""


class FakeCalls:
    """Scripted tasks (`behaviour(group, attempt) -> steps`), an editable node table and a clock that moves only when
    the loop waits on nothing."""

    def __init__(self, behaviour, nodes: dict[str, str]):
        self.behaviour = behaviour
        self.table = {nid: {"NodeID": nid, "Alive": True, "Labels": {"role": "grid-node", "hw_class": cls}}
                      for nid, cls in nodes.items()}  # fmt: skip
        self.tasks: list[FakeTask] = []
        self.cancelled: list[FakeTask] = []
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def submit(self, group, attempt, options):
        task = FakeTask(group, attempt, options, self.behaviour(group, attempt))
        self.tasks.append(task)
        return task

    def _settle(self, task: FakeTask) -> bool:
        """Run side effects at the head of the script; whether an item is ready."""
        while task.steps and isinstance(task.steps[0], Kill):
            self.table[task.steps.popleft().node_id]["Alive"] = False
        return not (task.steps and task.steps[0] == HANG)

    def wait(self, handles, timeout_s):
        for task in handles:
            if self._settle(task):
                return [task]
        self.now += timeout_s
        if self.now > 100_000:
            raise AssertionError("the loop never ends")
        return []

    def take(self, task: FakeTask):
        step = task.steps.popleft() if task.steps else END
        if isinstance(step, Marker):
            task.node_id = step.node_id
            return {"node_id": step.node_id, "hostname": "fake"}
        if isinstance(step, Exception):
            raise step
        if step == END:
            raise StopIteration
        cell = task.left.pop(0)
        return ResultRow(cell.run_id, cell.cell_id, cell.model.id, cell.hw_class, Status.OK, node_id=task.node_id,
                         attempt=task.attempt)  # fmt: skip

    def cancel(self, task):
        self.cancelled.append(task)

    def nodes(self, alive_only=True):
        return [dict(n) for n in self.table.values() if n["Alive"] or not alive_only]

    def kill(self, node_id):
        self.table[node_id]["Alive"] = False


def make_cells(targets=(("A", ""),), models=("twin:qwen2_vl",), prompts=3) -> list[Cell]:
    suite = parse_suite(
        {"name": "d", "models": list(models), "prompts": [{"id": f"p{i}", "text": f"say {i}"} for i in range(prompts)]},
        "test",
    )
    return plan_cells(suite, "run-d", list(targets))


def run(tmp_path, fake, cells, class_wait_s=30.0, on_row=None) -> list[ResultRow]:
    ex = Execution(tmp_path, "run-d", on_row, RunOptions(class_wait_s=class_wait_s), {}, calls=fake, clock=fake.clock)
    rows = ex.run(group_cells(cells))
    assert not ex.flights
    assert_one_row_each(tmp_path, cells, rows)
    return rows


def assert_one_row_each(tmp_path, cells, rows):
    assert sorted(r.cell_id for r in rows) == sorted(c.cell_id for c in cells)  # every cell, none twice
    assert sorted(r.cell_id for r in store.read_rows(tmp_path, "run-d")) == sorted(c.cell_id for c in cells)


def by_status(rows):
    return sorted((r.status, r.attempt) for r in rows)


# --- node death and worker crashes ----------------------------------------------------------------------------------------


def test_node_death_retries_what_is_left_on_a_sibling(tmp_path):
    def behaviour(group, attempt):
        if attempt == 1:
            return [Marker("n1"), ROW, NodeDied("NodeDiedError: raylet gone")]
        return [Marker("n2"), ROW, ROW]

    fake = FakeCalls(behaviour, {"n1": "A", "n2": "A"})  # the head still lists n1 alive: it is not a sibling
    rows = run(tmp_path, fake, make_cells())
    assert by_status(rows) == [("ok", 1), ("ok", 2), ("ok", 2)]
    assert [len(t.group) for t in fake.tasks] == [3, 2]
    assert sorted(r.node_id for r in rows) == ["n1", "n2", "n2"]
    assert fake.tasks[0] in fake.cancelled  # abandoned (every task is also cancelled once it ends)


def test_node_death_on_every_attempt_is_node_lost_after_max_attempts(tmp_path):
    fake = FakeCalls(lambda g, a: [Marker(f"n{a % 2}"), NodeDied("NodeDiedError: gone")], {"n0": "A", "n1": "A"})
    rows = run(tmp_path, fake, make_cells(prompts=2))
    assert len(fake.tasks) == MAX_ATTEMPTS
    assert by_status(rows) == [("node_lost", MAX_ATTEMPTS)] * 2
    row = rows[0]
    assert (row.error_class, row.error_package, row.node_id) == ("Node Lost", "grid", f"n{MAX_ATTEMPTS % 2}")
    assert row.error_message == f"{MAX_ATTEMPTS} nodes of A in turn died under this cell: NodeDiedError: gone"


def test_node_death_with_no_sibling_is_node_lost_at_once(tmp_path):
    fake = FakeCalls(lambda g, a: [Marker("n1"), ROW, NodeDied("ObjectLostError: lost")], {"n1": "A", "x": "B"})
    rows = run(tmp_path, fake, make_cells())
    assert len(fake.tasks) == 1
    assert by_status(rows) == [("node_lost", 1), ("node_lost", 1), ("ok", 1)]
    lost = [r for r in rows if r.status == Status.NODE_LOST]
    assert all(r.error_message == "every node of A died under this cell: ObjectLostError: lost" for r in lost)
    assert all(r.node_id == "n1" for r in lost)


@pytest.mark.parametrize("error", [WorkerDied("WorkerCrashedError: killed"), RayFailure("OutOfMemoryError: monitor")])
def test_a_worker_crash_is_retried_and_the_same_node_may_serve(tmp_path, error):
    fake = FakeCalls(lambda g, a: [Marker("n1"), error] if a == 1 else [Marker("n1"), ROW, ROW, ROW], {"n1": "A"})
    rows = run(tmp_path, fake, make_cells())
    assert by_status(rows) == [("ok", 2)] * 3
    assert {r.node_id for r in rows} == {"n1"}


def test_a_per_node_group_is_never_moved_to_another_node(tmp_path):
    fake = FakeCalls(lambda g, a: [Marker("n1"), NodeDied("NodeDiedError: gone")], {"n1": "A", "n2": "A"})
    rows = run(tmp_path, fake, make_cells(targets=[("A", "n1")], prompts=2))
    assert len(fake.tasks) == 1
    assert {(r.status, r.node_id) for r in rows} == {("node_lost", "n1")}
    assert rows[0].error_message.startswith("its node died under this cell")


# --- the watchdog and class waits -----------------------------------------------------------------------------------------


def test_the_watchdog_fails_over_a_group_whose_node_the_head_marks_dead(tmp_path):
    # a partitioned node: its task neither ends nor errors, only the head's node table says it is gone
    fake = FakeCalls(lambda g, a: [Marker("n1"), Kill("n1"), HANG] if a == 1 else [Marker("n2"), ROW, ROW], {
        "n1": "A", "n2": "A"})  # fmt: skip
    rows = run(tmp_path, fake, make_cells(prompts=2))
    assert by_status(rows) == [("ok", 2)] * 2
    assert fake.tasks[0] in fake.cancelled  # abandoned (every task is also cancelled once it ends)
    assert fake.now - 1000.0 <= 2 * WATCHDOG_PERIOD_S  # noticed at the next watchdog round


def test_the_watchdog_records_node_lost_when_a_hung_group_has_no_sibling(tmp_path):
    fake = FakeCalls(lambda g, a: [Marker("n1"), Kill("n1"), HANG], {"n1": "A", "x": "B"})
    rows = run(tmp_path, fake, make_cells(prompts=1))
    (row,) = rows
    assert (row.status, row.node_id) == ("node_lost", "n1")
    assert row.error_message == "every node of A died under this cell: node n1 marked dead by the head"


def test_a_class_with_no_live_node_is_skipped_after_the_class_wait(tmp_path):
    fake = FakeCalls(lambda g, a: [HANG], {"n1": "A"})
    seen = []
    rows = run(tmp_path, fake, make_cells(targets=[("B", "")], prompts=2), class_wait_s=30, on_row=seen.append)
    assert by_status(rows) == [("skipped", 1)] * 2 and seen == rows
    assert rows[0].error_class == "No Node"
    assert rows[0].error_message == "no live node of class B for 30 s"
    assert 30 <= fake.now - 1000.0 <= 30 + 2 * WATCHDOG_PERIOD_S
    assert fake.tasks[0] in fake.cancelled  # abandoned (every task is also cancelled once it ends)


def test_a_class_that_comes_back_in_time_is_not_skipped(tmp_path):
    fake = FakeCalls(lambda g, a: [HANG], {"n1": "A", "n2": "B"})
    fake.kill("n2")
    ex = Execution(tmp_path, "run-d", None, RunOptions(class_wait_s=30), {}, calls=fake, clock=fake.clock)
    cells = make_cells(targets=[("B", "")], prompts=1)
    ex.submit(cells, 1)
    for _ in range(20):  # 20 s without a node of B
        fake.wait([f.handle for f in ex.flights], WATCHDOG_PERIOD_S / 2)
        ex.watchdog()
    assert ex.flights and ex.flights[0].waiting_since is not None
    fake.table["n2"]["Alive"] = True
    fake.now += WATCHDOG_PERIOD_S
    ex.watchdog()
    assert ex.flights[0].waiting_since is None  # the wait starts over
    fake.now += 100
    ex.watchdog()
    assert ex.flights and not ex.rows


def test_a_retry_whose_class_emptied_is_node_lost_after_the_class_wait(tmp_path):
    def behaviour(group, attempt):
        if attempt == 1:
            return [Marker("n1"), Kill("n1"), NodeDied("NodeDiedError: gone")]
        return [Kill("n2"), HANG]  # the sibling dies before the retry starts

    fake = FakeCalls(behaviour, {"n1": "A", "n2": "A"})
    rows = run(tmp_path, fake, make_cells(prompts=2), class_wait_s=10)
    assert by_status(rows) == [("node_lost", 2)] * 2
    assert rows[0].error_class == "Node Lost"
    assert rows[0].error_message == "no live node of class A for 10 s after its node died under it"


# --- tasks that end badly, the start marker -------------------------------------------------------------------------------


def test_a_task_ending_without_a_row_gives_each_remaining_cell_a_crashed_row(tmp_path):
    fake = FakeCalls(lambda g, a: [Marker("n1"), ROW, END], {"n1": "A"})
    rows = run(tmp_path, fake, make_cells())
    assert by_status(rows) == [("crashed", 1), ("crashed", 1), ("ok", 1)]
    crashed = [r for r in rows if r.status == Status.CRASHED]
    assert {(r.error_class, r.error_message) for r in crashed} == {
        ("Crash", "grid task ended without a row for this cell")
    }


def test_an_agent_error_crashes_the_group_without_a_retry(tmp_path):
    fake = FakeCalls(lambda g, a: [Marker("n1"), TaskFailed("ValueError: boom")], {"n1": "A", "n2": "A"})
    rows = run(tmp_path, fake, make_cells(prompts=2))
    assert len(fake.tasks) == 1
    assert {(r.status, r.error_message) for r in rows} == {("crashed", "grid agent error: ValueError: boom")}


def test_an_environment_failing_at_dispatch_skips_the_group_for_resume_without_a_retry(tmp_path):
    fake = FakeCalls(lambda g, a: [EnvFailed("RuntimeEnvSetupError: pip failed")], {"n1": "A", "n2": "A"})
    rows = run(tmp_path, fake, make_cells(prompts=2))
    assert len(fake.tasks) == 1  # a sibling would build the same pins: no retry
    assert {(r.status, r.error_class, r.error_package) for r in rows} == {("skipped", "EnvBuildError", "environment")}
    assert all(Status(r.status).is_retryable and "pip failed" in r.error_message for r in rows)


def test_the_start_marker_sets_the_flights_node(tmp_path):
    fake = FakeCalls(lambda g, a: [Marker("n7"), HANG], {"n7": "A"})
    ex = Execution(tmp_path, "run-d", None, RunOptions(), {}, calls=fake, clock=fake.clock)
    ex.submit(make_cells(), 1)
    (flight,) = ex.flights
    assert flight.node_id is None
    ex.take(flight)
    assert flight.node_id == "n7"
    assert ex.progress.flights[id(flight)]["state"] == "running"


def test_every_cell_ends_with_exactly_one_row_whatever_happens(tmp_path):
    fates = {
        "org/ok": lambda a: [Marker("a1"), ROW, ROW],
        "org/moved": lambda a: [Marker("a1"), NodeDied("NodeDiedError: x")] if a == 1 else [Marker("a2"), ROW, ROW],
        "org/ends-early": lambda a: [Marker("a2"), END],
        "org/keeps-crashing": lambda a: [Marker("a2"), WorkerDied("WorkerCrashedError: y"), ROW, ROW],
    }
    models = tuple(fates)
    fake = FakeCalls(lambda g, a: [HANG] if g[0].hw_class == "B" else fates[g[0].model.id](a), {"a1": "A", "a2": "A"})
    cells = make_cells(targets=[("A", ""), ("B", "")], models=models, prompts=2)
    rows = run(tmp_path, fake, cells, class_wait_s=5)
    assert {r.status for r in rows if r.hw_class == "B"} == {"skipped"}
    assert {r.status for r in rows if r.hw_class == "A"} == {"ok", "crashed", "node_lost"}


def test_options_reach_every_task(tmp_path):
    options = RunOptions(class_wait_s=5, spare_children=0, mlx_device="cpu")
    fake = FakeCalls(lambda g, a: [Marker("n1"), WorkerDied("WorkerCrashedError")] if a == 1 else [Marker("n1")], {
        "n1": "A"})  # fmt: skip
    ex = Execution(tmp_path, "run-d", None, options, {}, calls=fake, clock=fake.clock)
    ex.run(group_cells(make_cells()))
    assert [t.options for t in fake.tasks] == [options, options]


def test_execute_gives_every_cell_its_predicted_memory_before_dispatch(tmp_path):
    from grid.driver.scheduler import execute

    cells = make_cells(prompts=2)
    est = placement.estimate(cells[0].model, cells[0].generation.max_tokens)
    assert est is not None
    fake = FakeCalls(lambda g, a: [Marker("n1"), ROW, ROW], {"n1": "A"})
    rows = execute(cells, tmp_path, run_id="run-d", limits={}, options=RunOptions(), calls=fake)
    assert {c.predicted_memory_gb for c in fake.tasks[0].group} == {est.total_gb}
    assert {r.predicted_memory_gb for r in rows} == {est.total_gb}
    assert_one_row_each(tmp_path, cells, rows)


# --- the real calls translate Ray's errors --------------------------------------------------------------------------------


def test_ray_calls_take_turns_rays_errors_into_the_kinds_the_loop_tells_apart(monkeypatch):
    import ray
    import ray.exceptions as rx

    def raising(exc):
        def get(_ref):
            raise exc

        return get

    cases = [
        (rx.NodeDiedError("raylet gone"), NodeDied),
        (rx.WorkerCrashedError(), WorkerDied),
        (rx.TaskCancelledError(), WorkerDied),
        (rx.RayTaskError("group_task", "tb", ValueError("boom")), TaskFailed),
        (rx.OutOfMemoryError("memory monitor"), RayFailure),
        (rx.RuntimeEnvSetupError("pip install failed"), EnvFailed),
    ]
    for exc, kind in cases:
        monkeypatch.setattr(ray, "get", raising(exc))
        with pytest.raises(kind) as info:
            RayCalls().take(iter(["ref"]))
        assert type(exc).__name__ in str(info.value) or kind is TaskFailed
    with pytest.raises(StopIteration):
        RayCalls().take(iter([]))


# --- the group task's view of its node ------------------------------------------------------------------------------------


def hardware(**kw) -> Hardware:
    base = dict(hw_class="EPYC-2c-24GB", chip="AMD EPYC", ram_gb=24.0, gpu_cores=None, perf_cores=None, eff_cores=None,
                cpu_cores=2, model_id="", os_name="Linux", os_version="6", backend="cpu", bandwidth_gbps=None,
                working_set_gb=None, hostname="h")  # fmt: skip
    return Hardware(**{**base, **kw})


def test_node_labels_decide_the_class_and_simulated_hardware():
    hw = hardware()
    assert node_hardware(hw, {"hw_class": "EPYC-2c-24GB", "ram_gb": "24"}) is hw
    assert node_hardware(hw, {"hw_class": "M4-Max-40c-128GB", "ram_gb": "128"}).hw_class == "M4-Max-40c-128GB"
    assert node_hardware(hw, {"hw_class": "M2", "ram_gb": "128"}).ram_gb == 24.0  # not simulated: probed RAM
    sim = node_hardware(hw, {"hw_class": "M2-8GB", "ram_gb": "8", "working_set_gb": "5.3", "simulated": "true"})
    assert (sim.hw_class, sim.ram_gb, sim.working_set_gb, sim.simulated) == ("M2-8GB", 8.0, 5.3, True)
    assert node_hardware(hw, {"simulated": "true", "ram_gb": "many"}).ram_gb == 24.0
    probed = hardware(ram_gb=5.5, simulated=True)  # the worker's probe pretends already, more precisely than labels
    assert node_hardware(probed, {"simulated": "true", "ram_gb": "6"}).ram_gb == 5.5


def test_node_state_probes_once_per_worker_process():
    calls = []
    state = NodeState(probe=lambda: calls.append(1) or hardware())
    assert state.hardware({"hw_class": "X"}).hw_class == "X"
    assert state.hardware({}).hw_class == "EPYC-2c-24GB"
    assert calls == [1]


def test_the_group_task_says_where_it_runs_first_then_runs_the_group_with_the_options(monkeypatch):
    import ray

    import agent.runner
    from agent.tasks import group_task

    class Context:
        def get_node_id(self):
            return "n9"

        def get_node_labels(self):
            return {"hw_class": "M2-8GB", "simulated": "true", "ram_gb": "8"}

    seen = {}

    def run_group(cells, hw, node_id, attempt, options=None):
        seen.update(hw=hw, node_id=node_id, attempt=attempt, options=options)
        yield from ("row",) * len(cells)

    monkeypatch.setattr(ray, "get_runtime_context", Context)
    monkeypatch.setattr(agent.runner, "run_group", run_group)
    probes = []
    state = NodeState(probe=lambda: probes.append(1) or hardware())
    options = RunOptions(spare_children=0)
    stream = group_task(make_cells(prompts=2), 2, options, state=state)
    assert next(stream)["node_id"] == "n9"
    assert not probes  # the marker goes out before the probe
    assert list(stream) == ["row", "row"]
    assert (seen["node_id"], seen["attempt"], seen["options"]) == ("n9", 2, options)
    assert (seen["hw"].hw_class, seen["hw"].ram_gb, seen["hw"].simulated) == ("M2-8GB", 8.0, True)
    list(group_task(make_cells(prompts=1), 1, None, state=state))
    assert seen["options"] == RunOptions() and probes == [1]


# --- the run's options: manifest and resume -------------------------------------------------------------------------------


def test_the_manifest_holds_the_options_and_resume_reads_them_back(tmp_path, monkeypatch):
    from grid.core.suite import load_suite
    from grid.driver import scheduler

    options = RunOptions(class_wait_s=7, spare_children=2)
    manifest = scheduler._manifest(load_suite("smoke"), "r1", [("A", "")], "", False, options)
    assert manifest["options"] == options.to_dict()
    store.write_manifest(tmp_path, "r1", manifest)
    seen = {}
    monkeypatch.setattr(scheduler, "run_suite", lambda *a, **kw: seen.update(kw))
    scheduler.resume_run(tmp_path, "r1")
    assert seen["options"] == options and seen["targets"] == [("A", "")]
    scheduler.resume_run(tmp_path, "r1", options=RunOptions(class_wait_s=1))
    assert seen["options"] == RunOptions(class_wait_s=1)
    old = {k: v for k, v in manifest.items() if k != "options"}  # a run from before options were recorded
    store.write_manifest(tmp_path, "r2", {**old, "run_id": "r2"})
    scheduler.resume_run(tmp_path, "r2")
    assert seen["options"] == RunOptions()


def test_class_wait_keyword_still_overrides_the_options():
    from grid.driver.scheduler import _with_class_wait

    assert _with_class_wait(None, None) == RunOptions()
    assert _with_class_wait(RunOptions(spare_children=0), 3).class_wait_s == 3.0
    assert _with_class_wait(RunOptions(class_wait_s=9), None).class_wait_s == 9.0
