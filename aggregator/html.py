"""The HTML report: one self-contained page (inline CSS, inline SVG charts, a small inline script for sorting).

Every piece of data reaches the page through `esc` (html.escape) or is a number we formatted; the only markup is ours.
A Content-Security-Policy pins the one inline script by its SHA-256 hash, so even text that slipped past escaping
could not run a script, and `default-src 'none'` means the page can load nothing from the network.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import re
from importlib import resources

from aggregator import fmt
from aggregator.analysis import Group, best_balance, top_speed
from aggregator.build import ReportData
from aggregator.charts import grouped_bars
from aggregator.issues import by_package

CHART_MODELS = 25  # bars per chart: the fastest models; the tables have every model
MATRIX_MODELS = 500


class Raw(str):
    """Markup we built ourselves; everything else is escaped."""


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # terminal colours in tracebacks, NULs in outputs


def esc(value) -> str:
    if isinstance(value, Raw):
        return value
    return _html.escape(_CONTROL.sub("\ufffd", "" if value is None else str(value)), quote=True)


def asset(name: str) -> str:
    return resources.files("aggregator").joinpath("assets", name).read_text(encoding="utf-8")


def td(value, sort=None, cls: str = "") -> Raw:
    attrs = (f' data-v="{esc(sort)}"' if sort is not None else "") + (f' class="{esc(cls)}"' if cls else "")
    return Raw(f"<td{attrs}>{esc(value)}</td>")


def num_td(value: float | None, text: str) -> Raw:
    return td(text, "" if value is None else f"{value:.6g}", "num")


def table(headers: list, rows: list[list], table_id: str = "", sortable: bool = True, head_cls=None) -> Raw:
    ths = "".join(
        f"<th{f' class={chr(34)}{head_cls(i)}{chr(34)}' if head_cls and head_cls(i) else ''}>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>" + "".join(c if isinstance(c, Raw) and c.startswith("<td") else td(c) for c in r) + "</tr>" for r in rows
    )
    attrs = (f' id="{esc(table_id)}"' if table_id else "") + (' class="sortable"' if sortable else "")
    return Raw(f'<div class="scroll"><table{attrs}><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>')


def section(anchor: str, title: str, *parts) -> Raw:
    return Raw(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>' + "".join(esc(p) for p in parts) + "</section>")


def p(text, cls: str = "") -> Raw:
    return Raw(f"<p{f' class={chr(34)}{cls}{chr(34)}' if cls else ''}>{esc(text)}</p>")


def _summary(d: ReportData) -> Raw:
    s = d.perf.summary
    ran = s.cells - s.status_counts.get("skipped", 0)
    cards = [
        ("Models", s.models),
        ("Hardware classes", s.hw_classes),
        ("Cells", f"{s.cells:,}"),
        ("Success rate", fmt.pct(s.success_rate)),
        ("Mean decode", f"{fmt.num(s.mean_decode_tps)} tok/s"),
    ]
    cards += [
        (fmt.STATUS_LABEL[k], f"{v:,}" + ("" if k == "skipped" else f" ({fmt.rate(v, ran)})"))
        for k, v in s.status_counts.items()
    ]
    html_cards = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in cards)
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
    env = [
        [pkg, ", ".join(f"{v}" + (f" ({n:,} cells)" if len(vals) > 1 else "") for v, n in vals.items()) or fmt.DASH]
        for pkg, vals in s.versions.items()
    ]
    hw = [
        [
            c.hw_class,
            c.chip,
            num_td(c.ram_gb, fmt.num(c.ram_gb, 0)),
            num_td(c.gpu_cores, str(c.gpu_cores or "—")),
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
    return section(
        "summary",
        "Executive Summary",
        Raw(f'<div class="cards">{html_cards}</div>'),
        Raw("<ul>" + "".join(f"<li>{esc(f)}</li>" for f in facts) + "</ul>"),
        Raw("<h3>Test Environment</h3>"),
        table(["Package", "Version"], env, sortable=False),
        table(
            [
                "Class",
                "Chip",
                "RAM GB",
                "GPU cores",
                "Backend",
                "OS",
                "Nodes",
                "Bandwidth GB/s",
                "Cells",
                "OK",
                "Median tok/s",
            ],
            hw,
        ),
    )


def _chart_models(d: ReportData) -> list[str]:
    best: dict[str, float] = {}
    for g in d.perf.groups:
        if g.decode_tps is not None:
            best[g.model] = max(best.get(g.model, 0.0), g.decode_tps)
    return sorted(best, key=lambda m: -best[m])[:CHART_MODELS]


def _charts(d: ReportData) -> Raw:
    models = _chart_models(d)
    classes = [c.hw_class for c in d.perf.hardware]
    by = {(g.model, g.hw_class): g for g in d.perf.groups}

    def values(attr):
        return {(m, c): getattr(by[(m, c)], attr) for m in models for c in classes if (m, c) in by}

    note = p(
        f"The {len(models)} fastest models (of {len({g.model for g in d.perf.groups})}); hover a bar for its "
        f"value. Missing bars: not run, skipped, failed or not measured.",
        "note",
    )
    bw = {k: (v * 100 if v is not None else None) for k, v in values("bandwidth_fraction").items()}
    return section(
        "charts",
        "Charts",
        note,
        Raw(
            grouped_bars(
                "chart-decode",
                "Decode tok/s by model and hardware class",
                models,
                classes,
                values("decode_tps"),
                "tok/s",
            )
        ),
        Raw(
            grouped_bars(
                "chart-memory",
                "Peak memory by model and hardware class",
                models,
                classes,
                values("peak_memory_gb"),
                "GB",
            )
        ),
        Raw(
            grouped_bars(
                "chart-bandwidth",
                "Share of the memory-bandwidth limit while decoding",
                models,
                classes,
                bw,
                "% of bandwidth",
                fmt=lambda v: f"{v:.0f}%",
                reference=100.0,
                reference_label="100%",
            )
        ),
    )


def _critical(d: ReportData) -> Raw:
    if not d.errors:
        return section("critical", "Critical Issues", p("No cell failed, timed out, crashed or ran out of memory."))
    items = []
    for i, e in enumerate(d.errors, 1):
        models = "".join(
            f"<li><code>{esc(m.model)}</code> on {esc(', '.join(m.hw_classes))}"
            f"{' — unusable' if m.unusable else ''}</li>"
            for m in e.models[:50]
        )
        if len(e.models) > 50:
            models += f"<li>… and {len(e.models) - 50} more (results.csv)</li>"
        per_class = table(
            ["Hardware class", "Models affected"],
            [[k, num_td(v, str(v))] for k, v in e.per_class.items()],
            sortable=False,
        )
        items.append(
            Raw(
                f'<div class="issue {esc(e.severity)}"><h3>Issue {i}: {esc(e.error_class)} in {esc(e.package)}</h3>'
                f"<p><b>Package</b>: {esc(e.package)} · <b>Severity</b>: {esc(e.severity)} · <b>Status</b>: "
                f"{esc(', '.join(e.statuses))} ({e.cells:,} cells, {len(e.models)} models)</p>"
                f"<p><b>Error</b>: {esc(e.error_class)}</p><p><b>Root cause</b>:</p><pre>{esc(e.message or '')}</pre>"
                f"<p><b>Suggested fix</b>: {esc(e.fix or fmt.DASH)}</p><p><b>Affected models</b>:</p><ul>{models}</ul>"
                f"{per_class}</div>"
            )
        )
    return section(
        "critical",
        "Critical Issues for Framework Maintainers",
        p(
            f"{sum(e.cells for e in d.errors):,} cells did not succeed, grouped into {len(d.errors)} root "
            f"causes (error class × owning package)."
        ),
        *items,
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
    top = [
        [
            num_td(i, str(i)),
            g.model,
            g.hw_class,
            num_td(g.decode_tps, fmt.decode_with_spread(g)),
            num_td(g.peak_memory_gb, fmt.gb(g.peak_memory_gb)),
            num_td(g.ttft_s, fmt.num(g.ttft_s, 2)),
        ]
        for i, g in enumerate(top_speed(d.perf.groups), 1)
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
        for i, (g, score) in enumerate(best_balance(d.perf.groups), 1)
    ]
    return section(
        "performance",
        "Performance Highlights",
        Raw("<h3>Top 10 fastest (decode tok/s)</h3>"),
        table(["Rank", "Model", "Hardware", "Decode tok/s [IQR]", "Peak memory", "TTFT s"], top),
        Raw("<h3>Best quality/speed balance</h3>"),
        p("Every cell ok, no quality flag; ranked by tok/s per GB of peak memory.", "note"),
        table(["Rank", "Model", "Hardware", "Decode tok/s", "Peak memory", "tok/s per GB"], bal),
    )


def _matrix(d: ReportData, cell_fn, table_id: str) -> Raw:
    classes = [c.hw_class for c in d.perf.hardware]
    ref = d.perf.reference_class
    by = {(g.model, g.hw_class): g for g in d.perf.groups}
    models = sorted({g.model for g in d.perf.groups})
    rows = [
        [Raw(f"<td><code>{esc(m)}</code></td>")]
        + [cell_fn(by[(m, c)]) if (m, c) in by else td(fmt.DASH) for c in classes]
        for m in models[:MATRIX_MODELS]
    ]
    headers = ["Model"] + [c + (" (ref)" if c == ref else "") for c in classes]
    note = p(f"First {MATRIX_MODELS} of {len(models):,} models.", "note") if len(models) > MATRIX_MODELS else ""
    return Raw(
        table(headers, rows, table_id, head_cls=lambda i: "ref" if i and classes[i - 1] == ref else "") + esc(note)
    )


def _status_td(g: Group) -> Raw:
    return td(fmt.status_text(g, icons=False), g.status, f"s-{g.status}")


def _decode_td(g: Group) -> Raw:
    ratio = f" · {fmt.ratio(g.ratio_to_reference)}" if g.ratio_to_reference is not None else ""
    return num_td(g.decode_tps, (fmt.decode_with_spread(g) + ratio) if g.decode_tps is not None else fmt.DASH)


def _hardware(d: ReportData) -> Raw:
    ref = d.perf.reference_class or fmt.DASH
    outliers = [
        [
            g.model,
            g.hw_class,
            num_td(g.trials, str(g.trials)),
            num_td(g.decode_tps, fmt.num(g.decode_tps)),
            num_td(
                None if g.decode_q1 is None else g.decode_q3 - g.decode_q1,
                f"{fmt.num(g.decode_q1)}–{fmt.num(g.decode_q3)}",
            ),
            num_td(g.outliers, str(g.outliers)),
        ]
        for g in d.perf.groups
        if g.outliers
    ][:100]
    return section(
        "hardware",
        "Results per Hardware Class",
        Raw("<h3>Compatibility matrix (model × hardware class)</h3>"),
        _matrix(d, _status_td, "matrix-status"),
        Raw(f"<h3>Decode tok/s per class (ratio to {esc(ref)})</h3>"),
        p(
            f"Median [IQR] (over a single cell's raw trials, or over the cells' medians), and the speed relative to the "
            f"same model on {ref}.",
            "note",
        ),
        _matrix(d, _decode_td, "matrix-decode"),
        Raw("<h3>Peak memory per class</h3>"),
        _matrix(d, lambda g: num_td(g.peak_memory_gb, fmt.gb(g.peak_memory_gb)), "matrix-memory"),
        Raw("<h3>Memory-bandwidth utilisation</h3>"),
        p(
            "Measured bandwidth_fraction; * = derived as weight bytes × decode tok/s ÷ class bandwidth; — = unknown.",
            "note",
        ),
        _matrix(
            d,
            lambda g: num_td(
                g.bandwidth_fraction, fmt.pct(g.bandwidth_fraction) + ("*" if g.bandwidth_source == "derived" else "")
            ),
            "matrix-bandwidth",
        ),
        Raw("<h3>Trial statistics</h3>"),
        table(["Model", "Hardware", "Trials", "Median tok/s", "IQR", "Outlier trials"], outliers)
        if outliers
        else p("No outlier trials were recorded."),
    )


def _actionable(d: ReportData) -> Raw:
    parts = []
    for pkg, groups in by_package(d.errors).items():
        items = "".join(
            f"<li><b>[{esc(e.tag)}]</b> {esc(e.error_class)}: "
            f"{esc(fmt.headline(e.error_class, e.message))} — {len(e.models)} models on "
            f"{esc(', '.join(e.per_class))}{'; fix: ' + esc(e.fix) if e.fix else ''}</li>"
            for e in groups
        )
        parts.append(Raw(f"<h3>For {esc(pkg)} maintainers</h3><ol>{items}</ol>"))
    rows = [
        [
            t.arch,
            Raw(f"<td><code>{esc(t.model)}</code></td>"),
            num_td(t.decode_tps, fmt.num(t.decode_tps)),
            num_td(t.peak_memory_gb, fmt.gb(t.peak_memory_gb)),
            t.reason,
        ]
        for t in d.perf.test_matrix
    ]
    return Raw(
        section("actionable", "Actionable Items by Package", *(parts or [p("Nothing to act on.")]))
        + section(
            "test-matrix",
            "Suggested Test Matrix",
            p("One reliable fast model per architecture: ok on every cell it ran, fewest flags, fastest.", "note"),
            table(["Architecture", "Model", "Median tok/s", "Peak memory", "Reason"], rows),
        )
    )


def _errors(d: ReportData) -> Raw:
    blocks = "".join(
        f"<details><summary>{esc(t.model)} — {esc(t.error_class)} ({esc(t.package)}), "
        f"{esc(', '.join(t.hw_classes))}</summary><pre>{esc(t.traceback)}</pre></details>"
        for t in d.tracebacks.items
    )
    more = (
        p(f"{d.tracebacks.total - len(d.tracebacks.items)} more in results.csv.", "note")
        if d.tracebacks.total > len(d.tracebacks.items)
        else ""
    )
    return section("errors", "Full Error Details", Raw(blocks or "<p>No tracebacks recorded.</p>"), more)


def _results(d: ReportData) -> Raw:
    rows = []
    for r in d.table.rows:
        out = r["output"] or ""
        if r["output_chars"] and r["output_chars"] > len(out):
            out += f" … ({r['output_chars']:,} chars)"
        rows.append(
            [
                r["run_id"],
                r["model"],
                r["hw_class"],
                r["prompt_id"],
                r["image_id"],
                td(r["status"], r["status"], f"s-{r['status']}"),
                num_td(r["decode_tps"], fmt.num(r["decode_tps"])),
                num_td(r["peak_memory_gb"], fmt.gb(r["peak_memory_gb"])),
                ", ".join(r["quality_flags"] or []) or (r["error_class"] or fmt.DASH),
                td(out, cls="output"),
            ]
        )
    note = (
        p(f"First {len(d.table.rows):,} of {d.table.total:,} rows; results.csv has every row.", "note")
        if d.table.total > len(d.table.rows)
        else ""
    )
    return section(
        "results",
        "Full Results Table",
        note,
        Raw('<input class="filter" type="search" placeholder="Filter rows…" data-table="results-table">'),
        table(
            [
                "Run",
                "Model",
                "Hardware",
                "Prompt",
                "Image",
                "Status",
                "Decode tok/s",
                "Peak memory",
                "Quality / error",
                "Output",
            ],
            rows,
            "results-table",
        ),
    )


NAV = [
    ("summary", "Summary"),
    ("charts", "Charts"),
    ("critical", "Critical issues"),
    ("quality", "Quality"),
    ("performance", "Performance"),
    ("hardware", "Per hardware"),
    ("actionable", "Actionable"),
    ("test-matrix", "Test matrix"),
    ("errors", "Errors"),
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
            _summary(d),
            _charts(d),
            _critical(d),
            _quality(d),
            _perf(d),
            _hardware(d),
            _actionable(d),
            _errors(d),
            _results(d),
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
