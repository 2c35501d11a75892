"""`write_reports`: read the runs once, analyze once, render every requested format into one folder."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.analysis import Performance, analyze_performance
from aggregator.dataset import ReportError, ResultsDataset, open_results
from aggregator.issues import (
    ERROR_CLASS_SQL,
    ErrorGroup,
    QualityIssue,
    Tracebacks,
    error_groups,
    quality_issues,
    recompute_quality,
    tracebacks,
)

FORMATS = {"md": "report.md", "html": "report.html", "json": "summary.json", "csv": "results.csv", "junit": "junit.xml"}


@dataclass
class ResultsTable:
    """The first `limit` rows in (model, class, prompt, image, run) order; the CSV has them all."""

    rows: list[dict]
    total: int


@dataclass
class ReportData:
    title: str
    generated_at: str
    results_root: str
    perf: Performance
    errors: list[ErrorGroup]
    quality: list[QualityIssue]
    tracebacks: Tracebacks
    table: ResultsTable
    thresholds: dict | None = None
    limits: dict = field(default_factory=dict)


def results_table(ds: ResultsDataset, limit: int) -> ResultsTable:
    rows = ds.records(f"""
        SELECT run_id, model, hw_class, prompt_id, image_id, status,
               CASE WHEN status NOT IN ('ok', 'skipped') THEN {ERROR_CLASS_SQL} END AS error_class,
               decode_tps, decode_tps_iqr, peak_memory_gb, ttft_s, generation_tokens, quality_flags,
               left(output_text, 400) AS output, length(output_text) AS output_chars
        FROM raw ORDER BY model, hw_class, prompt_id, image_id, run_id LIMIT {int(limit)}""")
    return ResultsTable(rows, ds.row_count)


def build_report(
    ds: ResultsDataset,
    *,
    thresholds: Mapping | None = None,
    reference_class: str | None = None,
    max_table_rows: int = 1000,
    max_tracebacks: int = 50,
    title: str | None = None,
) -> ReportData:
    source = recompute_quality(ds, thresholds) if thresholds else "rows"
    quality, flagged = quality_issues(ds, source)
    perf = analyze_performance(ds, flagged, reference_class)
    ok_models = {g.model for g in perf.groups if g.counts.get("ok")}
    errors = error_groups(ds, ok_models)
    now = datetime.datetime.now(datetime.UTC)
    started = (perf.summary.started_at or "")[:10] or now.strftime("%Y-%m-%d")
    return ReportData(
        title=title or f"MLX VLM Model Compatibility Report — {started}",
        generated_at=now.strftime("%Y-%m-%d %H:%M:%S UTC"),
        results_root=str(ds.root),
        perf=perf,
        errors=errors,
        quality=quality,
        tracebacks=tracebacks(ds, max_tracebacks, sum(len(e.models) for e in errors)),
        table=results_table(ds, max_table_rows),
        thresholds=dict(thresholds) if thresholds else None,
        limits={"max_table_rows": max_table_rows, "max_tracebacks": max_tracebacks},
    )


def parse_formats(formats: str | Sequence[str]) -> list[str]:
    items = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    unknown = [f for f in items if f not in FORMATS]
    if unknown or not items:
        raise ReportError(f"unknown report format {', '.join(unknown) or '(none)'}; choose from {','.join(FORMATS)}")
    return list(dict.fromkeys(items))


def write_reports(
    results_root: str | Path,
    run_id: str | list[str] | None,
    out_dir: Path,
    formats: str | Sequence[str] = ("md", "html", "json", "csv", "junit"),
    thresholds=None,
    *,
    reference_class: str | None = None,
    max_table_rows: int = 1000,
    max_tracebacks: int = 50,
    title: str | None = None,
    threads: int | None = None,
) -> dict[str, Path]:
    """Write the requested formats for the given runs (None: every run under the root) into `out_dir`.

    Returns {format: path}. Raises ReportError (one line, with advice) for a missing run, an empty run or a bad
    option. `thresholds`: grid.core.quality threshold overrides; when given, quality flags are recomputed from the
    stored outputs."""
    wanted = parse_formats(formats)
    ds = open_results(results_root, run_id, threads=threads)
    try:
        data = build_report(
            ds,
            thresholds=thresholds,
            reference_class=reference_class,
            max_table_rows=max_table_rows,
            max_tracebacks=max_tracebacks,
            title=title,
        )
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for fmt in wanted:
            path = out_dir / FORMATS[fmt]
            tmp = path.with_name(f".{path.name}.tmp")  # readers of the folder never see half a report
            if fmt == "md":
                from aggregator.markdown import render_markdown

                tmp.write_text(render_markdown(data), encoding="utf-8")
            elif fmt == "html":
                from aggregator.html import render_html

                tmp.write_text(render_html(data), encoding="utf-8")
            elif fmt == "json":
                from aggregator.machine import write_summary_json

                write_summary_json(data, tmp)
            elif fmt == "csv":
                from aggregator.machine import write_results_csv

                write_results_csv(ds, tmp)
            elif fmt == "junit":
                from aggregator.machine import write_junit

                write_junit(data, ds, tmp)
            tmp.replace(path)
            paths[fmt] = path
        return paths
    finally:
        ds.close()
