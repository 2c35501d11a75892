"""The hardware verdict on report objects: geomean speedups over common models, only-on-one-class lists, per-class
facts, prices; on the seed sample (exact factors) and on the committed H200-vs-CPU example (real rows)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
from sample_data import seed_rows, write_root

from aggregator.dataset import ReportError, open_results
from aggregator.model import build_report
from aggregator.synthetic import FIXTURE, REAL, REAL_SIZE, TINY, model_kind
from aggregator.verdict import bandwidth_text, geo_speedup, load_prices

EXAMPLE = Path(__file__).parent.parent / "reports" / "examples" / "h200-vs-cpu" / "results"


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    root = tmp_path_factory.mktemp("verdict")
    write_root(root, seed_rows())
    prices = root / "prices.yaml"
    prices.write_text("currency: EUR\nprices:\n  M4-Max-40c-128GB: 4000\n  M2-Pro-19c-32GB: 2000\n")
    ds = open_results(root, None)
    try:
        price_table, currency = load_prices(prices)
        yield build_report(ds, prices=price_table, currency=currency)
    finally:
        ds.close()


def test_geo_speedup():
    s = geo_speedup([2.0, 8.0])
    assert s.n == 2 and s.geomean == pytest.approx(4.0) and (s.low, s.high) == (2.0, 8.0)
    assert s.gsd == pytest.approx(math.exp(math.log(4) / math.sqrt(2)))
    assert geo_speedup([]).geomean is None


def test_reference_is_the_largest_class_and_speedups_are_exact(seed):
    v = seed.verdict
    assert v.reference == "M4-Max-40c-128GB"  # 128 GB: the most memory
    by = {c.hw_class: c for c in v.classes}
    m3, m2 = by["M3-Max-30c-96GB"], by["M2-Pro-19c-32GB"]
    assert m3.decode.geomean == pytest.approx(1 / 0.70, rel=1e-3) and m3.faster == "M4-Max-40c-128GB"
    assert m2.decode.geomean == pytest.approx(1 / 0.40, rel=1e-3)
    assert m3.decode.n == len(m3.common_models) and m2.decode.n < m3.decode.n  # skipped on the 32 GB class
    assert "M4-Max-40c-128GB = 1.43× M3-Max-30c-96GB decode" in m3.headline(v.reference)
    assert {o.other_outcome.split(" ")[0] for o in m2.only_reference} == {"skipped"}
    assert not m2.only_this


def test_reference_override_and_unknown(seed, tmp_path):
    write_root(tmp_path, seed_rows())
    ds = open_results(tmp_path, None)
    try:
        d = build_report(ds, reference_class="M2-Pro-19c-32GB")
        assert d.verdict.reference == "M2-Pro-19c-32GB"
        m4 = next(c for c in d.verdict.classes if c.hw_class == "M4-Max-40c-128GB")
        assert m4.decode.geomean == pytest.approx(0.40, rel=1e-3) and m4.faster == "M4-Max-40c-128GB"
        with pytest.raises(ReportError):
            build_report(ds, reference_class="nope")
    finally:
        ds.close()


def test_facts_and_prices(seed):
    facts = {f.hw_class: f for f in seed.verdict.facts}
    m4 = facts["M4-Max-40c-128GB"]
    assert m4.first_load_s == pytest.approx(2.0) and m4.first_ttft_s == pytest.approx(0.5)
    assert m4.bandwidth_source == "datasheet" and m4.bandwidth_fraction == pytest.approx(0.5, rel=1e-3)
    assert m4.largest_model is not None and m4.largest_gb > 0
    assert seed.verdict.currency == "EUR" and seed.verdict.price_models > 0
    ratio = m4.tps_per_1000 / facts["M2-Pro-19c-32GB"].tps_per_1000
    assert ratio == pytest.approx((1 / 4000) / (0.40 / 2000), rel=1e-3)
    assert facts["M3-Max-30c-96GB"].price is None


def test_bandwidth_text_marks_noise():
    assert bandwidth_text(0.00005) == "<0.1 % (overhead-bound)"
    assert bandwidth_text(0.01).endswith("(overhead-bound)")
    assert bandwidth_text(0.45) == "45.0 %"


def test_bad_prices(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("prices: {A: -1}\n")
    with pytest.raises(ReportError):
        load_prices(bad)


def test_model_kinds():
    assert model_kind("twin:qwen2_vl") == TINY and model_kind("twin:qwen2_vl@2b-q4") == REAL_SIZE
    assert model_kind("twin-broken:llava") == FIXTURE and model_kind("mlx-community/x") == REAL


def test_h200_vs_cpu_example_names_the_faster_class_over_common_models():
    ds = open_results(EXAMPLE, ["h200", "cpu-epyc"])
    try:
        d = build_report(ds)
    finally:
        ds.close()
    v = d.verdict
    assert v.reference == "H200-141GB"
    (cpu,) = v.classes
    assert cpu.hw_class == "EPYC-2c-24GB" and cpu.faster == "H200-141GB"
    assert len(cpu.common_models) == 6 and cpu.common_kinds == {TINY: 6}  # the real-size cells timed out on the CPU
    assert 1.0 < cpu.decode.geomean < 5.0 and cpu.decode.low >= 1.0
    only = {o.model: o.other_outcome for o in cpu.only_reference}
    assert only["twin:qwen2_vl@2b"].startswith("timeout") and only["twin:qwen2_vl@7b"] == "not run"
    facts = {f.hw_class: f for f in v.facts}
    assert facts["H200-141GB"].largest_model == "twin:qwen2_vl@7b" and facts["H200-141GB"].largest_gb > 10
    assert facts["EPYC-2c-24GB"].bandwidth_source == "measured probe"
    assert d.synthetic.has_twins and d.synthetic.banner
    assert not d.quality and not d.perf.best_balance  # random weights: no quality section, no balance ranking
    assert d.perf.summary.fastest.model.startswith("twin:qwen2_vl@")  # real-size before tiny
    assert set(d.perf.top_speed_by_kind) == {REAL_SIZE, TINY}


def test_fixture_verdicts_are_apart_from_the_success_rate(tmp_path):
    import dataclasses

    from grid.store import write_manifest

    rows = [r for r in seed_rows() if r.hw_class == "M4-Max-40c-128GB"]
    ok = next(r for r in rows if r.status == "ok")
    broken = dataclasses.replace(
        ok,
        model="twin-broken:llava",
        cell_id="fx-1",
        status="failed",
        error_class="Processor Error",
        error_package="mlx-vlm",
        decode_tps=None,
    )
    expected = dataclasses.replace(
        broken, model="twin:expected", cell_id="fx-2", status="oom", error_class="OOM", error_package="mlx"
    )
    wrong = dataclasses.replace(broken, model="twin:wrong", cell_id="fx-3", status="ok", error_class=None)
    write_root(tmp_path, rows + [broken, expected, wrong])
    suite = {
        "models": [
            {"id": "twin:expected", "expect": {"status": "oom", "error_class": "OOM"}},
            {"id": "twin:wrong", "expect": {"status": "failed"}},
        ]
    }
    write_manifest(tmp_path, "seed", {"run_id": "seed", "suite": suite})
    ds = open_results(tmp_path, None)
    try:
        d = build_report(ds)
        base = _success_rate(rows)
    finally:
        ds.close()
    syn = d.synthetic
    assert syn.verdict_line() == "fixture verdicts: 2/3 as expected"
    assert {v.model for v in syn.verdicts if not v.as_expected} == {"twin:wrong"}
    assert d.perf.summary.excluded_cells == 3
    assert d.perf.summary.success_rate == pytest.approx(base)


def _success_rate(rows) -> float:
    ran = [r for r in rows if r.status != "skipped"]
    return sum(r.status == "ok" for r in ran) / len(ran)


def test_h200_vs_cpu_example_measures_the_prediction_error_leaving_one_class_out():
    """SmolVLM-256M dims ran ok on three classes (H200 GPU, this box's CPU on 2 cores and on 1): each is predicted
    from the others and the error is printed beside every prediction, same-backend and cross-backend apart."""
    runs = ["h200", "cpu-epyc", "h200-small", "xeon-2c-small", "xeon-1c-small"]
    ds = open_results(EXAMPLE, runs)
    try:
        d = build_report(ds, reference_class="H200-141GB")
    finally:
        ds.close()
    p = d.predictions
    checks = {(c["model"], c["hw_class"]): c for c in p.loo_checks}
    assert set(checks) == {("twin:smolvlm@256m", h) for h in ("H200-141GB", "Xeon-2c-24GB", "Xeon-1c-24GB")}
    for (_, hw), c in checks.items():
        assert c["cross_backend"] == (hw == "H200-141GB")  # the GPU has no other CUDA class to learn from
        assert c["error"] == pytest.approx(abs(c["predicted_tps"] - c["measured_tps"]) / c["measured_tps"])
    cpu = [checks[("twin:smolvlm@256m", h)]["error"] for h in ("Xeon-2c-24GB", "Xeon-1c-24GB")]
    assert p.loo_n == 2 and p.loo_error == pytest.approx(statistics.median(cpu))
    assert p.loo_error < 0.5 < 1.0 < p.loo_error_cross  # a GPU from CPU efficiency errs by multiples
    assert "same backend: median" in p.error_text() and "cross-backend: median" in p.error_text()
    assert all(i.label == "predicted" for i in p.items)
