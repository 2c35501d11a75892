"""The coverage block every report shows near its top: "n of N planned cells have rows", the missing cells, and the
data problems (quarantined files, a damaged manifest), for the Markdown and HTML reports (aggregator/coverage.py
computes it)."""

from __future__ import annotations

from aggregator.model import ReportData
from aggregator.render.html_base import Raw, esc
from aggregator.render.md_text import cell, code

NEXT_STEP = "run `grid resume RUN` to fill the missing cells"


def _missing_items(d: ReportData) -> list[tuple[str, list[str], int]]:
    """(run id, one line per listed missing cell, how many more) for each run with missing cells."""
    out = []
    for r in d.coverage.runs if d.coverage else []:
        if r.missing_total:
            items = [
                f"{m['model']} on {m['hw_class']}, prompt {m['prompt_id']}, image {m['image_id']}" for m in r.missing
            ]
            out.append((r.run_id, items, r.missing_total - len(items)))
    return out


def coverage_md(d: ReportData) -> str:
    c = d.coverage
    if c is None:
        return ""
    parts = ["### Coverage", "", *[f"- {cell(line)}" for line in c.lines()]]
    for run_id, items, more in _missing_items(d):
        parts += ["", f"Missing cells of {code(run_id)} ({NEXT_STEP.replace('RUN', run_id)}):", ""]
        parts += [f"- {cell(i)}" for i in items] + ([f"- … and {more} more"] if more else [])
    if c.problems:
        parts += ["", "### Data problems", ""]
        parts += [
            f"- {code(p['path'])}: {cell(p['reason'])} (moved to {code(p['moved_to'] or '—')})" for p in c.problems
        ]
    return "\n".join(parts)


def coverage_html(d: ReportData) -> Raw:
    c = d.coverage
    if c is None:
        return Raw("")
    parts = ['<div class="coverage"><h3>Coverage</h3><ul>', *[f"<li>{esc(line)}</li>" for line in c.lines()], "</ul>"]
    for run_id, items, more in _missing_items(d):
        parts.append(f"<p>Missing cells of {esc(run_id)} ({esc(NEXT_STEP.replace('RUN', run_id))}):</p><ul>")
        parts += [f"<li>{esc(i)}</li>" for i in items] + ([f"<li>… and {more} more</li>"] if more else []) + ["</ul>"]
    if c.problems:
        parts.append('<h3 id="data-problems">Data problems</h3><ul>')
        parts += [
            f"<li><code>{esc(p['path'])}</code>: {esc(p['reason'])} (moved to <code>{esc(p['moved_to'] or '—')}</code>)</li>"
            for p in c.problems
        ]
        parts.append("</ul>")
    return Raw("".join(parts) + "</div>")


def coverage_dict(d: ReportData) -> dict | None:
    import dataclasses

    c = d.coverage
    if c is None:
        return None
    return {
        "complete": c.complete,
        "runs": [dataclasses.asdict(r) for r in c.runs],
        "data_problems": c.problems,
    }
