"""Plain-text tables of the hardware verdict, the synthetic-data notes and the *predicted* speeds, shared by the
Markdown and HTML renderers (plain text out: each renderer escapes every cell)."""

from __future__ import annotations

from aggregator.model import ReportData
from aggregator.render import fmt
from aggregator.synthetic import KINDS

PREDICTION_MODELS = 6  # columns of the prediction table; summary.json has every prediction


def notes(d: ReportData) -> list[str]:
    """The banner lines: twins present, fixture verdicts (kept apart from the success rate)."""
    out = []
    syn = d.synthetic
    if syn and syn.banner:
        kinds = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in syn.counts.items())
        out.append(f"{syn.banner} Models: {kinds}.")
    if syn and syn.verdict_line():
        out.append(
            f"{syn.verdict_line().capitalize()} (fixtures and expected failures: {len(syn.expected_models)} models, "
            f"{d.perf.summary.excluded_cells} cells, not counted in the headline success rate)."
        )
    return out


def _speedup(s) -> str:
    if s.geomean is None:
        return fmt.DASH
    spread = f"{s.low:.2f}–{s.high:.2f}×" + (f", gsd {s.gsd:.2f}×" if s.gsd else "")
    return f"{s.geomean:.2f}× [{spread}]"


def verdict_headlines(d: ReportData) -> list[str]:
    v = d.verdict
    return [c.headline(v.reference) for c in v.classes] if v and v.reference else []


def comparison_table(d: ReportData) -> tuple[list[str], list[list[str]]]:
    v = d.verdict
    ref = v.reference
    header = [
        "Class",
        "Common models (n)",
        f"Decode: {ref} = × class [range]",
        f"Prefill: {ref} = × class [range]",
        "Faster",
        f"Only on {ref}",
        "Only on class",
    ]
    rows = []
    for c in v.classes:
        kinds = ", ".join(f"{n} {k}" for k, n in c.common_kinds.items()) or "none"
        rows.append(
            [
                c.hw_class,
                f"{len(c.common_models)} ({kinds})",
                _speedup(c.decode),
                _speedup(c.prefill),
                c.faster or fmt.DASH,
                str(len(c.only_reference)),
                str(len(c.only_this)),
            ]
        )
    return header, rows


def only_table(d: ReportData) -> tuple[list[str], list[list[str]]]:
    rows = [
        [o.model, o.ran_on, o.other, o.other_outcome] for c in d.verdict.classes for o in c.only_reference + c.only_this
    ]
    return ["Model", "Ran ok on", "Not on", "Outcome there"], rows


def facts_table(d: ReportData) -> tuple[list[str], list[list[str]]]:
    v = d.verdict
    priced = any(f.price for f in v.facts)
    header = [
        "Class",
        "Largest model that ran",
        "Its weights",
        "Cold start: first load s",
        "First TTFT s",
        "% of bandwidth limit (largest model)",
        "Bandwidth source",
    ]
    if priced:
        header += [f"Price ({v.currency or 'currency'})", f"tok/s per 1,000 (geomean over {v.price_models} models)"]
    rows = []
    for f in v.facts:
        row = [
            f.hw_class,
            f.largest_model or fmt.DASH,
            fmt.gb(f.largest_gb),
            fmt.num(f.first_load_s, 2),
            fmt.num(f.first_ttft_s, 2),
            f.bandwidth_text,
            f.bandwidth_source,
        ]
        if priced:
            row += [fmt.num(f.price, 0), fmt.num(f.tps_per_1000, 2)]
        rows.append(row)
    return header, rows


def prediction_table(d: ReportData) -> tuple[list[str], list[list[str]]]:
    """Rows: chips not owned; columns: the first models predicted; cells: *predicted* tok/s."""
    p = d.predictions
    items = shown_predictions(d)
    models = list(dict.fromkeys(i.model for i in items))[:PREDICTION_MODELS]
    by = {(i.model, i.chip): i for i in items}
    header = ["Chip (not owned)", "Bandwidth GB/s"] + [f"{m} (predicted tok/s)" for m in models]
    rows = []
    for t in p.targets:
        cells = [by.get((m, t.chip)) for m in models]
        if not any(cells):
            continue
        rows.append(
            [t.chip, fmt.num(t.bandwidth_gbps, 0)]
            + [
                fmt.DASH
                if i is None
                else f"{i.decode_tps:,.1f} (predicted{', cross-backend' if i.cross_backend else ''})"
                for i in cells
            ]
        )
    return header, rows


def shown_predictions(d: ReportData) -> list:
    """Cross-backend predictions (a Mac chip from CUDA or CPU efficiency) are shown only when a cross-backend
    leave-one-out error is measured; without it they stay in summary.json."""
    p = d.predictions
    return [i for i in p.items if not i.cross_backend or p.loo_error_cross is not None]


def prediction_note(d: ReportData) -> str:
    p = d.predictions
    hidden = len(p.items) - len(shown_predictions(d))
    held = (
        f" {hidden} cross-backend predictions (from another backend's efficiency, with no measured error) are not "
        f"shown; summary.json has them."
        if hidden
        else ""
    )
    return (
        f"Predicted, not measured: tok/s = measured efficiency (achieved bytes/s ÷ bandwidth limit) × the chip's "
        f"datasheet bandwidth ÷ weight bytes per token. Measured error: {p.error_text()}. Cross-backend: the "
        f"efficiency comes from another backend (e.g. CUDA or CPU for a Mac chip) and is a rough guide only. Tiny "
        f"twins are overhead-bound and not predicted; a measured class far below its bandwidth limit (overhead-bound) "
        f"scales less than its bandwidth, so such predictions err toward the bandwidth ratio.{held}"
    )


def ranked_kinds(d: ReportData) -> list[tuple[str, list]]:
    """The speed rankings, one per model kind: real models, real-size twins, tiny twins."""
    by = d.perf.top_speed_by_kind
    return [(k, by[k]) for k in KINDS if k in by]
