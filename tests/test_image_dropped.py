"""A VLM that ran text-only is flagged, not counted as a clean ok: when a model's processor fails to load, mlx-vlm's
AutoProcessor patch falls back to the bare tokenizer and the image is dropped without a word (found by the moondream2
and phi4_siglip twins, agent.twins.registry.IMAGE_DROPPED). The row carries `image-dropped`, and reports keep that flag
for random-weight twins, whose text flags are noise."""

from __future__ import annotations

import numpy as np
import pytest
from sample_data import write_root
from test_protocol import cell, trial

from aggregator import build_report, open_results
from grid.core import rows
from grid.core.measurements import CellTrials, image_inputs
from grid.core.quality import IMAGE_DROPPED
from grid.core.schema import ResultRow
from grid.core.status import Status


def test_image_inputs_are_any_processor_output_beyond_a_tokenizers():
    text = {"input_ids": np.zeros((1, 8)), "attention_mask": np.ones((1, 8))}
    assert image_inputs(text, None) is None  # no image asked for: nothing to drop
    assert image_inputs(text, "chart.png") is False  # what a bare tokenizer returns for an image prompt
    assert image_inputs(text | {"pixel_values": np.zeros((1, 3, 4, 4))}, "chart.png") is True
    assert image_inputs(text | {"pixel_values": None, "image_grid_thw": [[1, 2, 2]]}, "chart.png") is True
    assert image_inputs(text | {"pixel_values": None}, "chart.png") is False


def test_a_row_whose_trials_dropped_the_image_is_flagged():
    dropped = CellTrials(cold=None, trials=(trial(image_inputs=False), trial(image_inputs=False)))
    kept = CellTrials(cold=None, trials=(trial(image_inputs=True),))
    no_image = CellTrials(cold=None, trials=(trial(),))
    assert IMAGE_DROPPED in rows.measured(dropped, cell(), None, None)["quality_flags"]
    assert IMAGE_DROPPED not in rows.measured(kept, cell(), None, None)["quality_flags"]
    assert IMAGE_DROPPED not in rows.measured(no_image, cell(), None, None)["quality_flags"]


def _row(model: str, flags: list[str], i: int) -> ResultRow:
    return ResultRow("r1", f"c{i}", model, "M4-Max", Status.OK.value, prompt_id="p", image_id="i", decode_tps=50.0,
                     quality_flags=flags, output_text="x", started_at="2026-12-07T00:00:00")  # fmt: skip


def test_reports_keep_a_twins_dropped_image_and_drop_its_text_flags(tmp_path):
    write_root(tmp_path, [
        _row("twin:phi4_siglip", ["verbose(400)", IMAGE_DROPPED, "load-fallback(no preprocessor_config.json)"], 1),
        _row("twin:smolvlm", ["repetition(x9)"], 2),  # random weights: noise, not reported
        _row("org/real-vlm", ["verbose(400)", IMAGE_DROPPED], 3),
    ])  # fmt: skip
    ds = open_results(tmp_path, None)
    try:
        report = build_report(ds)
    finally:
        ds.close()
    from aggregator.render.fmt import status_text

    matrix = {g.model: status_text(g) for g in report.perf.groups}
    assert matrix["twin:phi4_siglip"] == "✅ ok — image dropped" and matrix["twin:smolvlm"] == "✅ ok"
    kinds = {q.model: set(q.kinds) for q in report.quality}
    assert kinds == {
        "twin:phi4_siglip": {IMAGE_DROPPED, "load-fallback"},
        "org/real-vlm": {"verbose", IMAGE_DROPPED},
    }


@pytest.mark.slow
def test_a_twin_whose_processor_falls_back_runs_text_only_and_says_so(grid_cache):
    from agent.hardware import probe
    from agent.runner import run_group
    from grid.core.plan import group_cells, plan_cells
    from grid.core.suite import parse_suite

    suite = parse_suite(
        {"models": ["twin:phi4_siglip", "twin:smolvlm"], "generation": {"max_tokens": 3, "trials": 1}}, "t.yaml"
    )
    hw = probe(device_info=False)
    got = {r.model: r for g in group_cells(plan_cells(suite, "img", [("cpu", "")])) for r in run_group(g, hw)}
    assert got["twin:phi4_siglip"].status == "ok" and IMAGE_DROPPED in got["twin:phi4_siglip"].quality_flags
    assert got["twin:smolvlm"].status == "ok" and IMAGE_DROPPED not in got["twin:smolvlm"].quality_flags
