"""The HTML report's detail sections: per-class matrices, actionable items and test matrix, error details, results."""

from __future__ import annotations

from aggregator.analysis import Group
from aggregator.issues import by_package
from aggregator.model import ReportData
from aggregator.render import fmt
from aggregator.render.html_base import MATRIX_MODELS, Raw, esc, num_td, p, section, table, td


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


def hardware(d: ReportData) -> Raw:
    ref = d.perf.reference_class or fmt.DASH
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
        _trial_stats(d),
    )


def _trial_stats(d: ReportData) -> Raw:
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
    if not outliers:
        return p("No outlier trials were recorded.")
    return table(["Model", "Hardware", "Trials", "Median tok/s", "IQR", "Outlier trials"], outliers)


def actionable(d: ReportData) -> Raw:
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


def errors(d: ReportData) -> Raw:
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


def results(d: ReportData) -> Raw:
    rows = []
    for r in d.table.rows:
        out = " ".join((r["output"] or "").split())  # an output of newlines must not blow the row up
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
        table(RESULTS_HEADER, rows, "results-table"),
    )


RESULTS_HEADER = [
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
]
