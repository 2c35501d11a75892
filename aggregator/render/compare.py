"""`grid compare` as Markdown: counts, version changes, then each list of changes (capped at `limit` rows each)."""

from __future__ import annotations

from aggregator.render.fmt import DASH
from aggregator.render.md_text import cell, code, table
from aggregator.rootcause import clip

LISTS = {
    "newly_failing": "Newly failing",
    "fixed": "Fixed",
    "regressions": "Regressions",
    "improvements": "Improvements",
}


def comparison_markdown(cmp, limit: int = 200) -> str:
    """`cmp`: an aggregator.compare.Comparison."""
    t = cmp.totals
    out = [
        f"# grid compare: {code(cmp.run_a)} → {code(cmp.run_b)}",
        f"{cmp.matched:,} cells matched by (model, prompt, image, hardware class); {cmp.only_a:,} only in "
        f"{code(cmp.run_a)}, {cmp.only_b:,} only in {code(cmp.run_b)}.",
        table(["", "Cells"], [[title, f"{t.get(key, 0):,}"] for key, title in LISTS.items()]),
        "## Comparability\n\n"
        + (
            "⚠️ Not like for like — "
            + "; ".join(cell(m) for m in cmp.mismatches)
            + " (`--strict` refuses such a comparison)."
            if getattr(cmp, "mismatches", None)
            else "Same suite settings, hardware and package versions."
        ),
        "## Version changes",
        table(
            ["Package", cmp.run_a, cmp.run_b],
            [[cell(v.package), cell(", ".join(v.a)), cell(", ".join(v.b))] for v in cmp.version_changes],
        )
        if cmp.version_changes
        else "No package version changed.",
    ]
    for key in ("newly_failing", "fixed"):
        out += [f"## {LISTS[key]} ({t.get(key, 0):,})", _cell_changes(getattr(cmp, key)[:limit])]
    for key in ("regressions", "improvements"):
        out += [f"## {LISTS[key]} ({t.get(key, 0):,})", _metric_changes(getattr(cmp, key)[:limit])]
    if any(t.get(k, 0) > limit for k in LISTS):
        out.append(f"Lists show the first {limit} of each; `--json` has up to the compare limit.")
    out.append(f"Noise rule: {cmp.rule}; k = {cmp.k:g}, min_relative = {cmp.min_relative:.0%}.")
    return "\n\n".join(out) + "\n"


def _cell_changes(items: list) -> str:
    rows = [
        [
            code(c.model),
            cell(c.hw_class),
            cell(c.prompt_id),
            cell(c.image_id),
            f"{c.status_a} → {c.status_b}",
            cell(c.error_class),
            cell(clip(c.error_message, 160)),
        ]
        for c in items
    ]
    header = ["Model", "Hardware", "Prompt", "Image", "Status", "Error class", "Message"]
    return table(header, rows) if rows else "None."


def _metric_changes(items: list) -> str:
    rows = [
        [
            code(m.model),
            cell(m.hw_class),
            cell(m.prompt_id),
            cell(m.image_id),
            m.metric,
            f"{m.a:.4g} → {m.b:.4g}",
            DASH if m.relative_change is None else f"{m.relative_change:+.1%}",
            f"{m.threshold:.3g}",
            f"{m.trials_a}/{m.trials_b}",
        ]
        for m in items
    ]
    header = ["Model", "Hardware", "Prompt", "Image", "Metric", "Median", "Change", "Threshold", "Trials"]
    return table(header, rows) if rows else "None."
