"""Machine formats: summary.json (the report's figures), results.csv (every row, flat) and junit.xml (for CI).

JUnit mapping, one testcase per model × hardware class, one testsuite per class:
ok → pass; failed → <failure>; timeout, crashed, oom, node_lost → <error> (the harness, not the model, broke);
every cell skipped → <skipped>. A pair with several cells takes its dominant problem, with the counts in the message.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from aggregator import fmt
from aggregator.analysis import PROBLEM_STATUSES, Group, best_balance, top_speed
from aggregator.build import ReportData
from aggregator.dataset import ResultsDataset, execute
from grid.core.schema import RESULT_SCHEMA, SCHEMA_VERSION

SUMMARY_FORMAT = "grid-report-summary/1"
CSV_SORT_MAX_ROWS = 200_000
_XML_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value):
    """JSON-safe: NaN/inf become null (a measurement that is not a number is unknown, not a figure)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _group_dict(g: Group) -> dict:
    return g.to_dict()  # fields plus the derived status, total, ran, problems


def summary_dict(d: ReportData) -> dict:
    s = d.perf.summary
    summary = {k: v for k, v in vars(s).items() if k not in ("fastest", "least_memory")}
    summary["fastest"] = _group_dict(s.fastest) if s.fastest else None
    summary["least_memory"] = _group_dict(s.least_memory) if s.least_memory else None
    return _clean(
        {
            "format": SUMMARY_FORMAT,
            "grid_schema_version": SCHEMA_VERSION,
            "title": d.title,
            "generated_at": d.generated_at,
            "results_root": d.results_root,
            "runs": s.runs,
            "summary": summary,
            "reference_class": d.perf.reference_class,
            "hardware": [dataclasses.asdict(c) for c in d.perf.hardware],
            "groups": [_group_dict(g) for g in d.perf.groups],
            "critical_issues": [dict(dataclasses.asdict(e), severity=e.severity, tag=e.tag) for e in d.errors],
            "quality_issues": [dataclasses.asdict(q) for q in d.quality],
            "quality_thresholds": d.thresholds,
            "top_speed": [
                {
                    "model": g.model,
                    "hw_class": g.hw_class,
                    "decode_tps": g.decode_tps,
                    "peak_memory_gb": g.peak_memory_gb,
                }
                for g in top_speed(d.perf.groups)
            ],
            "best_balance": [
                {
                    "model": g.model,
                    "hw_class": g.hw_class,
                    "decode_tps": g.decode_tps,
                    "peak_memory_gb": g.peak_memory_gb,
                    "tps_per_gb": score,
                }
                for g, score in best_balance(d.perf.groups)
            ],
            "test_matrix": [dataclasses.asdict(p) for p in d.perf.test_matrix],
            "limits": d.limits,
        }
    )


def write_summary_json(d: ReportData, path: Path) -> None:
    path.write_text(json.dumps(summary_dict(d), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def write_results_csv(ds: ResultsDataset, path: Path) -> None:
    """Every row and column of the runs, list columns joined with ';', streamed by DuckDB (never held in Python).
    Untrusted text is written as data, quoted as CSV requires; a spreadsheet user should import it as text."""
    cols = []
    for f in RESULT_SCHEMA:
        name = f'"{f.name}"'
        cols.append(f"array_to_string({name}, ';') AS {name}" if f.type.num_fields else name)
    target = str(path).replace("'", "''")
    # Sorted (diffable) up to CSV_SORT_MAX_ROWS; above, sorting every column of every row would cost more memory than
    # the whole report, so rows come in file order.
    order = " ORDER BY model, hw_class, prompt_id, image_id, run_id" if ds.row_count <= CSV_SORT_MAX_ROWS else ""
    execute(ds.con, f"COPY (SELECT {', '.join(cols)} FROM raw{order}) TO '{target}' (FORMAT csv, HEADER true)")


def _xml_text(value) -> str:
    return _XML_ILLEGAL.sub("\ufffd", "" if value is None else str(value))


def _problem_details(ds: ResultsDataset) -> dict[tuple[str, str], dict]:
    from aggregator.issues import ERROR_CLASS_SQL

    records = ds.records(f"""
        SELECT model, hw_class, mode({ERROR_CLASS_SQL}) AS error_class, mode(error_message) AS message,
               mode(traceback_tail) AS tb
        FROM raw WHERE status IN ({", ".join(f"'{s}'" for s in PROBLEM_STATUSES)}) GROUP BY ALL""")
    return {(r["model"], r["hw_class"]): r for r in records}


def junit_tree(d: ReportData, ds: ResultsDataset) -> ET.ElementTree:
    details = _problem_details(ds)
    s = d.perf.summary
    root = ET.Element("testsuites", name=_xml_text(d.title))
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for hw in d.perf.hardware:
        groups = [g for g in d.perf.groups if g.hw_class == hw.hw_class]
        suite = ET.SubElement(root, "testsuite", name=_xml_text(hw.hw_class), tests=str(len(groups)))
        props = ET.SubElement(suite, "properties")
        for name, value in [("chip", hw.chip), ("backend", hw.backend), ("os", hw.os), ("runs", ",".join(s.runs))] + [
            (f"version.{k}", ",".join(v)) for k, v in s.versions.items() if v
        ]:
            ET.SubElement(props, "property", name=name, value=_xml_text(value))
        counts = {"failures": 0, "errors": 0, "skipped": 0}
        suite_time = 0.0
        for g in groups:
            t = g.wall_s or 0.0
            suite_time += t
            case = ET.SubElement(
                suite, "testcase", name=_xml_text(g.model), classname=_xml_text(f"grid.{hw.hw_class}"), time=f"{t:.3f}"
            )
            status = g.status
            problem = max(PROBLEM_STATUSES, key=lambda p: g.counts.get(p, 0)) if status == "partial" else status
            info = details.get((g.model, g.hw_class), {})
            summary = f"{g.counts.get('ok', 0)}/{g.ran} cells ok" + "".join(
                f", {g.counts[p]} {p}" for p in PROBLEM_STATUSES if g.counts.get(p)
            )
            if status == "skipped":
                ET.SubElement(case, "skipped").text = _xml_text(f"{g.counts.get('skipped', 0)} cells skipped")
                counts["skipped"] += 1
            elif problem in PROBLEM_STATUSES:
                tag = "failure" if problem == "failed" else "error"
                counts["failures" if tag == "failure" else "errors"] += 1
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
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", f"{suite_time:.3f}")
        if s.started_at:
            suite.set("timestamp", _xml_text(s.started_at))
        totals["tests"] += len(groups)
        totals["failures"] += counts["failures"]
        totals["errors"] += counts["errors"]
        totals["time"] += suite_time
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    return ET.ElementTree(root)


def write_junit(d: ReportData, ds: ResultsDataset, path: Path) -> None:
    tree = junit_tree(d, ds)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
