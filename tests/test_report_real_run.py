"""The report from a real run: real mlx-vlm inference on a twin in the agent's spawned child (agent.runner.run_group,
no Ray: that is test_run_e2e's job), a broken copy of it that really fails, rows written by grid.store. Every figure the
report shows must be the one in the rows."""

from __future__ import annotations

import json
import shutil
import statistics
import textwrap
from pathlib import Path

import pytest
from lxml import etree

from aggregator import write_reports
from aggregator.compare import compare_runs
from grid import store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, grid_cache):
    from agent.hardware import probe
    from agent.runner import run_group
    from agent.twins import materialize
    from grid.core.plan import group_cells, plan_cells
    from grid.core.suite import load_suite

    base = tmp_path_factory.mktemp("real")
    broken = base / "broken-smolvlm"
    shutil.copytree(materialize("twin:smolvlm"), broken)
    for weights in broken.glob("*.safetensors"):  # a conversion that lost its weights: loading really fails
        weights.unlink()
    suite_file = base / "suite.yaml"
    suite_file.write_text(
        textwrap.dedent(f"""
        name: report-real
        models:
          - id: twin:smolvlm
          - id: {broken}
        prompts:
          - {{id: describe, text: Describe this image in one sentence., context: "Lyon, France, 2026-01-16"}}
        images:
          - {{id: chart, builtin: chart}}
        generation: {{max_tokens: 12, warmup_runs: 1, trials: 3, exact_tokens: true}}
    """)
    )
    suite = load_suite(suite_file)
    hw = probe(device_info=False)
    results = base / "results"
    for group in group_cells(plan_cells(suite, "real-a", [(hw.hw_class, "")])):
        for row in run_group(group, hw):
            store.write_row(results, row)
            # the same real rows as a second run at half the decode speed
            slower = [v * 0.5 for v in row.trial_decode_tps]
            store.write_row(
                results,
                row.replace(
                    run_id="real-b",
                    trial_decode_tps=slower,
                    decode_tps=row.decode_tps * 0.5 if row.decode_tps else None,
                ),
            )
    rows = {r.model: r for r in store.read_rows(results, "real-a")}
    out = base / "reports"
    return {"results": results, "rows": rows, "paths": write_reports(results, "real-a", out), "broken": str(broken)}


def test_rows_are_what_the_report_is_built_from(real_run):
    rows = real_run["rows"]
    assert rows["twin:smolvlm"].status == "ok" and rows["twin:smolvlm"].trial_decode_tps
    assert rows[real_run["broken"]].status != "ok" and rows[real_run["broken"]].error_class


def test_markdown_shows_the_rows_figures(real_run):
    rows, md = real_run["rows"], real_run["paths"]["md"].read_text()
    ok, bad = rows["twin:smolvlm"], rows[real_run["broken"]]
    assert f"`twin:smolvlm` | {ok.decode_tps:,.1f} [" in md  # median of the trials, with their IQR
    assert f"`twin:smolvlm` on {ok.hw_class} ({ok.decode_tps:,.1f} tok/s)" in md  # the fastest model line
    assert f"- **mlx**: {ok.mlx_version}" in md and f"- **mlx-vlm**: {ok.mlx_vlm_version}" in md
    matrix = md[md.index("### Compatibility Matrix") : md.index("### Decode tok/s")]
    assert f"| `{bad.model}` | ❌ {bad.status} ({bad.error_class}) |" in matrix
    assert f"### Issue 1: {bad.error_class} in `{bad.error_package}`" in md
    assert bad.traceback_tail.strip().splitlines()[-1].strip() in md  # the appendix carries the real traceback
    quality = md[md.index("## 📊 Quality Issues") : md.index("## 🏆")]
    for flag in ok.quality_flags:  # a twin has random weights: its text is noise, its flags are not reported
        assert flag.split("(")[0] not in quality
    assert "random-weight models" in md[: md.index("## Executive Summary")]  # the synthetic-data banner


def test_summary_junit_and_csv(real_run):
    rows, paths = real_run["rows"], real_run["paths"]
    ok = rows["twin:smolvlm"]
    data = json.loads(paths["json"].read_text())
    assert data["summary"]["cells"] == 2 and data["summary"]["status_counts"]["ok"] == 1
    group = next(g for g in data["groups"] if g["model"] == "twin:smolvlm")
    assert group["decode_tps"] == pytest.approx(ok.decode_tps) and group["spread_over"] == "trials"
    assert group["peak_memory_gb"] == pytest.approx(ok.peak_memory_gb)
    if ok.bandwidth_fraction is not None:
        assert group["bandwidth_fraction"] == pytest.approx(ok.bandwidth_fraction)
    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "fixtures" / "jenkins-junit.xsd")))
    doc = etree.parse(str(paths["junit"]))
    schema.assertValid(doc)
    assert (
        doc.getroot().get("tests") == "2" and int(doc.getroot().get("failures")) + int(doc.getroot().get("errors")) == 1
    )
    assert len(paths["csv"].read_text().splitlines()) >= 3  # header + 2 rows (outputs may hold newlines)


def test_compare_two_real_runs(real_run):
    c = compare_runs(real_run["results"], "real-a", "real-b")
    assert c.matched == 2 and not c.newly_failing and not c.fixed and not c.version_changes
    # Whether halving is flagged depends on the real trials' noise (a loaded CPU is noisy): apply the rule by hand.
    trials = real_run["rows"]["twin:smolvlm"].trial_decode_tps
    med = statistics.median(trials)
    mad = statistics.median(abs(v - med) for v in trials)
    spread = 1.4826 * mad if len(trials) >= 3 else 0.0
    threshold = max(3 * (spread**2 + (0.5 * spread) ** 2) ** 0.5, 0.05 * med)
    expected = [("twin:smolvlm", "decode_tps")] if 0.5 * med > threshold else []
    assert [(m.model, m.metric) for m in c.regressions if m.metric == "decode_tps"] == expected
    for m in c.regressions:
        if m.metric == "decode_tps":
            assert m.relative_change == pytest.approx(-0.5) and m.threshold == pytest.approx(threshold)
