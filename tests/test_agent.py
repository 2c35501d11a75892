"""The agent's isolation without Ray: every outcome of a child process becomes a row, and the parent goes on."""

import pytest

from agent.hardware import probe
from agent.runner import run_group
from grid.core.plan import group_cells, plan_cells
from grid.core.suite import parse_suite

pytestmark = pytest.mark.slow


def rows_for(suite_dict, grid_cache):
    suite = parse_suite(suite_dict, "test.yaml")
    cells = plan_cells(suite, "agent-test", [("EPYC-2c-24GB", "")])
    hw = probe(device_info=False)
    return [row for group in group_cells(cells) for row in run_group(group, hw)]


def test_hang_becomes_timeout_row_and_the_next_model_still_runs(grid_cache):
    rows = rows_for(
        {
            "models": [
                {"id": "twin-broken:hang", "timeout_s": 8},  # model code that never returns
                "twin:smolvlm",
            ],
            "generation": {"max_tokens": 4, "trials": 1, "warmup_runs": 0},
        },
        grid_cache,
    )
    by_model = {r.model: r for r in rows}
    timed_out = by_model["twin-broken:hang"]
    assert timed_out.status == "timeout" and timed_out.error_class == "Timeout"
    assert "exceeded" in timed_out.error_message
    assert by_model["twin:smolvlm"].status == "ok" and by_model["twin:smolvlm"].decode_tps > 0


def test_unreachable_hub_model_is_a_failed_row_with_a_clear_class(grid_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (row,) = rows_for(
        {"models": ["mlx-community/SmolVLM2-2.2B-Instruct-mlx"], "generation": {"max_tokens": 4, "trials": 1}},
        grid_cache,
    )
    assert row.status == "failed"
    assert (row.error_class, row.error_package) == ("No Network", "huggingface-hub")
    assert row.load_s is None and row.download_s is None  # no timer ran for a model that never arrived
    assert "prefetch" in row.error_fix


def test_one_child_serves_every_prompt_of_a_model(grid_cache):
    rows = rows_for(
        {
            "models": ["twin:gemma3"],
            "prompts": [{"id": "a", "text": "Describe this image."}, {"id": "b", "text": "What colours are there?"}],
            "generation": {"max_tokens": 6, "trials": 2, "warmup_runs": 1, "exact_tokens": True},
        },
        grid_cache,
    )
    assert [r.prompt_id for r in rows] == ["a", "b"]
    assert all(r.status == "ok" and r.trial_generation_tokens == [6, 6] for r in rows)
    assert rows[0].load_s == rows[1].load_s  # loaded once, shared by the group's cells
