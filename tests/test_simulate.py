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
