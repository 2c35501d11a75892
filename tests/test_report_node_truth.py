"""The report's energy and node-stability section, from the real rows of the H200 run (reports/examples/
h200-node-truth: NVML energy, the drift sentinel on CUDA) and from rows whose node had no meter."""

from __future__ import annotations

from pathlib import Path

from aggregator.dataset import open_results
from aggregator.model import build_report
from aggregator.render.html import render_html
from aggregator.render.markdown import render_markdown
from aggregator.render.nodetruth import node_truth_markdown
from grid import store
from grid.core.schema import ResultRow

H200 = Path(__file__).resolve().parents[1] / "reports" / "examples" / "h200-node-truth" / "results"


def test_h200_rows_give_energy_per_token_per_model_and_name_the_drifted_cells():
    ds = open_results(str(H200), None)
    rows = ds.records("SELECT model, energy_per_token_j, drift_flag FROM rows WHERE status = 'ok'")
    d = build_report(ds)
    (c,) = d.node_truth.classes
    assert (c.hw_class, c.energy_source, c.energy_cells) == ("H200-141GB", "nvml", len(rows))
    assert c.drift_cells == sum(bool(r["drift_flag"]) for r in rows) and not c.steady
    per_model = {r["model"]: r["j_per_token"] for r in d.node_truth.per_model}
    assert per_model == {r["model"]: r["energy_per_token_j"] for r in rows}  # one cell each: the row's own figure
    md = node_truth_markdown(d)
    assert "## 🔌 Energy and Node Stability" in md and "| H200-141GB | nvml |" in md
    assert f"{per_model['twin:qwen2_vl@7b']:.3g}" in md  # 1.94 J/token, as BENCHMARKS.md has it
    drifted = [r["model"] for r in rows if r["drift_flag"]]
    section = md[md.index("Cells Measured While Their Node Drifted") :]
    assert all(f"| {m} |" in section for m in drifted)
    assert "Energy and node stability" in render_html(d) and "Energy and Node Stability" in render_markdown(d)


def _row(cell_id: str, **kw) -> ResultRow:
    base = dict(run_id="r", cell_id=cell_id, model="twin:smolvlm", hw_class="EPYC-2c-24GB", status="ok",
                prompt_id="p", image_id="i", decode_tps=50.0)  # fmt: skip
    return ResultRow(**{**base, **kw})


def test_a_node_without_a_meter_says_why_and_steady_nodes_say_so(tmp_path):
    store.write_row(tmp_path, _row("a", energy_source="n/a", energy_na_reason="RAPL not readable (run as root)",
                                   sentinel_drift=0.01, drift_flag=False, load_avg_1m=0.4))  # fmt: skip
    d = build_report(open_results(str(tmp_path), None))
    (c,) = d.node_truth.classes
    assert c.steady and c.j_per_token_median is None and not d.node_truth.per_model
    md = node_truth_markdown(d)
    assert "n/a (RAPL not readable (run as root))" in md and "✅ yes" in md and "0 of 1" in md


def test_rows_from_before_node_truth_have_no_section(tmp_path):
    store.write_row(tmp_path, _row("a"))
    d = build_report(open_results(str(tmp_path), None))
    assert d.node_truth is None and "Energy and Node Stability" not in render_markdown(d)
