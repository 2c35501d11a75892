"""The real dispatch loop at scale against a simulated Ray (grid/driver/simulate.py): 10,000 cells on 200 nodes in 8
classes, with node deaths (raised and hung) and joins, on a simulated clock. Correctness only; the speed is printed
(and measured by bench/simulate.py)."""

from __future__ import annotations

from grid.core.plan import group_cells
from grid.driver import simulate

CLASSES = simulate.CLASSES
scenario = simulate.scenario


def test_ten_thousand_cells_on_two_hundred_nodes_with_deaths_and_joins_each_end_once(tmp_path):
    cells, nodes, duration, events = scenario()
    assert len(cells) == 10_000 and len(nodes) == 200
    groups = group_cells(cells)
    result = simulate.run_simulation(cells, groups, nodes, duration, events, results_root=tmp_path)
    # every cell terminal, none twice (the writer refuses a second row for a cell)
    assert result.rows == result.cells == 10_000
    assert result.statuses.get("ok", 0) + result.statuses.get("node_lost", 0) == 10_000
    assert result.submitted > len(groups)  # deaths caused fail-overs
    print(
        f"\n{result.decisions} decisions in {result.wall_s:.2f} s: {result.decisions_per_s:,.0f}/s; "
        f"makespan {result.makespan_s:.0f} s simulated, ideal {result.ideal_s:.0f} s, statuses {result.statuses}"
    )


def test_without_deaths_the_makespan_is_near_the_ideal_and_every_cell_ok(tmp_path):
    cells, nodes, duration, _ = scenario(models=40, prompts=5, per_class=4)
    from grid.driver import predict

    groups = group_cells(cells)
    known = {(g[0].model.id, g[0].hw_class): (sum(duration(c, 1) for c in g), "history") for g in groups}
    ordered = predict.longest_predicted_first(groups, known)
    result = simulate.run_simulation(cells, ordered, nodes, duration, results_root=tmp_path)
    assert result.statuses == {"ok": len(cells)}
    assert result.makespan_s <= 1.10 * result.ideal_s + 2


def _one_class_cells(models: int):
    """`models` one-cell groups on one class (the scenario's planning, copied per model)."""
    import dataclasses

    from grid.core.plan import plan_cells
    from grid.core.suite import parse_suite

    suite = parse_suite({"name": "sim", "models": ["org/m0"], "prompts": [{"id": "p", "text": "say"}]}, "test")
    (seed_cell,) = plan_cells(suite, "sim", [("C", "")])
    return [
        dataclasses.replace(seed_cell, model=dataclasses.replace(seed_cell.model, id=f"org/m{m}"), cell_id=f"C-{m}")
        for m in range(models)
    ]


def test_a_retry_goes_ahead_of_shorter_queued_work_not_to_the_back(tmp_path):
    """One long group (100 s) and 20 short ones (10 s) on 3 nodes of a class; the long group's node dies at 50 s.
    Queued at the back (Ray's FIFO), the retry starts only after every short group: makespan ~200 s. Ordered by its
    predicted time left, it starts at the next free slot (~60 s) and the run ends ~160 s."""
    cells = _one_class_cells(21)
    duration = lambda cell, attempt: 100.0 if cell.model.id == "org/m0" else 10.0  # noqa: E731
    nodes = {"C-n0": "C", "C-n1": "C", "C-n2": "C"}  # the long group, first in line, starts on C-n0
    groups = group_cells(cells)
    assert groups[0][0].model.id == "org/m0"
    predicted = {(g[0].model.id, "C"): duration(g[0], 1) for g in groups}
    result = simulate.run_simulation(
        cells, groups, nodes, duration, [(50.0, "die", "C-n0", "")], results_root=tmp_path, predicted=predicted
    )
    assert result.statuses == {"ok": 21}
    assert result.submitted == 22  # the 21 groups and the one retry
    assert result.makespan_s < 175, result.makespan_s


def test_groups_held_for_a_class_with_no_node_are_given_up_together_after_one_class_wait(tmp_path):
    """grid's queue sends one group of a node-less class to Ray; when its class wait ends, the ones held behind it
    are skipped with it (one wait in all, not one after another)."""
    import dataclasses

    cells = [dataclasses.replace(c, hw_class="D") for c in _one_class_cells(5)] + _one_class_cells(1)
    cells[-1] = dataclasses.replace(cells[-1], cell_id="C-only")
    result = simulate.run_simulation(
        cells, group_cells(cells), {"C-n0": "C"}, lambda c, a: 10.0, results_root=tmp_path, class_wait_s=30.0
    )
    assert result.statuses == {"skipped": 5, "ok": 1}
    assert result.submitted == 2  # one group of D reached Ray, the other four waited in grid's queue
    assert result.makespan_s < 2 * 30.0
