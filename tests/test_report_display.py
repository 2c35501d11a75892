"""Display fixes: chart labels carry units (1.4 MB, never 0.0), log axes where values span decades, the bandwidth
chart keeps its own scale, timeouts are marked in charts, outputs of newlines stay one line, the synthetic banner
and the verdict are on the page; the HTML of the committed H200-vs-CPU example checked in headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from sample_data import seed_rows, write_root
from test_report_html import CHROMIUM, load

from aggregator import write_reports
from aggregator.render.charts import grouped_bars, memory_label, percent_label

EXAMPLE = Path(__file__).parent.parent / "reports" / "examples" / "h200-vs-cpu" / "results"


def test_labels_have_units():
    assert memory_label(0.0014) == "1.4 MB" and memory_label(16.8) == "16.8 GB" and memory_label(4e-4) == "400.0 KB"
    assert percent_label(0.64) == "0.64%" and percent_label(45.2) == "45%"


def _texts(svg: str, cls: str) -> list[str]:
    return re.findall(rf'class="{cls}"[^>]*>(?:<title>[^<]*</title>)?([^<]*)<', svg)


def test_log_axis_when_values_span_decades_and_markers():
    values = {("a", "X"): 0.0014, ("b", "X"): 16.8, ("b", "Y"): None}
    svg = grouped_bars(
        "m", "Peak", ["a", "b"], ["X", "Y"], values, "peak memory", fmt=memory_label, markers={("b", "Y"): "timeout"}
    )
    assert "(log scale)" in svg
    assert "0.0" not in _texts(svg, "value") and "1.4 MB" in _texts(svg, "value")
    assert all(t != "0.0" for t in _texts(svg, "tick"))
    assert 'data-marker="timeout"' in svg


def test_bandwidth_chart_keeps_its_own_scale():
    svg = grouped_bars(
        "bw",
        "Bandwidth",
        ["a"],
        ["X"],
        {("a", "X"): 0.8},
        "%",
        fmt=percent_label,
        reference=100.0,
        reference_label="100%",
        log=False,
    )
    assert "refline" not in svg and "100%" not in _texts(svg, "tick")
    svg = grouped_bars(
        "bw",
        "Bandwidth",
        ["a"],
        ["X"],
        {("a", "X"): 80.0},
        "%",
        fmt=percent_label,
        reference=100.0,
        reference_label="100%",
        log=False,
    )
    assert "refline" in svg


def test_output_of_newlines_stays_one_line(tmp_path):
    rows = seed_rows()
    i = next(i for i, r in enumerate(rows) if r.status == "ok")
    rows[i] = dataclasses.replace(rows[i], output_text="first" + "\n" * 300 + "last")
    write_root(tmp_path / "r", rows)
    paths = write_reports(tmp_path / "r", None, tmp_path / "out", formats="html,md")
    assert "first last" in paths["html"].read_text()
    assert "\n\n\n\n" not in paths["md"].read_text()


def test_nodes_counted_by_host(tmp_path):
    paths = write_reports(EXAMPLE, ["h200", "cpu-epyc"], tmp_path, formats="json")
    hw = {c["hw_class"]: c for c in json.loads(paths["json"].read_text())["hardware"]}
    assert hw["EPYC-2c-24GB"]["nodes"] == 1  # three passes, three node ids, one host


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_example_page_in_chromium(tmp_path):
    paths = write_reports(EXAMPLE, ["h200", "cpu-epyc"], tmp_path / "out", formats="html")
    probe = """(() => {
      const t = s => [...document.querySelectorAll(s)].map(e => e.textContent);
      const mem = document.getElementById('chart-memory');
      return {banner: t('.banner'), verdict: t('#verdict li'),
              memValues: [...mem.querySelectorAll('text.value, text.tick')].map(e => e.textContent),
              markers: [...document.querySelectorAll('#chart-decode text.marker')].map(e => e.dataset.marker),
              predicted: t('#prediction-table thead th').join(' '),
              bandwidthTicks: t('#chart-bandwidth text.tick')};
    })()"""
    value, problems = load(paths["html"], tmp_path / "profile", script=probe)
    assert problems == []
    assert value["banner"] and "random-weight" in value["banner"][0]
    assert value["verdict"] and "H200-141GB = " in value["verdict"][0] and "faster: H200-141GB" in value["verdict"][0]
    assert "0.0" not in value["memValues"] and any(v.endswith("MB") for v in value["memValues"])
    assert "timeout" in value["markers"]
    assert "predicted" in value["predicted"]
    assert "100%" not in value["bandwidthTicks"]  # 0–25 % values keep a 0–25 % axis
