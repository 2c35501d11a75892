"""The report model (aggregator.model.ReportData) asserted on its objects, not on rendered text: the seed report's rows
(tests/sample_data.py: 36 models on three hardware classes, with known factors) written to a results root, opened and
built once. Also the one table of formats and the aggregator's import graph (no circle, the model below the renderers).
"""

from __future__ import annotations

import statistics

import pytest
from sample_data import CLASSES, SEED, TRIAL_FACTORS, seed_rows, write_root

from aggregator import FORMATS, ReportError, build_report, open_results, write_reports
from aggregator.formats import parse_formats
from aggregator.model import ReportData
from grid.core.schema import ResultRow

M4, M3, M2 = "M4-Max-40c-128GB", "M3-Max-30c-96GB", "M2-Pro-19c-32GB"
FAILING = {model for model, _, tps, _, _ in SEED if tps is None}  # 8 models: an error class on every class


def _build(root, run_id, **kw) -> ReportData:
    ds = open_results(root, run_id)
    try:
        return build_report(ds, **kw)
    finally:
        ds.close()


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> ReportData:
    root = tmp_path_factory.mktemp("results")
    write_root(root, seed_rows())
    return _build(root, "seed")


def group(d: ReportData, model: str, hw_class: str):
    return next(g for g in d.perf.groups if g.model == model and g.hw_class == hw_class)


def test_status_counts_per_class_and_overall(seed):
    s = seed.perf.summary
    # 8 failing models × 3 classes (one of them OOM); 7 models need more than 24 GB: skipped on the 32 GB class
    assert s.status_counts == {"ok": 77, "failed": 21, "oom": 3, "skipped": 7}
    assert (s.cells, s.models, s.hw_classes, s.models_all_ok) == (108, 36, 3, 28)
    assert s.success_rate == pytest.approx(77 / 101)  # skipped cells did not run
    per_class = {c.hw_class: (c.cells, c.ok) for c in seed.perf.hardware}
    assert per_class == {M2: (36, 21), M3: (36, 28), M4: (36, 28)}
    assert [c.hw_class for c in seed.perf.hardware] == [M2, M3, M4]


def test_median_decode_speed_per_class_and_group(seed):
    m4 = next(c for c in seed.perf.hardware if c.hw_class == M4)
    assert m4.median_decode_tps == pytest.approx(statistics.median(tps for _, _, tps, _, _ in SEED if tps))
    g = group(seed, "qnguyen3/nanoLLaVA", M4)  # one ok cell: the median and IQR of its three raw trials
    assert g.decode_tps == 100.0 and g.spread_over == "trials" and g.trials == 3 and g.outliers == 1
    assert (g.decode_q1, g.decode_q3) == pytest.approx((99.0, 101.5))
    assert TRIAL_FACTORS == (0.98, 1.00, 1.03)
    assert group(seed, "qnguyen3/nanoLLaVA", M3).ratio_to_reference == pytest.approx(CLASSES[M3][4])
    assert seed.perf.reference_class == M4  # the seed's machine, an M4 Max
    assert g.status == "ok" and g.counts == {"ok": 1} and (g.total, g.ran, g.problems) == (1, 1, 0)


def test_top_speeds_fastest_and_least_memory(seed):
    top = [(g.model, g.hw_class, g.decode_tps) for g in seed.perf.top_speed[:3]]
    assert top == [
        ("mlx-community/LFM2-VL-1.6B-8bit", M4, 316.8),
        ("mlx-community/LFM2-VL-1.6B-8bit", M3, pytest.approx(316.8 * 0.7)),
        ("mlx-community/LFM2.5-VL-1.6B-bf16", M4, 196.6),
    ]
    assert len(seed.perf.top_speed) == 10
    s = seed.perf.summary
    assert (s.fastest.model, s.fastest.hw_class) == ("mlx-community/LFM2-VL-1.6B-8bit", M4)
    assert (s.least_memory.model, s.least_memory.peak_memory_gb) == ("mlx-community/LFM2.5-VL-1.6B-bf16", 4.4)
    best, score = seed.perf.best_balance[0]  # every cell ok, no flag; tok/s per GB of peak memory
    assert (best.model, best.hw_class, score) == ("mlx-community/LFM2.5-VL-1.6B-bf16", M4, pytest.approx(196.6 / 4.4))
    assert all(not g.flagged_rows and not g.problems for g, _ in seed.perf.best_balance)


def test_error_groups_with_their_package_and_class(seed):
    by_cause = {(e.error_class, e.package): e for e in seed.errors}
    assert set(by_cause) == {
        ("Lib Version", "model files"),
        ("Config Missing", "model files"),
        ("Model Error", "mlx-vlm"),
        ("Processor Error", "mlx-vlm"),
        ("OOM", "mlx"),
        ("Type Cast Error", "mlx"),
        ("Weight Mismatch", "mlx"),
    }
    first = seed.errors[0]  # most models affected first: the two Kimi-VL models
    assert (first.error_class, first.package, first.cells, first.statuses) == (
        "Lib Version",
        "model files",
        6,
        ["failed"],
    )
    assert [m.model for m in first.models] == [
        "mlx-community/Kimi-VL-A3B-Thinking-2506-bf16",
        "mlx-community/Kimi-VL-A3B-Thinking-8bit",
    ]
    assert first.per_class == {M2: 2, M3: 2, M4: 2} and first.severity == "high" and first.tag == "BUG"
    oom = by_cause[("OOM", "mlx")]
    assert oom.statuses == ["oom"] and oom.tag == "OOM" and oom.fix == "Downscale large images before encoding"
    assert {m.model for e in seed.errors for m in e.models} == FAILING
    assert all(m.unusable for e in seed.errors for m in e.models)  # no ok cell anywhere
    assert seed.tracebacks.total == 8 and {t.model for t in seed.tracebacks.items} == FAILING


def test_quality_issues_keep_the_largest_figure(seed):
    by_model = {q.model: q for q in seed.quality}
    qwen = by_model["Qwen/Qwen3-VL-2B-Instruct"]
    assert qwen.kinds == {"bullets": (3, "22"), "verbose": (3, "452")}
    assert (qwen.flagged_cells, qwen.ok_cells, qwen.hw_classes) == (3, 3, [M2, M3, M4])
    assert by_model["microsoft/Phi-3.5-vision-instruct"].kinds == {
        "hallucination": (3, None),
        "language-mixing": (3, "Han"),
    }
    gemma = by_model["mlx-community/gemma-3-27b-it-qat-8bit"]  # 34 GB: skipped on the 32 GB class
    assert gemma.kinds == {"bullets": (2, "26")} and gemma.hw_classes == [M3, M4]
    assert group(seed, "mlx-community/pixtral-12b-8bit", M4).flagged_rows == 1
    assert seed.quality[0].flagged_cells >= seed.quality[-1].flagged_cells
    assert seed.thresholds is None


def test_recomputed_quality_with_thresholds(tmp_path):
    write_root(tmp_path, seed_rows())
    d = _build(tmp_path, "seed", thresholds={"verbose_tokens": 150})
    by_model = {q.model: q for q in d.quality}
    assert by_model["qnguyen3/nanoLLaVA"].kinds["verbose"] == (3, "200")  # 200 generated tokens > 150
    assert by_model["mlx-community/paligemma2-3b-pt-896-4bit"].kinds == {
        "context-ignored": (3, None),  # kept as the agent recorded it: it needs the prompt's context
        "verbose": (3, "200"),
    }
    assert d.thresholds == {"verbose_tokens": 150}


def test_test_matrix_picks_one_model_per_architecture(seed):
    picks = {p.arch: p for p in seed.perf.test_matrix}
    assert picks["idefics3"].model == "HuggingFaceTB/SmolVLM-Instruct"  # both SmolVLMs clean; bf16 is flagged
    assert picks["lfm2_vl"].model == "mlx-community/LFM2.5-VL-1.6B-bf16"  # the 8-bit one is skipped on 32 GB
    assert "florence2" not in picks and "kimi_vl" not in picks  # no model of theirs was ok
    assert list(picks) == sorted(picks)


def test_results_table_and_limits(tmp_path):
    write_root(tmp_path, seed_rows())
    d = _build(tmp_path, "seed", max_table_rows=5, max_tracebacks=2)
    assert len(d.table.rows) == 5 and d.table.total == 108
    assert d.table.rows[0]["model"] == "HuggingFaceTB/SmolVLM-Instruct" and d.table.rows[0]["error_class"] is None
    assert len(d.tracebacks.items) == 2 and d.tracebacks.total == 8
    assert d.limits == {"max_table_rows": 5, "max_tracebacks": 2}
    assert d.title == "MLX VLM Model Compatibility Report — 2026-01-16"


def test_a_group_of_mixed_cells_is_partial_with_its_dominant_problem(tmp_path):
    statuses = ["ok", "timeout", "timeout", "crashed", "skipped"]
    rows = [
        ResultRow(run_id="p", cell_id=f"c{i}", model="m", hw_class="H", status=s, prompt_id=f"p{i}", decode_tps=10.0)
        if s == "ok"
        else ResultRow(run_id="p", cell_id=f"c{i}", model="m", hw_class="H", status=s, prompt_id=f"p{i}")
        for i, s in enumerate(statuses)
    ]
    write_root(tmp_path, rows)
    d = _build(tmp_path, "p")
    g = group(d, "m", "H")
    assert g.counts == {"ok": 1, "timeout": 2, "crashed": 1, "skipped": 1}
    assert (g.status, g.worst, g.total, g.ran, g.problems) == ("partial", "timeout", 5, 4, 3)
    assert [(e.error_class, e.statuses, e.cells) for e in d.errors] == [
        ("Timeout", ["timeout"], 2),
        ("Crash", ["crashed"], 1),
    ]
    assert d.perf.summary.status_counts == {"ok": 1, "timeout": 2, "crashed": 1, "skipped": 1}
    assert d.table.rows[1]["error_class"] == "Timeout" and d.table.rows[4]["error_class"] is None  # skipped


def test_one_table_of_formats(tmp_path):
    assert {name: f.file_name for name, f in FORMATS.items()} == {
        "md": "report.md",
        "html": "report.html",
        "json": "summary.json",
        "csv": "results.csv",
        "junit": "junit.xml",
        "issues": "issues",
    }
    assert parse_formats(" JSON,md,json ") == ["json", "md"]
    with pytest.raises(ReportError, match="choose from md,html,json,csv,junit,issues"):
        parse_formats("pdf")
    write_root(tmp_path / "r", seed_rows())
    paths = write_reports(tmp_path / "r", "seed", tmp_path / "out")
    assert {k: p.name for k, p in paths.items()} == {k: f.file_name for k, f in FORMATS.items()}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f.file_name for f in FORMATS.values())


def test_aggregator_imports_have_no_circle_and_the_model_no_renderer():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("aggregator")
    modules = sorted(graph.modules)
    circles = [
        (a, b)
        for a in modules
        for b in graph.find_modules_directly_imported_by(a)
        if b.startswith("aggregator") and graph.chain_exists(importer=b, imported=a)
    ]
    assert circles == []
    below = [
        "aggregator.model",
        "aggregator.analysis",
        "aggregator.issues",
        "aggregator.dataset",
        "aggregator.statuses",
    ]
    renderers = [m for m in modules if m.startswith("aggregator.render.")]
    assert not [(m, r) for m in below for r in renderers if graph.chain_exists(importer=m, imported=r)]
