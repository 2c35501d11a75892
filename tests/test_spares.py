"""Spare children sized per group (grid.driver.spares): from the class's measured child start-up and the predicted
time of what is queued behind the group. The dispatch loop runs against test_dispatch's scripted fake of Ray."""

from __future__ import annotations

import dataclasses

import pytest
from test_dispatch import ROW, FakeCalls, Marker, make_cells

from grid.core.options import RunOptions
from grid.core.plan import group_cells
from grid.driver import predict
from grid.driver.dispatch import Execution
from grid.driver.spares import MAX_AUTO_SPARES, MIN_SPARES, StartupTimes, spares_for


@pytest.mark.parametrize(
    ("start_s", "queued", "expected"),
    [
        (5.0, [], MIN_SPARES),  # the class's last group: one stays warm for the next run on the node
        (None, [10.0, 10.0], MIN_SPARES),  # start-up never measured on this class
        (5.0, [None, None], MIN_SPARES),  # nothing known of what follows
        (2.0, [30.0, 30.0, 30.0], 1),  # a child is ready long before the group beside it ends
        (13.0, [2.0, 2.0, 2.0, 3.0, 2.0, 2.0, 2.0], MAX_AUTO_SPARES),  # the H200 box's 12-16 s vs 2 s: capped
        (5.0, [2.0, 2.0, 2.0], 3),  # ceil(5 / 2)
        (5.0, [2.0], 1),  # never more spares than groups that could use them
        (4.0, [2.0, None, 8.0], 1),  # median of the known: 5 s
    ],
)
def test_spares_cover_the_start_up_with_the_groups_queued_behind(start_s, queued, expected):
    assert spares_for(start_s, queued) == expected


def test_spares_import_side_by_side_only_where_the_node_has_cores_for_them():
    slow_start, short_groups = 13.0, [2.0] * 6  # would want 7 spares
    assert spares_for(slow_start, short_groups, cores=2) == 1  # 2-core node: 3 spares measured slower, no faster run
    assert spares_for(slow_start, short_groups, cores=4) == 2
    assert spares_for(slow_start, short_groups, cores=16) == MAX_AUTO_SPARES
    assert spares_for(slow_start, short_groups, cores=None) == MAX_AUTO_SPARES  # a head that does not say
    assert spares_for(slow_start, [], cores=16) == MIN_SPARES


def test_this_runs_start_up_wins_over_the_history_once_measured():
    times = StartupTimes({"A": 20.0})
    assert times.get("A") == 20.0 and times.get("B") is None
    times.add("A", None)  # a row whose child never started (skipped, node_lost)
    assert times.get("A") == 20.0
    for s in (1.0, 3.0, 2.0):
        times.add("A", s)
    assert times.get("A") == 2.0


class StartupCalls(FakeCalls):
    """The fake's rows carry a measured child start-up."""

    def __init__(self, *args, child_start_s: float, **kw):
        super().__init__(*args, **kw)
        self.child_start_s = child_start_s

    def take(self, task):
        item = super().take(task)
        return item if isinstance(item, dict) else dataclasses.replace(item, child_start_s=self.child_start_s)


def three_models(n: int = 3):
    models = ("twin:qwen2_vl", "twin:smolvlm", "twin:gemma3", "twin:paligemma")[:n]
    return group_cells(make_cells(models=models, prompts=1))


def script(group, attempt):
    return [Marker("n1"), *[ROW] * len(group)]


def test_each_group_is_sent_with_spares_sized_from_history_and_the_queue_behind_it(tmp_path):
    groups = three_models()
    predicted = {(g[0].model.id, "A"): 2.0 for g in groups}
    fake = FakeCalls(script, {"n1": "A"})
    ex = Execution(tmp_path, "run-d", None, RunOptions(), {}, calls=fake, clock=fake.clock, predicted=predicted,
                   startup={"A": 6.0})  # fmt: skip
    ex.run(groups)
    # one node: 2 groups queued behind the first (ceil(6 / 2) = 3, at most 2 can use one), then 1, then the minimum
    assert [t.options.spare_children for t in fake.tasks] == [2, 1, 1]
    assert [g["spare_children"] for g in ex.group_times] == [2, 1, 1]
    assert all(dataclasses.replace(t.options, spare_children=None) == RunOptions() for t in fake.tasks)


def test_start_up_measured_in_this_run_resizes_the_next_groups(tmp_path):
    groups = three_models(4)
    predicted = {(g[0].model.id, "A"): 2.0 for g in groups}
    fake = StartupCalls(script, {"n1": "A"}, child_start_s=0.5)
    ex = Execution(tmp_path, "run-d", None, RunOptions(), {}, calls=fake, clock=fake.clock, predicted=predicted,
                   startup={"A": 60.0})  # fmt: skip
    rows = ex.run(groups)
    # the history's 60 s sizes the first group (3 queued behind it); its row measured 0.5 s, which sizes the rest
    assert [t.options.spare_children for t in fake.tasks] == [3, 1, 1, 1]
    assert {r.child_start_s for r in rows} == {0.5}


def test_the_smallest_live_node_of_a_class_caps_its_spares(tmp_path):
    groups = three_models(4)
    predicted = {(g[0].model.id, "A"): 2.0 for g in groups}
    fake = FakeCalls(script, {"n1": "A", "n2": "A"})
    fake.table["n1"]["Resources"] = {"CPU": 16.0}
    fake.table["n2"]["Resources"] = {"CPU": 4.0}
    ex = Execution(tmp_path, "run-d", None, RunOptions(), {}, calls=fake, clock=fake.clock, predicted=predicted,
                   startup={"A": 60.0})  # fmt: skip
    ex.run(groups)
    assert ex.cores == {"A": 4.0}
    # two nodes take the first two groups (3 and 2 queued behind them): 3 and 2 spares uncapped, 4 // 2 = 2 at most
    assert [t.options.spare_children for t in fake.tasks][:2] == [2, 2]


def test_a_spare_count_the_user_set_is_never_resized(tmp_path):
    fake = FakeCalls(script, {"n1": "A"})
    options = RunOptions(spare_children=2)
    ex = Execution(tmp_path, "run-d", None, options, {}, calls=fake, clock=fake.clock, startup={"A": 60.0})
    ex.run(three_models())
    assert [t.options for t in fake.tasks] == [options] * 3
    assert options.spares() == 2 and RunOptions().spares() == 1 and RunOptions(spare_children=-3).spares() == 0


def test_the_history_keeps_each_classs_median_child_start_up_failed_cells_included():
    base = dict(model="m", max_tokens=8, trials=1, warmup_runs=0, exact_tokens=False, wall_s=1.0, load_s=0.1)
    rows = [
        base | dict(hw_class="A", status="ok", child_start_s=2.0),
        base | dict(hw_class="A", status="failed", child_start_s=4.0),  # its child started all the same
        base | dict(hw_class="A", status="ok", child_start_s=9.0),
        base | dict(hw_class="B", status="skipped", child_start_s=None),  # no child
        base | dict(hw_class="C", status="ok", child_start_s=1.5),
    ]
    history = predict.History.from_rows(rows)
    assert history.start_s == {"A": 4.0, "C": 1.5}
