"""Reports built from a constructed results root with known contents (tests/sample_data.py: the seed report's 36 models
on three hardware classes): the sections, the numbers, the matrices, the machine formats, escaping and user errors."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from lxml import etree
from sample_data import HOSTILE_OUTPUT, seed_rows, write_root

from aggregator import ReportError, write_reports
from grid.core.schema import ResultRow, rows_to_table

XSD = Path(__file__).parent / "fixtures" / "jenkins-junit.xsd"
SEED_SECTIONS = [
    "## Executive Summary",
    "### Test Environment",
    "## 🚨 Critical Issues for Framework Maintainers",
    "## 📊 Quality Issues in Successful Models",
    "## 🏆 Performance Highlights",
    "### Top 10 Fastest Models",
    "### Best Quality/Speed Balance",
    "## 🖥️ Results per Hardware Class",
    "### Compatibility Matrix",
    "### Decode tok/s per Class",
    "### Peak Memory per Class",
    "### Memory-Bandwidth Utilisation",
    "### Trial Statistics",
    "## 📋 Actionable Items by Package",
    "## 🔧 Suggested Test Matrix",
    "## Appendix: Full Error Details",
    "## Full Model Results Table",
]


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_root(root, seed_rows())
    out = tmp_path_factory.mktemp("reports")
    paths = write_reports(root, "seed", out)
    return root, paths


def row_of(md: str, first_cell: str) -> list[str]:
    for line in md.splitlines():
        if line.startswith(f"| {first_cell} |"):
            return [c.strip() for c in line.strip("|").split(" | ")]
    raise AssertionError(f"no table row starting with {first_cell}")


def section(md: str, heading: str) -> str:
    start = md.index(heading)
    end = md.find("\n## ", start + len(heading))
    return md[start : end if end > 0 else None]


def test_writes_every_format(seed):
    _, paths = seed
    assert set(paths) == {"md", "html", "json", "csv", "junit", "issues"}
    assert [p.name for p in paths.values()] == [
        "report.md",
        "report.html",
        "summary.json",
        "results.csv",
        "junit.xml",
        "issues",
    ]
    assert all(p.stat().st_size > 1000 for p in paths.values())
    assert not list(paths["md"].parent.glob(".*.tmp"))


def test_markdown_has_every_seed_section_in_order(seed):
    md = seed[1]["md"].read_text()
    positions = [md.index(h) for h in SEED_SECTIONS]
    assert positions == sorted(positions)


def test_executive_summary_numbers(seed):
    md = seed[1]["md"].read_text()
    summary = section(md, "## Executive Summary")
    assert row_of(summary, "**Total Models Tested**")[1] == "36"
    assert row_of(summary, "**Cells**")[1] == "108"
    assert row_of(summary, "**Successful**")[1] == "77 (76%)"  # 77 ok of 101 that ran (7 skipped)
    assert row_of(summary, "**Failed**")[1] == "21 (21%)"
    assert row_of(summary, "**Out of memory**")[1] == "3 (3%)"
    assert row_of(summary, "**Skipped**")[1] == "7"
    assert "`mlx-community/LFM2-VL-1.6B-8bit` on M4-Max-40c-128GB (316.8 tok/s)" in summary
    assert "`mlx-community/LFM2.5-VL-1.6B-bf16`" in row_of(summary, "**Least Peak Memory**")[1]
    assert "- **mlx-vlm**: 0.3.10" in summary and "- **transformers**: 5.0.0rc3" in summary
    assert "- **Hardware M4-Max-40c-128GB**: Apple M4 Max, 40 GPU cores, 128 GB, macOS 26.2, metal, 546 GB/s" in summary


def test_critical_issues_grouped_by_root_cause(seed):
    crit = section(seed[1]["md"].read_text(), "## 🚨 Critical Issues")
    issues = re.findall(r"### Issue \d+: (.+) in `(.+)`", crit)
    assert len(issues) == 7
    assert issues[0] == ("Lib Version", "model files")  # two models affected: first
    assert ("Processor Error", "mlx-vlm") in issues and ("Type Cast Error", "mlx") in issues
    kimi = crit[crit.index("Lib Version in") : crit.index("### Issue 2")]
    assert "Kimi-VL-A3B-Thinking-2506-bf16" in kimi and "Kimi-VL-A3B-Thinking-8bit" in kimi
    assert "_validate_images_text_input_order" in kimi and "**Suggested Fix**: Update processing_kimi_vl.py" in kimi
    assert "| M2-Pro-19c-32GB | 2 |" in kimi and "🔴 High" in kimi


def test_quality_section_lists_flags_with_figures(seed):
    q = section(seed[1]["md"].read_text(), "## 📊 Quality Issues")
    assert "bullets(22) ×3, verbose(452) ×3" in row_of(q, "`Qwen/Qwen3-VL-2B-Instruct`")[1]
    assert "language-mixing(Han) ×3" in row_of(q, "`microsoft/Phi-3.5-vision-instruct`")[1]
    assert row_of(q, "`mlx-community/pixtral-12b-bf16`")[2] == "2/2"  # skipped on the 32 GB class
    assert "`qnguyen3/nanoLLaVA`" not in q


def test_top_speed_and_balance(seed):
    perf = section(seed[1]["md"].read_text(), "## 🏆 Performance Highlights")
    assert row_of(perf, "1")[1:5] == [
        "`mlx-community/LFM2-VL-1.6B-8bit`",
        "M4-Max-40c-128GB",
        "316.8 [313.6–321.6]",
        "53.0 GB",
    ]
    balance = perf[perf.index("### Best Quality/Speed Balance") :]
    assert row_of(balance, "1")[1:3] == ["`mlx-community/LFM2.5-VL-1.6B-bf16`", "M4-Max-40c-128GB"]
    assert "Qwen3-VL-2B-Instruct`" not in balance  # flagged outputs never count as balanced


def test_per_hardware_matrices(seed):
    hw = section(seed[1]["md"].read_text(), "## 🖥️ Results per Hardware Class")
    compat = hw[hw.index("### Compatibility Matrix") : hw.index("### Decode tok/s")]
    assert "| Model | M2-Pro-19c-32GB | M3-Max-30c-96GB | M4-Max-40c-128GB (ref) |" in compat
    assert row_of(compat, "`microsoft/Florence-2-large-ft`")[1:] == ["❌ failed (Weight Mismatch)"] * 3
    assert row_of(compat, "`mlx-community/Qwen2-VL-2B-Instruct-4bit`")[1:] == ["🧠 oom (OOM)"] * 3
    assert row_of(compat, "`mlx-community/LFM2-VL-1.6B-8bit`")[1:] == ["⏭️ skipped", "✅ ok", "✅ ok"]
    decode = hw[hw.index("### Decode tok/s") : hw.index("### Peak Memory")]
    assert row_of(decode, "`mlx-community/SmolVLM2-2.2B-Instruct-mlx`")[1:] == [
        "46.4 [46.0–47.1] · 0.40×",
        "81.3 [80.5–82.5] · 0.70×",
        "116.1 [114.9–117.8] · 1.00×",
    ]
    memory = hw[hw.index("### Peak Memory") : hw.index("### Memory-Bandwidth")]
    assert row_of(memory, "`mlx-community/gemma-3-27b-it-qat-8bit`")[1:] == ["—", "34.0 GB", "34.0 GB"]
    bandwidth = hw[hw.index("### Memory-Bandwidth") : hw.index("### Trial Statistics")]
    # weight bytes set so decode uses 50% of the M4 Max's 546 GB/s: 0.7 × 546/300 → 64% and 0.4 × 546/200 → 55%
    assert row_of(bandwidth, "`qnguyen3/nanoLLaVA`")[1:] == ["55%*", "64%*", "50%*"]
    assert row_of(bandwidth, "`mlx-community/deepseek-vl2-8bit`")[1:] == ["—"] * 3
    trials = hw[hw.index("### Trial Statistics") :]
    assert row_of(trials, "`qnguyen3/nanoLLaVA`")[1:] == ["M2-Pro-19c-32GB", "3", "40.0", "39.6–40.6", "1"]


def test_actionable_items_and_test_matrix(seed):
    md = seed[1]["md"].read_text()
    act = section(md, "## 📋 Actionable Items")
    order = [m.group(1) for m in re.finditer(r"### For `(.+)` maintainers", act)]
    assert order == ["mlx", "mlx-vlm", "model files"]
    assert "**[OOM]** OOM:" in act and "**[BUG]** Type Cast Error: RuntimeError: std::bad_cast" in act
    tm = section(md, "## 🔧 Suggested Test Matrix")
    assert row_of(tm, "smolvlm")[1] == "`mlx-community/SmolVLM2-2.2B-Instruct-mlx`"
    assert row_of(tm, "gemma3")[1] == "`mlx-community/gemma-3-27b-it-qat-4bit`"  # same flag share, more classes
    assert row_of(tm, "paligemma")[1] == "`mlx-community/paligemma2-3b-pt-896-4bit`"
    assert "internvl_chat" not in tm and "kimi_vl" not in tm  # never ok: not reliable


def test_error_appendix_and_results_table(seed):
    md = seed[1]["md"].read_text()
    appendix = section(md, "## Appendix: Full Error Details")
    assert appendix.count("<details>") == 1 and "</details>" in appendix
    assert appendix.count("```text") == 8  # one per (root cause, model)
    table = section(md, "## Full Model Results Table")
    assert table.count("\n| `") == 108
    assert "First " not in table  # small run: every row shown


def test_summary_json(seed):
    data = json.loads(seed[1]["json"].read_text())
    assert data["format"] == "grid-report-summary/1" and data["runs"] == ["seed"]
    s = data["summary"]
    assert s["cells"] == 108 and s["status_counts"] == {"ok": 77, "failed": 21, "oom": 3, "skipped": 7}
    assert s["fastest"]["model"] == "mlx-community/LFM2-VL-1.6B-8bit" and s["fastest"]["decode_tps"] == 316.8
    assert data["reference_class"] == "M4-Max-40c-128GB"
    g = next(g for g in data["groups"] if g["model"] == "qnguyen3/nanoLLaVA" and g["hw_class"] == "M3-Max-30c-96GB")
    assert g["decode_tps"] == pytest.approx(70.0) and g["ratio_to_reference"] == pytest.approx(0.7)
    assert g["bandwidth_fraction"] == pytest.approx(0.5 * 0.7 * 546 / 300) and g["bandwidth_source"] == "derived"
    assert len(data["critical_issues"]) == 7 and len(data["groups"]) == 108


def test_results_csv_is_every_row_flat(seed):
    with seed[1]["csv"].open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 108 and rows[0]["run_id"] == "seed"
    nano = next(r for r in rows if r["model"] == "qnguyen3/nanoLLaVA" and r["hw_class"] == "M4-Max-40c-128GB")
    assert nano["trial_decode_tps"] == "98.0;100.0;103.0" and nano["outlier_trials"] == "2"
    hostile = next(r for r in rows if r["model"] == "mlx-community/SmolVLM2-2.2B-Instruct-mlx" and r["status"] == "ok")
    assert hostile["output_text"] == HOSTILE_OUTPUT  # data round-trips unaltered; escaping is the renderer's job
    assert (
        next(r for r in rows if r["model"] == "Qwen/Qwen3-VL-2B-Instruct")["quality_flags"]
        == "verbose(452);bullets(22)"
    )


def test_rows_of_one_cell_in_several_environments_sort_by_environment_not_by_file(tmp_path):
    """The same model × class × prompt × image in two package environments: the CSV and the all-cells table list them
    by environment whichever order their files are read in (the examples' tables reshuffled when files did)."""
    from aggregator.dataset import open_results
    from aggregator.model import results_table

    base = seed_rows()[0]
    orders = []
    for name, (cell_a, cell_b) in {"ab": ("z", "y"), "ba": ("y", "z")}.items():
        root = tmp_path / name
        rows = [base.replace(env_id="env-a", cell_id=cell_a, decode_tps=1.0)]
        rows += [base.replace(env_id="env-b", cell_id=cell_b, decode_tps=2.0)]
        write_root(root, rows)
        paths = write_reports(root, base.run_id, tmp_path / f"out-{name}")
        with paths["csv"].open(newline="") as f:
            orders.append([r["env_id"] for r in csv.DictReader(f)])
        ds = open_results(root, [base.run_id])
        try:
            orders.append([r["decode_tps"] for r in results_table(ds, 10).rows])
        finally:
            ds.close()
    assert orders == [["env-a", "env-b"], [1.0, 2.0]] * 2


def test_junit_validates_against_the_jenkins_schema(seed):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.parse(str(seed[1]["junit"]))
    schema.assertValid(doc)
    root = doc.getroot()
    assert root.get("tests") == "108" and root.get("failures") == "21" and root.get("errors") == "3"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"M2-Pro-19c-32GB", "M3-Max-30c-96GB", "M4-Max-40c-128GB"}
    m2 = suites["M2-Pro-19c-32GB"]
    assert m2.get("skipped") == "7" and m2.get("tests") == "36"
    case = m2.find("testcase[@name='mlx-community/deepseek-vl2-8bit']")
    assert case.find("failure").get("type") == "Type Cast Error" and "std::bad_cast" in case.find("failure").text
    oom = m2.find("testcase[@name='mlx-community/Qwen2-VL-2B-Instruct-4bit']")
    assert oom.find("error") is not None and oom.find("failure") is None
    assert m2.find("testcase[@name='mlx-community/pixtral-12b-bf16']/skipped") is not None
    assert m2.find("testcase[@name='qnguyen3/nanoLLaVA']/failure") is None


def test_hostile_text_is_escaped_everywhere(tmp_path):
    evil = "```\n<script>alert(1)</script> | \x1b[31m\x00 ]]>"
    rows = seed_rows()
    rows = [
        r.replace(error_message=evil, traceback_tail=evil, error_fix="<img src=x onerror=alert(1)>")
        if r.status == "failed"
        else r
        for r in rows
    ]
    write_root(tmp_path / "r", rows)
    paths = write_reports(tmp_path / "r", "seed", tmp_path / "out")
    md = paths["md"].read_text()
    outside_fences = re.sub(r"(`{4,})text\n.*?\n\1", "", md, flags=re.S)
    assert "<script>" not in outside_fences and "<img" not in outside_fences
    assert "````text\n```\n<script>" in md  # the fence grew past the backticks inside
    html = paths["html"].read_text()
    assert html.count("<script") == 1 and "<img" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x00" not in html and "\x1b" not in html
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(paths["junit"])))  # NUL and ESC removed


def test_user_errors_are_one_line_with_advice(tmp_path):
    with pytest.raises(ReportError, match="no runs under .*grid run smoke"):
        write_reports(tmp_path / "nothing", "x", tmp_path / "out")
    write_root(tmp_path / "r", seed_rows(run_id="a")[:2])
    with pytest.raises(ReportError, match=r"run nope not found under .*newest runs there: a"):
        write_reports(tmp_path / "r", "nope", tmp_path / "out")
    (tmp_path / "r" / "run_id=empty").mkdir()
    with pytest.raises(ReportError, match="no finished cells yet"):
        write_reports(tmp_path / "r", "empty", tmp_path / "out")
    with pytest.raises(ReportError, match="unknown report format pdf"):
        write_reports(tmp_path / "r", "a", tmp_path / "out", formats="md,pdf")
    with pytest.raises(ReportError, match="reference class 'M9'"):
        write_reports(tmp_path / "r", "a", tmp_path / "out", reference_class="M9")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_reference_class_override_and_fallback(tmp_path):
    write_root(tmp_path / "r", seed_rows())
    md = write_reports(tmp_path / "r", "seed", tmp_path / "o1", formats="md", reference_class="M3-Max-30c-96GB")[
        "md"
    ].read_text()
    assert (
        "| `qnguyen3/nanoLLaVA` | 40.0 [39.6–40.6] · 0.57× | 70.0 [69.3–71.0] · 1.00× | 100.0 [99.0–101.5] · 1.43× |"
        in md
    )
    no_m4 = {k: v for k, v in __import__("sample_data", fromlist=["CLASSES"]).CLASSES.items() if "M4" not in k}
    write_root(tmp_path / "r2", seed_rows(classes=no_m4))
    md = write_reports(tmp_path / "r2", "seed", tmp_path / "o2", formats="md")["md"].read_text()
    assert "### Decode tok/s per Class (ratio to M3-Max-30c-96GB)" in md  # no M4 Max: the fastest class


def test_measured_bandwidth_wins_and_unknown_is_a_dash(tmp_path):
    base = dict(run_id="bw", model="m", status="ok", decode_tps=10.0, trial_decode_tps=[10.0], peak_memory_gb=1.0)
    rows = [
        ResultRow(cell_id="a", hw_class="A", bandwidth_fraction=0.42, weight_bytes=10**9, bandwidth_gbps=100.0, **base),
        ResultRow(cell_id="b", hw_class="B", **base),
    ]  # neither fraction nor weights nor bandwidth
    write_root(tmp_path, rows)
    md = write_reports(tmp_path, "bw", tmp_path / "out", formats="md")["md"].read_text()
    bw = md[md.index("### Memory-Bandwidth") : md.index("### Trial Statistics")]
    assert row_of(bw, "`m`")[1:] == ["42%", "—"]


def test_group_of_several_cells_shows_partial_and_pools_trials(tmp_path):
    def cell(i, status, tps=None):
        return ResultRow(
            run_id="p",
            cell_id=f"c{i}",
            model="m",
            hw_class="H",
            status=status,
            prompt_id=f"p{i}",
            decode_tps=tps,
            trial_decode_tps=[tps, tps] if tps else [],
            error_class="Timeout" if status == "timeout" else None,
        )

    write_root(tmp_path, [cell(1, "ok", 10.0), cell(2, "ok", 20.0), cell(3, "timeout")])
    paths = write_reports(tmp_path, "p", tmp_path / "out", formats="md,junit")
    md = paths["md"].read_text()
    assert row_of(md[md.index("### Compatibility") :], "`m`")[1] == "⚠️ partial 2/3 ok; 1 timeout (Timeout)"
    # several cells: median and IQR over the cells' medians (10 and 20)
    assert row_of(md[md.index("### Decode tok/s") :], "`m`")[1] == "15.0 [12.5–17.5] · 1.00×"
    error = etree.parse(str(paths["junit"])).find(".//testcase/error")
    assert error is not None and "2/3 cells ok, 1 timeout" in error.get("message")


def test_table_cap_keeps_markdown_bounded(tmp_path):
    write_root(tmp_path, seed_rows())
    md = write_reports(tmp_path, "seed", tmp_path / "out", formats="md", max_table_rows=10)["md"].read_text()
    table = section(md, "## Full Model Results Table")
    assert table.count("\n| `") == 10 and "First 10 of 108 rows" in table and "results.csv" in table


def test_many_runs_latest_and_all(tmp_path):
    write_root(tmp_path, seed_rows(run_id="r1")[:36])
    write_root(tmp_path, seed_rows(run_id="r2")[:36])
    md = write_reports(tmp_path, ["r1", "r2"], tmp_path / "o", formats="md")["md"].read_text()
    assert "run `r1`, `r2`" in md.replace("runs `r1`", "run `r1`") and "**72 cells**" in md
    assert "| Run | Model |" in md
    data = json.loads(write_reports(tmp_path, None, tmp_path / "o2", formats="json")["json"].read_text())
    assert data["runs"] == ["r1", "r2"] and data["summary"]["cells"] == 72
    latest = json.loads(write_reports(tmp_path, "latest", tmp_path / "o3", formats="json")["json"].read_text())
    assert len(latest["runs"]) == 1 and latest["summary"]["cells"] == 36


def test_recomputed_quality_flags_with_user_thresholds(tmp_path):
    write_root(tmp_path, seed_rows())
    md = write_reports(tmp_path, "seed", tmp_path / "out", formats="md", thresholds={"verbose_tokens": 150})[
        "md"
    ].read_text()
    q = section(md, "## 📊 Quality Issues")
    assert "recomputed with thresholds" in q
    assert "verbose(200) ×3" in row_of(q, "`qnguyen3/nanoLLaVA`")[1]  # 200 generated tokens > 150
    assert "context-ignored ×3" in row_of(q, "`mlx-community/paligemma2-3b-pt-896-4bit`")[1]  # kept: needs prompt
    with pytest.raises(ValueError, match="verbose_tokenz"):
        write_reports(tmp_path, "seed", tmp_path / "o2", formats="md", thresholds={"verbose_tokenz": 1})


def test_old_files_missing_columns_and_files_with_run_id_column(tmp_path):
    rows = seed_rows(run_id="old")[:5]
    folder = tmp_path / "run_id=old"
    folder.mkdir()
    for r in rows:  # an older schema: no bandwidth_fraction, no quality_flags, run_id inside the file too
        pq.write_table(
            rows_to_table([r]).drop_columns(["bandwidth_fraction", "quality_flags"]), folder / f"{r.cell_id}.parquet"
        )
    data = json.loads(write_reports(tmp_path, "old", tmp_path / "out", formats="json,md")["json"].read_text())
    assert data["summary"]["cells"] == 5 and data["runs"] == ["old"]


def test_other_readers_see_one_table(seed):
    """The layout the store writes (run_id in the folder name only) reads as one table in pandas and DuckDB."""
    root, _ = seed
    df = pd.read_parquet(root)
    assert len(df) == 108 and list(df.columns).count("run_id") == 1 and set(df["run_id"].astype(str)) == {"seed"}
    con = duckdb.connect()
    n, runs = con.sql(f"SELECT count(*), list(DISTINCT run_id) FROM read_parquet('{root}/**/*.parquet')").fetchall()[0]
    assert n == 108 and runs == ["seed"]


def test_aggregator_never_imports_mlx(tmp_path):
    """The driver, CI and laptops report without Apple silicon: building every format must not touch mlx."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['mlx'] = None; sys.modules['mlx_vlm'] = None; sys.modules['agent.adapter'] = None\n"
        "from pathlib import Path\nfrom aggregator import write_reports\nfrom aggregator.compare import compare_runs\n"
        "from sample_data import seed_rows, write_root\n"
        f"root = Path({str(tmp_path)!r})\nwrite_root(root, seed_rows(run_id='a')[:6]); "
        "write_root(root, seed_rows(run_id='b')[:6])\n"
        "write_reports(root, 'a', root / 'out', thresholds={'max_bullets': 5}); compare_runs(root, 'a', 'b')\n"
        "assert not [m for m in sys.modules if m.startswith('mlx') and sys.modules[m] is not None]\n"
    )
    from pathlib import Path

    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parent)}  # sample_data lives in tests/
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr[-2000:]


def test_headline_drops_the_error_class_the_report_already_prints():
    from aggregator.render import fmt

    assert fmt.headline("Timeout", "Timeout: run exceeded 1200 s\nmore") == "run exceeded 1200 s"
    assert fmt.headline("OOM", "RuntimeError: [metal] out of memory") == "RuntimeError: [metal] out of memory"
    assert fmt.headline("Missing Weights", None) == ""
