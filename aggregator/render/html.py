"""The HTML report: one self-contained page (inline CSS, inline SVG charts, a small inline script for sorting).

Every piece of data reaches the page through `esc` (html.escape) or is a number we formatted; the only markup is ours.
A Content-Security-Policy pins the one inline script by its SHA-256 hash, so even text that slipped past escaping
could not run a script, and `default-src 'none'` means the page can load nothing from the network. This module has the
page and its overview sections; html_tables.py the per-class matrices and the detail sections.
"""

from __future__ import annotations

import base64
import hashlib

from aggregator.issues import ErrorGroup
from aggregator.model import ReportData
from aggregator.render import fmt, verdict_text
from aggregator.render.charts import grouped_bars, memory_label, percent_label, tps_label
from aggregator.render.coverage_text import coverage_html
from aggregator.render.environments import env_html
from aggregator.render.html_base import MATRIX_MODELS, Raw, asset, esc, num_td, p, section, table
from aggregator.render.html_sections import gallery_html, history_html, root_cause_html
from aggregator.render.html_tables import actionable, errors, hardware, results
from aggregator.render.nodetruth import node_truth_html
from aggregator.statuses import SKIPPED

CHART_MODELS = 25  # bars per chart: the fastest models; the tables have every model


def _banner(d: ReportData) -> Raw:
    return Raw("".join(f'<p class="banner" role="note">{esc(n)}</p>' for n in verdict_text.notes(d)))


def _verdict(d: ReportData) -> Raw:
    v = d.verdict
    if not v or not v.reference:
        return Raw("")
    heads = "".join(f"<li><b>{esc(h)}</b></li>" for h in verdict_text.verdict_headlines(d))
    parts = [
        p(
            f"Reference class: {v.reference} (--reference; default: the class with the most memory). Speedups are "
            "geometric means of per-model ratios over the models both classes ran ok; [range, geometric sd].",
            "note",
        ),
        Raw(f'<ul class="verdict">{heads}</ul>'),
    ]
    if v.classes:
        parts.append(table(*verdict_text.comparison_table(d), table_id="verdict-table"))
    header, rows = verdict_text.only_table(d)
    if rows:
        parts += [Raw("<h3>Models only one class ran</h3>"), table(header, rows)]
    parts += [Raw("<h3>Per class</h3>"), table(*verdict_text.facts_table(d), table_id="verdict-facts")]
    return section("verdict", "Hardware Verdict", *parts)


def _predicted(d: ReportData) -> Raw:
    pr = d.predictions
    if not pr or not pr.items or not verdict_text.shown_predictions(d):
        return Raw("")
    return section(
        "predicted",
        "Predicted decode speed on hardware not owned (predicted, not measured)",
        p(verdict_text.prediction_note(d), "note predicted"),
        table(*verdict_text.prediction_table(d), table_id="prediction-table"),
    )


def _summary(d: ReportData) -> Raw:
    s = d.perf.summary
    env = [
        [pkg, ", ".join(f"{v}" + (f" ({n:,} cells)" if len(vals) > 1 else "") for v, n in vals.items()) or fmt.DASH]
        for pkg, vals in s.versions.items()
    ]
    return section(
        "summary",
        "Executive Summary",
        _cards(d),
        Raw("<ul>" + "".join(f"<li>{esc(f)}</li>" for f in _facts(d)) + "</ul>"),
        coverage_html(d),  # n of N planned cells, missing cells, data problems
        Raw("<h3>Test Environment</h3>"),
        table(["Package", "Version"], env, sortable=False),
        _class_table(d),
    )


def _cards(d: ReportData) -> Raw:
    s = d.perf.summary
    ran = s.cells - s.status_counts.get(SKIPPED, 0)
    cards = [
        ("Models", s.models),
        ("Hardware classes", s.hw_classes),
        ("Cells", f"{s.cells:,}"),
        ("Success rate" + (" (fixtures apart)" if s.excluded_cells else ""), fmt.pct(s.success_rate)),
        ("Mean decode", f"{fmt.num(s.mean_decode_tps)} tok/s"),
    ]
    if d.synthetic and d.synthetic.verdicts:
        cards.append(("Fixture verdicts", f"{d.synthetic.as_expected}/{len(d.synthetic.verdicts)} as expected"))
    cards += [
        (fmt.STATUS_LABEL[k], f"{v:,}" + ("" if k == SKIPPED else f" ({fmt.rate(v, ran)})"))
        for k, v in s.status_counts.items()
    ]
    html_cards = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in cards)
    return Raw(f'<div class="cards">{html_cards}</div>')


def _facts(d: ReportData) -> list[str]:
    s = d.perf.summary
    facts = []
    if s.fastest:
        facts.append(
            f"Fastest model: {s.fastest.model} on {s.fastest.hw_class} ({fmt.num(s.fastest.decode_tps)} tok/s)"
        )
    if s.least_memory:
        facts.append(
            f"Least peak memory: {s.least_memory.model} on {s.least_memory.hw_class} "
            f"({fmt.gb(s.least_memory.peak_memory_gb)})"
        )
    facts.append(f"Models ok everywhere they ran: {s.models_all_ok} of {s.models}")
    return facts


def _class_table(d: ReportData) -> Raw:
    rows = [
        [
            c.hw_class,
            c.chip,
            num_td(c.ram_gb, fmt.ram_text(c)),
            num_td(c.gpu_cores, str(c.gpu_cores or fmt.DASH)),
            c.backend,
            c.os,
            num_td(c.nodes, str(c.nodes)),
            num_td(c.bandwidth_gbps, fmt.num(c.bandwidth_gbps, 0)),
            num_td(c.cells, f"{c.cells:,}"),
            num_td(c.ok / c.cells if c.cells else None, fmt.rate(c.ok, c.cells)),
            num_td(c.median_decode_tps, fmt.num(c.median_decode_tps)),
        ]
        for c in d.perf.hardware
    ]
    return table(fmt.CLASS_HEADER, rows)


def _chart_models(d: ReportData) -> list[str]:
    best: dict[str, float] = {}
    for g in d.perf.groups:
        if g.decode_tps is not None:
            best[g.model] = max(best.get(g.model, 0.0), g.decode_tps)
    return sorted(best, key=lambda m: -best[m])[:CHART_MODELS]


def _marker(g) -> str | None:
    """The word a chart shows where a ran cell has no value: its status (timeout, failed, ...), or skipped."""
    if g.decode_tps is not None:
        return None
    return "skipped" if not g.ran else g.worst if not g.ok else None


def _charts(d: ReportData) -> Raw:
    models = _chart_models(d)
    classes = [c.hw_class for c in d.perf.hardware]
    by = {(g.model, g.hw_class): g for g in d.perf.groups}

    def values(attr):
        return {(m, c): getattr(by[(m, c)], attr) for m in models for c in classes if (m, c) in by}

    note = p(
        f"The {len(models)} fastest models (of {len({g.model for g in d.perf.groups})}); hover a bar for its "
        f"value. A marker (× timeout, × failed, × skipped) stands where a cell ran but has no value; no bar and no "
        f"marker: not run. Axes spanning more than two decades are logarithmic (said on the axis).",
        "note",
    )
    markers = {(m, c): _marker(by[(m, c)]) for m in models for c in classes if (m, c) in by}
    markers = {k: v for k, v in markers.items() if v}
    bw = {k: (v * 100 if v is not None else None) for k, v in values("bandwidth_fraction").items()}
    decode = grouped_bars(
        "chart-decode",
        "Decode tok/s by model and hardware class",
        models,
        classes,
        values("decode_tps"),
        "tok/s",
        fmt=tps_label,
        markers=markers,
    )
    memory = grouped_bars(
        "chart-memory",
        "Peak memory by model and hardware class",
        models,
        classes,
        values("peak_memory_gb"),
        "peak memory",
        fmt=memory_label,
        markers=markers,
    )
    bandwidth = grouped_bars(
        "chart-bandwidth",
        "Share of the memory-bandwidth limit while decoding",
        models,
        classes,
        bw,
        "% of bandwidth",
        fmt=percent_label,
        reference=100.0,
        reference_label="100%",
        markers=markers,
        log=False,
    )
    return section("charts", "Charts", note, Raw(decode), Raw(memory), Raw(bandwidth))


def _critical(d: ReportData) -> Raw:
    if not d.errors:
        return section("critical", "Critical Issues", p("No cell failed, timed out, crashed or ran out of memory."))
    items = [_issue(i, e) for i, e in enumerate(d.errors, 1)]
    return section(
        "critical",
        "Critical Issues for Framework Maintainers",
        p(
            f"{sum(e.cells for e in d.errors):,} cells did not succeed, grouped into {len(d.errors)} root "
            f"causes (error class × owning package)."
        ),
        *items,
    )


def _issue(i: int, e: ErrorGroup) -> Raw:
    models = "".join(
        f"<li><code>{esc(m.model)}</code> on {esc(', '.join(m.hw_classes))}{' — unusable' if m.unusable else ''}</li>"
        for m in e.models[:50]
    )
    if len(e.models) > 50:
        models += f"<li>… and {len(e.models) - 50} more (results.csv)</li>"
    per_class = table(
        ["Hardware class", "Models affected"],
        [[k, num_td(v, str(v))] for k, v in e.per_class.items()],
        sortable=False,
    )
    return Raw(
        f'<div class="issue {esc(e.severity)}"><h3>Issue {i}: {esc(e.error_class)} in {esc(e.package)}</h3>'
        f"<p><b>Package</b>: {esc(e.package)} · <b>Severity</b>: {esc(e.severity)} · <b>Status</b>: "
        f"{esc(', '.join(e.statuses))} ({e.cells:,} cells, {len(e.models)} models)</p>"
        f"<p><b>Error</b>: {esc(e.error_class)}</p>{root_cause_html(e)}"
        f"<p><b>Root cause</b>:</p><pre>{esc(e.message or '')}</pre>"
        f"<p><b>Suggested fix</b>: {esc(e.fix or fmt.DASH)}</p><p><b>Affected models</b>:</p><ul>{models}</ul>"
        f"{per_class}</div>"
    )


def _quality(d: ReportData) -> Raw:
    if not d.quality:
        return section("quality", "Quality Issues in Successful Models", p("No quality flags on successful cells."))
    rows = [
        [
            Raw(f"<td><code>{esc(q.model)}</code></td>"),
            fmt.quality_text(q.kinds),
            num_td(q.flagged_cells / q.ok_cells if q.ok_cells else None, f"{q.flagged_cells:,}/{q.ok_cells:,}"),
            ", ".join(q.hw_classes),
        ]
        for q in d.quality[:MATRIX_MODELS]
    ]
    return section(
        "quality",
        "Quality Issues in Successful Models",
        table(["Model", "Issues", "Flagged / OK cells", "Hardware"], rows),
    )


def _perf(d: ReportData) -> Raw:
    ranked = []
    for kind, groups in verdict_text.ranked_kinds(d):
        rows = [
            [
                num_td(i, str(i)),
                g.model,
                g.hw_class,
                num_td(g.decode_tps, fmt.decode_with_spread(g)),
                num_td(g.peak_memory_gb, fmt.gb(g.peak_memory_gb)),
                num_td(g.ttft_s, fmt.num(g.ttft_s, 2)),
            ]
            for i, g in enumerate(groups, 1)
        ]
        ranked += [
            Raw(f"<h4>{esc(kind.capitalize())}s</h4>"),
            table(["Rank", "Model", "Hardware", "Decode tok/s [IQR]", "Peak memory", "TTFT s"], rows),
        ]
    bal = [
        [
            num_td(i, str(i)),
            g.model,
            g.hw_class,
            num_td(g.decode_tps, fmt.num(g.decode_tps)),
            num_td(g.peak_memory_gb, fmt.gb(g.peak_memory_gb)),
            num_td(score, fmt.num(score)),
        ]
        for i, (g, score) in enumerate(d.perf.best_balance, 1)
    ]
    return section(
        "performance",
        "Performance Highlights",
        Raw("<h3>Top 10 fastest (decode tok/s)</h3>"),
        *ranked,
        Raw("<h3>Best quality/speed balance</h3>"),
        p(
            "Every cell ok, no quality flag; ranked by tok/s per GB of peak memory (random-weight twins are not "
            "ranked: their text has no quality).",
            "note",
        ),
        table(["Rank", "Model", "Hardware", "Decode tok/s", "Peak memory", "tok/s per GB"], bal),
    )


NAV = [
    ("verdict", "Verdict"),
    ("summary", "Summary"),
    ("charts", "Charts"),
    ("critical", "Critical issues"),
    ("quality", "Quality"),
    ("performance", "Performance"),
    ("predicted", "Predicted"),
    ("hardware", "Per hardware"),
    ("node-truth", "Energy"),
    ("actionable", "Actionable"),
    ("test-matrix", "Test matrix"),
    ("errors", "Errors"),
    ("gallery", "Gallery"),
    ("results", "All results"),
]


def render_html(d: ReportData) -> str:
    css, js = asset("report.css"), asset("report.js")
    script_hash = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    style_hash = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = (
        f"default-src 'none'; script-src 'sha256-{script_hash}'; style-src 'sha256-{style_hash}'; "
        f"img-src data:; base-uri 'none'; form-action 'none'"
    )
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in NAV)
    body = "".join(
        [
            _banner(d),
            _verdict(d),
            _summary(d),
            _charts(d),
            _critical(d),
            _quality(d),
            _perf(d),
            _predicted(d),
            hardware(d),
            node_truth_html(d),
            env_html(d),
            actionable(d),
            errors(d),
            gallery_html(d),
            history_html(d),
            results(d),
        ]
    )
    runs = ", ".join(d.perf.summary.runs)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(d.title)}</title><style>{css}</style></head><body>"
        f"<header><h1>{esc(d.title)}</h1><p>Runs {esc(runs)} · generated by grid on {esc(d.generated_at)} from "
        f"{esc(d.results_root)}</p></header><nav>{nav}</nav><main>{body}</main>"
        f"<script>{js}</script></body></html>\n"
    )
