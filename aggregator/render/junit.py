"""junit.xml, for CI: one testsuite per hardware class, one testcase per model × hardware class.

ok → pass; failed → <failure>; timeout, crashed, oom, node_lost → <error> (the harness, not the model, broke);
every cell skipped → <skipped>. A pair with several cells takes its dominant problem, with the counts in the message.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from aggregator.analysis import Group, HardwareClass
from aggregator.dataset import ResultsDataset
from aggregator.issues import ERROR_CLASS_SQL
from aggregator.model import ReportData
from aggregator.render import fmt
from aggregator.statuses import PARTIAL, PROBLEM_SQL, PROBLEMS, SKIPPED
from grid.core.status import Status

_XML_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value) -> str:
    return _XML_ILLEGAL.sub("\ufffd", "" if value is None else str(value))


def _problem_details(ds: ResultsDataset) -> dict[tuple[str, str], dict]:
    """Per (model, hw_class): the most common error class, message and traceback of its problem rows."""
    records = ds.records(f"""
        SELECT model, hw_class, mode({ERROR_CLASS_SQL}) AS error_class, mode(error_message) AS message,
               mode(traceback_tail) AS tb
        FROM raw WHERE status IN {PROBLEM_SQL} GROUP BY ALL""")
    return {(r["model"], r["hw_class"]): r for r in records}


def junit_tree(d: ReportData, ds: ResultsDataset) -> ET.ElementTree:
    details = _problem_details(ds)
    root = ET.Element("testsuites", name=_xml_text(d.title))
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for hw in d.perf.hardware:
        counts = _suite(root, d, hw, details)
        for k in totals:
            totals[k] += counts[k]
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    return ET.ElementTree(root)


def _suite(root: ET.Element, d: ReportData, hw: HardwareClass, details: dict) -> dict:
    """One class's testsuite; returns its counts (tests, failures, errors, skipped, time)."""
    s = d.perf.summary
    groups = [g for g in d.perf.groups if g.hw_class == hw.hw_class]
    suite = ET.SubElement(root, "testsuite", name=_xml_text(hw.hw_class), tests=str(len(groups)))
    props = ET.SubElement(suite, "properties")
    for name, value in [("chip", hw.chip), ("backend", hw.backend), ("os", hw.os), ("runs", ",".join(s.runs))] + [
        (f"version.{k}", ",".join(v)) for k, v in s.versions.items() if v
    ]:
        ET.SubElement(props, "property", name=name, value=_xml_text(value))
    counts = {"tests": len(groups), "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for g in groups:
        counts["time"] += g.wall_s or 0.0
        outcome = _case(suite, d, g, details.get((g.model, g.hw_class), {}))
        if outcome:
            counts[outcome] += 1
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", f"{counts['time']:.3f}")
    if s.started_at:
        suite.set("timestamp", _xml_text(s.started_at))
    return counts


def _case(suite: ET.Element, d: ReportData, g: Group, info: dict) -> str | None:
    """One model's testcase; returns what it counts as ("failures", "errors", "skipped") or None for a pass."""
    t = g.wall_s or 0.0
    case = ET.SubElement(
        suite, "testcase", name=_xml_text(g.model), classname=_xml_text(f"grid.{g.hw_class}"), time=f"{t:.3f}"
    )
    problem = g.worst if g.status == PARTIAL else g.status
    summary = f"{g.ok}/{g.ran} cells ok" + "".join(f", {g.counts[p]} {p}" for p in PROBLEMS if g.counts.get(p))
    outcome = None
    if g.status == SKIPPED:
        ET.SubElement(case, "skipped").text = _xml_text(f"{g.counts.get(SKIPPED, 0)} cells skipped")
        outcome = "skipped"
    elif problem in PROBLEMS:
        tag = "failure" if problem == Status.FAILED else "error"
        outcome = "failures" if tag == "failure" else "errors"
        first = ((info.get("message") or "").strip().splitlines() or [""])[0][:300]
        el = ET.SubElement(
            case,
            tag,
            type=_xml_text(info.get("error_class") or problem),
            message=_xml_text(f"{problem}: {first} ({summary})"),
        )
        el.text = _xml_text(info.get("tb") or info.get("message") or summary)
    ET.SubElement(case, "system-out").text = _xml_text(
        f"{summary}; decode {fmt.num(g.decode_tps)} tok/s; peak memory {fmt.gb(g.peak_memory_gb)}; "
        f"bandwidth {fmt.pct(g.bandwidth_fraction)}; ratio to {d.perf.reference_class}: "
        f"{fmt.ratio(g.ratio_to_reference)}"
    )
    return outcome


def write_junit(d: ReportData, ds: ResultsDataset, path: Path) -> None:
    tree = junit_tree(d, ds)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
