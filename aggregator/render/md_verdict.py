"""The Markdown report's synthetic-data banner, hardware verdict and *predicted* speeds (aggregator/render/
verdict_text.py builds the plain-text tables; every cell goes through md_text.cell)."""

from __future__ import annotations

from aggregator.model import ReportData
from aggregator.render import verdict_text
from aggregator.render.md_text import cell, table


def banner(d: ReportData) -> str:
    return "\n>\n".join(f"> ⚠️ **{cell(n)}**" for n in verdict_text.notes(d))


def verdict(d: ReportData) -> str:
    v = d.verdict
    if not v or not v.reference:
        return ""
    parts = [
        "## ⚖️ Hardware Verdict",
        f"Reference class: **{cell(v.reference)}** (`--reference`; default: the class "
        "with the most memory). Speedups are geometric means of per-model ratios over the models both classes "
        "ran ok; [range, geometric sd].",
    ]
    parts += [f"- **{cell(h)}**" for h in verdict_text.verdict_headlines(d)]
    if v.classes:
        parts.append(table(*_cells(verdict_text.comparison_table(d))))
    header, rows = verdict_text.only_table(d)
    if rows:
        parts += ["### Models only one class ran", table(*_cells((header, rows)))]
    parts += ["### Per class", table(*_cells(verdict_text.facts_table(d)))]
    return "\n\n".join(parts)


def _cells(ht: tuple[list[str], list[list[str]]]) -> tuple[list[str], list[list[str]]]:
    return [cell(h) for h in ht[0]], [[cell(c) for c in r] for r in ht[1]]


def predicted(d: ReportData) -> str:
    p = d.predictions
    if not p or not p.items or not verdict_text.shown_predictions(d):
        return ""
    head = "## 🔮 Predicted Decode Speed on Hardware Not Owned (*predicted*, not measured)"
    return "\n\n".join(
        [head, f"*{cell(verdict_text.prediction_note(d))}*", table(*_cells(verdict_text.prediction_table(d)))]
    )
