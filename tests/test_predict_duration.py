"""Group durations predicted from a recorded history (grid/driver/predict.py), the order they give, and predicted vs
actual recorded per group."""

from __future__ import annotations

import json

from grid import compact, store
from grid.core.plan import group_cells, plan_cells
from grid.core.schema import ResultRow
from grid.core.suite import parse_suite
from grid.driver import predict
from grid.driver.memory import MemoryEstimate


def plan(run_id, models=("org/a", "org/b", "org/c"), classes=("A", "B")):
    suite = parse_suite(
        {"name": "p", "models": list(models), "prompts": [{"id": f"p{i}", "text": f"say {i}"} for i in range(4)],
         "generation": {"max_tokens": 64, "trials": 3, "warmup_runs": 1}},
        "test",
    )  # fmt: skip
    return plan_cells(suite, run_id, [(c, "") for c in classes])


def record_history(root, run_id, walls: dict, load_s=2.0, compacted=False):
    """An earlier run: every cell of (model, class) took walls[(model, class)] s."""
    for c in plan(run_id):
        wall = walls.get((c.model.id, c.hw_class))
        if wall is None:
            continue
        g = c.generation
        store.write_row(root, ResultRow(run_id, c.cell_id, c.model.id, c.hw_class, "ok", wall_s=wall, load_s=load_s,
                                        max_tokens=g.max_tokens, trials=g.trials, warmup_runs=g.warmup_runs,
                                        exact_tokens=g.exact_tokens))  # fmt: skip
    if compacted:
        compact.compact_run(root, run_id)


def test_history_predicts_load_plus_cells_and_orders_longest_first(tmp_path):
    record_history(tmp_path, "old1", {("org/a", "A"): 10.0, ("org/b", "A"): 30.0, ("org/a", "B"): 5.0}, compacted=True)
    record_history(tmp_path, "old2", {("org/a", "A"): 14.0})  # median over both runs: 12 s a cell
    groups = group_cells(plan("new"))
    history = predict.History.read(tmp_path, exclude_run="new")
    estimates = {"org/c": MemoryEstimate(int(4e9), 0, 0, "test")}
    got = predict.predict_groups(groups, history, estimates, {"B": 200.0})
    assert got[("org/a", "A")] == (2.0 + 4 * 12.0, "history")
    assert got[("org/b", "A")] == (2.0 + 4 * 30.0, "history")
    assert got[("org/a", "B")] == (2.0 + 4 * 5.0, "history")
    assert got[("org/b", "B")] == (None, "unknown")  # no history, no size
    seconds, basis = got[("org/c", "B")]
    assert basis == "size"
    assert abs(seconds - (4e9 / (200e9 * 0.25) + 4 * (1 + 3) * 64 * 4e9 / 200e9)) < 1e-6
    order = [(g[0].model.id, g[0].hw_class) for g in predict.longest_predicted_first(groups, got)]
    # org/c on A: no history, size over the default bandwidth (100 GB/s): 0.16 + 4 x 40.96 s
    assert order == [("org/b", "A"), ("org/a", "A"), ("org/c", "A"), ("org/a", "B"), ("org/c", "B"), ("org/b", "B")]


def test_other_settings_are_not_history(tmp_path):
    record_history(tmp_path, "old", {("org/a", "A"): 10.0})
    suite = parse_suite({"name": "p", "models": ["org/a"], "prompts": [{"id": "p0", "text": "say 0"}],
                         "generation": {"max_tokens": 512}}, "test")  # fmt: skip
    groups = group_cells(plan_cells(suite, "new", [("A", "")]))
    got = predict.predict_groups(groups, predict.History.read(tmp_path), {}, {})
    assert got[("org/a", "A")] == (None, "unknown")


def test_a_run_records_predicted_vs_actual_per_group(tmp_path):
    from grid.core.options import RunOptions
    from grid.driver import simulate
    from grid.driver.dispatch import Execution

    groups = group_cells(plan("run"))
    calls = simulate.SimCalls({"a1": "A", "b1": "B"}, lambda cell, attempt: 3.0)
    predicted = {(g[0].model.id, g[0].hw_class): 10.0 for g in groups}
    ex = Execution(tmp_path, "run", None, RunOptions(), {}, calls=calls, clock=calls.clock, predicted=predicted)
    ex.run(groups)
    recorded = json.loads((tmp_path / "run_id=run" / predict.GROUPS_FILE).read_text())
    assert len(recorded) == len(groups)
    assert {(r["predicted_s"], r["actual_s"], r["error"]) for r in recorded} == {(10.0, 12.0, round(10 / 12 - 1, 3))}
    assert predict.error_summary(recorded)["median_abs_error"] == abs(10 / 12 - 1)
