"""The report model: `ReportData`, every figure a report shows, computed once from a dataset by `build_report`.

Renderers (aggregator/render/) read a ReportData and never query the dataset for figures; only the CSV export and
the JUnit details stream from it. Nothing here imports a renderer.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from aggregator.analysis import Performance, analyze_performance
from aggregator.coverage import Coverage, build_coverage
from aggregator.dataset import ResultsDataset
from aggregator.environments import EnvReport, analyze_environments
from aggregator.gallery import Gallery, gallery
from aggregator.history import History, history, run_prompts
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
from aggregator.nodetruth import NodeTruth, analyze_node_truth
from aggregator.predict import Predictions, predict
from aggregator.statuses import OK, SKIPPED, sql_list
from aggregator.synthetic import Synthetic, analyze_synthetic
from aggregator.verdict import Verdict, build_verdict
from grid.core.quality import PIPELINE_SQL


@dataclass
class ResultsTable:
    """The first `limit` rows in (model, class, prompt, image, run, environment) order; the CSV has them all."""

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
    coverage: Coverage | None = None  # n of N planned cells have rows, what is missing, data problems (coverage.py)
    synthetic: Synthetic | None = None  # twins, fixtures, fixture verdicts (aggregator/synthetic.py)
    verdict: Verdict | None = None  # the hardware verdict (aggregator/verdict.py)
    environments: EnvReport | None = None  # model × package environment (aggregator/environments.py)
    node_truth: NodeTruth | None = None  # energy per token and node stability per class (aggregator/nodetruth.py)
    predictions: Predictions | None = None  # *predicted* decode speed on chips not owned (aggregator/predict.py)
    gallery: Gallery | None = None  # each model's output per prompt × image (aggregator/gallery.py)
    history: History | None = None  # across runs, when the report covers several (aggregator/history.py)
    prompts: dict[str, str] = field(default_factory=dict)  # prompt id -> text, from the runs' manifests (repros)


def results_table(ds: ResultsDataset, limit: int) -> ResultsTable:
    rows = ds.records(f"""
        SELECT run_id, model, hw_class, prompt_id, image_id, status,
               CASE WHEN status NOT IN {sql_list((OK, SKIPPED))} THEN {ERROR_CLASS_SQL} END AS error_class,
               decode_tps, decode_tps_iqr, peak_memory_gb, ttft_s, generation_tokens,
               CASE WHEN model LIKE 'twin%' THEN {PIPELINE_SQL} ELSE quality_flags END AS quality_flags,  -- twins
               left(output_text, 400) AS output, length(output_text) AS output_chars
        FROM raw ORDER BY model, hw_class, prompt_id, image_id, run_id, env_id, attempt, cell_id LIMIT {int(limit)}""")
    return ResultsTable(rows, ds.row_count)


def build_report(
    ds: ResultsDataset,
    *,
    thresholds: Mapping | None = None,
    reference_class: str | None = None,
    max_table_rows: int = 1000,
    max_tracebacks: int = 50,
    title: str | None = None,
    prices: Mapping[str, float] | None = None,
    currency: str | None = None,
) -> ReportData:
    """Every figure of the report. `thresholds`: grid.core.quality threshold overrides; when given, quality flags are
    recomputed from the stored outputs. `reference_class`: the class speed ratios are relative to (default: an M4
    Max class, else the fastest)."""
    source = recompute_quality(ds, thresholds) if thresholds else "rows"
    quality, flagged = quality_issues(ds, source)
    # random weights: their text flags are dropped in quality_issues; a flag of how one ran (image dropped) is kept
    synthetic = analyze_synthetic(ds)
    perf = analyze_performance(ds, flagged, reference_class, synthetic.expected_models)
    verdict = build_verdict(ds, perf.groups, perf.hardware, reference_class, dict(prices or {}), currency)
    bytes_of = {
        (r["model"], r["hw_class"]): r["b"]
        for r in ds.records(
            f"SELECT model, hw_class, max(coalesce(decode_weight_bytes, weight_bytes)) AS b FROM rows "
            f"WHERE status = '{OK}' GROUP BY ALL"
        )
    }
    ok_models = {g.model for g in perf.groups if g.counts.get(OK)}
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
        coverage=build_coverage(ds),
        synthetic=synthetic,
        verdict=verdict,
        predictions=predict(perf.groups, perf.hardware, bytes_of),
        environments=analyze_environments(ds),
        node_truth=analyze_node_truth(ds),
        gallery=gallery(ds),
        history=history(ds) if len(perf.summary.runs) > 1 else None,
        prompts=run_prompts(ds),
    )
