"""Real twins through the real agent (runner -> spawned child -> adapter -> mlx-vlm): the stage timings account for each
trial's wall time, and exact-token mode decodes exactly N tokens on a twin that would otherwise stop at EOS.

Consistency checks with a stated tolerance (grid.core.methodology.STAGE_SUM_*), never speed assertions.
"""

import json
import shutil

import pytest

from agent.child import FetchRequest, LoadRequest, RunRequest
from agent.hardware import probe
from agent.images import image_path
from agent.runner import ChildProcess, run_group
from agent.twins import materialize
from grid.core import methodology
from grid.core.measurements import ChildError
from grid.core.plan import group_cells, plan_cells
from grid.core.suite import parse_suite

pytestmark = pytest.mark.slow

PROMPT = {"id": "describe", "text": "Describe this image in one sentence."}


def rows_for(suite_dict):
    suite = parse_suite({"prompts": [PROMPT], "images": [{"id": "chart", "builtin": "chart"}], **suite_dict}, "t.yaml")
    cells = plan_cells(suite, "stages-test", [("test-class", "")])
    hw = probe(device_info=False)
    return [row for group in group_cells(cells) for row in run_group(group, hw)]


def trials_of(row) -> list[dict]:
    return [{k: getattr(row, f"trial_{k}")[i] for k in methodology.TRIAL_METRICS} for i in range(len(row.trial_wall_s))]


def test_stage_timings_add_up_to_each_trials_wall_time(grid_cache):
    rows = rows_for(
        {
            "models": ["twin:qwen2_vl", "twin:gemma3"],
            "generation": {"max_tokens": 24, "trials": 3, "warmup_runs": 1, "exact_tokens": True},
        }
    )
    assert [r.status for r in rows] == ["ok", "ok"], [r.error_message for r in rows]
    for row in rows:
        for trial in trials_of(row):
            gap = methodology.stage_gap_s(trial)
            assert methodology.stages_add_up(trial), (
                f"{row.model}: {gap * 1e3:.2f} ms of {trial['wall_s'] * 1e3:.1f} ms"
            )
            # time to first token is the processor, the vision tower and the prefill (first token included)
            head = trial["processor_s"] + trial["vision_s"] + trial["prefill_s"]
            assert abs(trial["ttft_s"] - head) <= max(
                methodology.STAGE_SUM_REL_TOL * trial["ttft_s"], methodology.STAGE_SUM_ABS_TOL_S
            )
            assert trial["processor_s"] > 0 and trial["vision_s"] > 0 and trial["decode_s"] > 0
        # the row carries the medians, the statistics and the physical-limit figures
        assert row.processor_s == sorted(row.trial_processor_s)[1] and len(row.trial_decode_tps) == 3
        assert row.decode_tps_min <= row.decode_tps <= row.decode_tps_max and row.decode_tps_iqr >= 0
        assert row.cold_decode_tps > 0 and row.cold_ttft_s > 0 and row.slow_first_run is not None
        assert row.bandwidth_gbps and row.bandwidth_fraction == pytest.approx(
            row.decode_weight_bytes * row.decode_tps / (row.bandwidth_gbps * 1e9)
        )


def first_token_id(model_path: str) -> int:
    """Greedy first token of PROMPT + the chart image, asked of the real child (the row does not carry token ids)."""
    child = ChildProcess()
    try:
        fetched = child.request(FetchRequest(model_path), 300)
        loaded = child.request(LoadRequest(fetched.path), 300)
        assert not isinstance(loaded, ChildError), loaded
        (cell,) = plan_cells(
            parse_suite(
                {"models": [model_path], "prompts": [PROMPT], "images": [{"id": "chart", "builtin": "chart"}]}, "t.yaml"
            ),
            "x",
            [("c", "")],
        )
        reply = child.request(
            RunRequest(
                prompt=cell.prompt.full_text,
                image=image_path(builtin="chart"),
                max_tokens=4,
                temperature=0.0,
                exact_tokens=False,
                seed=0,
                warmup_runs=0,
                trials=1,
            ),
            300,
        )
        assert not isinstance(reply, ChildError), reply
        return reply.trials[0].first_token_id
    finally:
        child.close()


def twin_that_stops_at_once(tmp_path) -> str:
    """A copy of twin:qwen2_vl whose EOS is the token it generates first: a plain generate ends after 1 token."""
    src = materialize("twin:qwen2_vl")
    token = first_token_id(str(src))
    dst = tmp_path / "qwen2_vl-eos"
    shutil.copytree(src, dst)
    for name in ("config.json", "generation_config.json"):
        path = dst / name
        if path.exists():
            config = json.loads(path.read_text())
            config["eos_token_id"] = token
            if isinstance(config.get("text_config"), dict):
                config["text_config"]["eos_token_id"] = token
            path.write_text(json.dumps(config))
    return str(dst)


def test_exact_tokens_decodes_n_tokens_on_a_twin_that_emits_eos(grid_cache, tmp_path):
    model = twin_that_stops_at_once(tmp_path)
    gen = {"max_tokens": 12, "trials": 2, "warmup_runs": 1}
    (stops,) = rows_for({"models": [model], "generation": {**gen, "exact_tokens": False}})
    assert stops.status == "ok", stops.error_message
    assert stops.trial_generation_tokens == [1, 1] and stops.finish_reason == "stop"  # EOS ends it: the premise
    (exact,) = rows_for({"models": [model], "generation": {**gen, "exact_tokens": True}})
    assert exact.status == "ok", exact.error_message
    assert exact.trial_generation_tokens == [12, 12] and exact.generation_tokens == 12
    assert exact.finish_reason == "length" and exact.exact_tokens is True
