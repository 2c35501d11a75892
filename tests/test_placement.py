"""Placement decisions on the driver (no Ray needed): class limits from node labels, memory-fit skips with both
numbers, longest-predicted-first order, rows the driver writes itself."""

from __future__ import annotations

from grid.core.plan import group_cells, plan_cells
from grid.core.suite import parse_suite
from grid.driver import memory, placement

SUITE = parse_suite(
    {
        "name": "p",
        "models": ["twin:qwen2_vl", "big/model", "small/model"],
        "generation": {"max_tokens": 100, "trials": 2},
    },
    "test",
)


def node(cls, ram, ws=None, alive=True, role="grid-node"):
    labels = {"role": role, "hw_class": cls, "ram_gb": str(ram)}
    if ws:
        labels["working_set_gb"] = str(ws)
    return {"Alive": alive, "Labels": labels, "NodeID": f"{cls}-{ram}-{ws}"}


def test_class_limit_is_the_tightest_live_node_and_ignores_head_and_dead_nodes():
    limits = placement.class_limits(
        [
            node("M4-Max", 128, 96.0),
            node("M4-Max", 64, 48.0),
            node("M4-Max", 8, alive=False),
            node("M2", 8),
            {"Alive": True, "Labels": {"role": "grid-head"}, "NodeID": "h"},
        ]
    )
    assert set(limits) == {"M4-Max", "M2"}
    assert (limits["M4-Max"].ram_gb, limits["M4-Max"].working_set_gb, limits["M4-Max"].nodes) == (64, 48.0, 2)
    assert limits["M4-Max"].limit_gb == 48.0
    assert limits["M2"].limit_gb == 6.0  # no working set reported: 0.75 x RAM


def test_fit_check_skips_with_both_numbers_and_places_the_unknown():
    cells = plan_cells(SUITE, "run", [("M4-Max", ""), ("M2", "")])
    limits = placement.class_limits([node("M4-Max", 128, 96.0), node("M2", 8)])
    big = memory.MemoryEstimate(
        weight_bytes=16 * memory.GB, kv_bytes=memory.GB, activation_bytes=memory.GB, weights_from="config"
    )
    estimates = {
        "twin:qwen2_vl": None,
        "big/model": big,
        "small/model": memory.MemoryEstimate(memory.GB, 0, 0, "safetensors"),
    }
    place, skipped = placement.fit_check(cells, limits, estimates)
    assert [(r.model, r.hw_class) for r in skipped] == [("big/model", "M2")]
    (row,) = skipped
    assert (row.status, row.error_class, row.predicted_memory_gb, row.memory_limit_gb) == (
        "skipped",
        "Memory Fit",
        18.0,
        6.0,
    )
    assert "18.00 GB" in row.error_message and "6.00 GB" in row.error_message and row.weight_bytes == 16 * memory.GB
    assert len(place) == 5  # unknown size (twin here) is placed, never blocked


def test_longest_predicted_group_goes_first():
    cells = plan_cells(SUITE, "run", [("M4-Max", "")])
    estimates = {
        "twin:qwen2_vl": None,
        "big/model": memory.MemoryEstimate(10 * memory.GB, 0, 0, "config"),
        "small/model": memory.MemoryEstimate(memory.GB, 0, 0, "config"),
    }
    order = [g[0].model.id for g in placement.longest_first(group_cells(cells), estimates)]
    assert order == ["big/model", "small/model", "twin:qwen2_vl"]


def test_driver_rows_carry_the_cell_identity_and_may_name_the_node():
    (cell,) = plan_cells(SUITE, "run", [("M2", "")])[:1]
    lost = placement.grid_row(cell, "node_lost", "Node Lost", "died", "resume", attempt=2, node_id="abc")
    assert (lost.cell_id, lost.run_id, lost.hw_class, lost.node_id, lost.attempt) == (
        cell.cell_id,
        "run",
        "M2",
        "abc",
        2,
    )
    skipped = placement.grid_row(cell, "skipped", "No Node", "none", "join one")
    assert skipped.node_id == "" and skipped.max_tokens == 100 and skipped.trials == 2
