"""summary.json: every figure of the report, for machines (format `grid-report-summary/1`)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from aggregator.analysis import Group
from aggregator.dataset import ResultsDataset
from aggregator.model import ReportData
from aggregator.render.coverage_text import coverage_dict
from grid.core.schema import SCHEMA_VERSION

SUMMARY_FORMAT = "grid-report-summary/1"


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
            "critical_issues": [
                dict(
                    dataclasses.asdict(e),
                    severity=e.severity,
                    tag=e.tag,
                    impact=e.impact,
                    decisive_frame=e.root.frame.location if e.root and e.root.frame else None,
                    owner=e.root.owner if e.root else None,
                )
                for e in d.errors
            ],
            "gallery": dataclasses.asdict(d.gallery) if d.gallery else None,
            "history": dataclasses.asdict(d.history) if d.history else None,
            "quality_issues": [dataclasses.asdict(q) for q in d.quality],
            "quality_thresholds": d.thresholds,
            "top_speed": [
                {
                    "model": g.model,
                    "hw_class": g.hw_class,
                    "decode_tps": g.decode_tps,
                    "peak_memory_gb": g.peak_memory_gb,
                }
                for g in d.perf.top_speed
            ],
            "best_balance": [
                {
                    "model": g.model,
                    "hw_class": g.hw_class,
                    "decode_tps": g.decode_tps,
                    "peak_memory_gb": g.peak_memory_gb,
                    "tps_per_gb": score,
                }
                for g, score in d.perf.best_balance
            ],
            "test_matrix": [dataclasses.asdict(p) for p in d.perf.test_matrix],
            "synthetic": d.synthetic.to_dict() if d.synthetic else None,
            "verdict": d.verdict.to_dict() if d.verdict else None,
            "predictions": d.predictions.to_dict() if d.predictions else None,
            "top_speed_by_kind": {
                kind: [{"model": g.model, "hw_class": g.hw_class, "decode_tps": g.decode_tps} for g in gs]
                for kind, gs in d.perf.top_speed_by_kind.items()
            },
            "limits": d.limits,
            "coverage": coverage_dict(d),  # n of N planned cells have rows, missing cells, data problems
        }
    )


def write_summary_json(d: ReportData, ds: ResultsDataset, path: Path) -> None:
    path.write_text(json.dumps(summary_dict(d), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
