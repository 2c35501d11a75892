"""compare_runs on a constructed regression: run b is the seed run with one model 20% slower, one 20% faster, one 2%
slower (inside the noise floor), one newly failing, one fixed, one using more memory, and newer mlx-vlm/transformers."""

from __future__ import annotations

import json

import pytest
from sample_data import VERSIONS, seed_rows, write_root

from aggregator import ReportError
from aggregator.compare import compare_runs
from aggregator.render.compare import comparison_markdown
from grid.core.schema import ResultRow

SLOW, FAST, NOISE = "qnguyen3/nanoLLaVA", "mlx-community/pixtral-12b-8bit", "HuggingFaceTB/SmolVLM-Instruct"
BROKEN, FIXED, HUNGRY = (
    "mlx-community/gemma-3n-E4B-it-bf16",
    "mlx-community/deepseek-vl2-8bit",
    "mlx-community/GLM-4.6V-Flash-6bit",
)
M4 = "M4-Max-40c-128GB"


def run_b_rows() -> list[ResultRow]:
    versions = dict(VERSIONS, mlx_vlm_version="0.3.11", transformers_version="5.0.0")
    rows = seed_rows(run_id="b", versions=versions, speed={SLOW: 0.8, FAST: 1.2, NOISE: 0.98})
    out = []
    for r in rows:
        if r.model == BROKEN and r.hw_class == M4:
            r = ResultRow(
                **{
                    **r.to_dict(),
                    "status": "failed",
                    "decode_tps": None,
                    "trial_decode_tps": [],
                    "peak_memory_gb": None,
                    "trial_peak_memory_gb": [],
                    "error_class": "API Mismatch",
                    "error_package": "mlx-vlm",
                    "error_message": "TypeError: generate() got an unexpected keyword argument 'temp'",
                }
            )
        elif r.model == FIXED and r.hw_class == M4:
            r = ResultRow(
                **{
                    **r.to_dict(),
                    "status": "ok",
                    "error_class": None,
                    "error_package": None,
                    "error_message": None,
                    "decode_tps": 20.0,
                    "trial_decode_tps": [19.8, 20.0, 20.3],
                }
            )
        elif r.model == HUNGRY and r.hw_class == M4:
            r = r.replace(peak_memory_gb=16.0, trial_peak_memory_gb=[16.0, 16.0, 16.1])
        out.append(r)
    return out


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_root(root, seed_rows(run_id="a"))
    write_root(root, run_b_rows())
    return root


@pytest.fixture(scope="module")
def comparison(root):
    return compare_runs(root, "a", "b")


def test_matching_and_counts(comparison):
    assert comparison.matched == 108 and comparison.only_a == 0 and comparison.only_b == 0


def test_newly_failing_and_fixed(comparison):
    assert [(c.model, c.hw_class, c.status_a, c.status_b, c.error_class) for c in comparison.newly_failing] == [
        (BROKEN, M4, "ok", "failed", "API Mismatch")
    ]
    assert [(c.model, c.hw_class, c.status_b) for c in comparison.fixed] == [(FIXED, M4, "ok")]
    assert comparison.fixed[0].error_class == "Type Cast Error"  # what it used to fail with


def test_speed_regressions_and_improvements_beyond_noise(comparison):
    regressed = {(m.model, m.hw_class, m.metric) for m in comparison.regressions}
    improved = {(m.model, m.hw_class, m.metric) for m in comparison.improvements}
    for hw in ("M2-Pro-19c-32GB", "M3-Max-30c-96GB", M4):
        assert (SLOW, hw, "decode_tps") in regressed and (FAST, hw, "decode_tps") in improved
        assert (NOISE, hw, "decode_tps") not in regressed | improved  # 2% < the 5% floor
    assert (HUNGRY, M4, "peak_memory_gb") in regressed
    assert len(comparison.regressions) == 4 and len(comparison.improvements) == 3
    slow = next(m for m in comparison.regressions if m.model == SLOW and m.hw_class == M4)
    assert slow.a == pytest.approx(100.0) and slow.b == pytest.approx(80.0)
    assert slow.relative_change == pytest.approx(-0.2) and slow.trials_a == 3
    # threshold = max(3 × √(s_a² + s_b²), 5% × 100), s = 1.4826 × MAD: MAD(98, 100, 103) = 2, MAD(78.4, 80, 82.4) = 1.6
    assert slow.threshold == pytest.approx(3 * ((1.4826 * 2.0) ** 2 + (1.4826 * 1.6) ** 2) ** 0.5)


def test_noise_threshold_is_configurable(root):
    strict = compare_runs(root, "a", "b", k=0.0, min_relative=0.01)
    assert any(m.model == NOISE for m in strict.regressions)  # with no noise allowance the 2% drop shows
    lax = compare_runs(root, "a", "b", min_relative=0.5)
    assert not lax.regressions and not lax.improvements


def test_version_changes(comparison):
    assert {(v.package, tuple(v.a), tuple(v.b)) for v in comparison.version_changes} == {
        ("mlx-vlm", ("0.3.10",), ("0.3.11",)),
        ("transformers", ("5.0.0rc3",), ("5.0.0",)),
    }


def test_markdown_and_json(comparison):
    md = comparison_markdown(comparison)
    assert "# grid compare: `a` → `b`" in md and "| mlx-vlm | 0.3.10 | 0.3.11 |" in md
    assert "## Newly failing (1)" in md and "## Regressions (4)" in md and "100 → 80" in md and "-20.0%" in md
    assert "Noise rule:" in md
    data = json.loads(comparison.to_json())
    assert data["totals"] == {"newly_failing": 1, "fixed": 1, "regressions": 4, "improvements": 3}
    assert data["regressions"][0]["relative_change"] is not None


def test_same_run_twice_and_unknown_run(root):
    with pytest.raises(ReportError, match="two different runs"):
        compare_runs(root, "a", "a")
    with pytest.raises(ReportError, match="run zz not found"):
        compare_runs(root, "a", "zz")
