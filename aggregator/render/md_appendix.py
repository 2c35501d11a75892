"""The Markdown report's two appendices: every traceback (one per root cause × model) and the full results table
(capped; results.csv has every row)."""

from __future__ import annotations

from aggregator.model import ReportData
from aggregator.render import fmt
from aggregator.render.md_text import cell, code, fence, table


def errors_appendix(d: ReportData) -> str:
    tb = d.tracebacks
    if not tb.items:
        return "## Appendix: Full Error Details\n\nNo tracebacks recorded."
    blocks = []
    for t in tb.items:
        blocks.append(
            f"### {cell(t.model)} — {cell(t.error_class)} (`{cell(t.package)}`)\n\n"
            f"On {cell(', '.join(t.hw_classes))}, {t.cells} cell{'s' if t.cells != 1 else ''}.\n\n" + fence(t.traceback)
        )
    more = (
        f"\n\n{tb.total - len(tb.items)} more (root cause × model) tracebacks are in results.csv."
        if tb.total > len(tb.items)
        else ""
    )
    return (
        "## Appendix: Full Error Details\n\n<details>\n<summary>Click to expand full error tracebacks "
        f"({len(tb.items)})</summary>\n\n" + "\n\n".join(blocks) + more + "\n\n</details>"
    )


def results_table(d: ReportData) -> str:
    rows = []
    for r in d.table.rows:
        status = f"{fmt.STATUS_ICON.get(r['status'], '')} {r['status']}".strip()
        issues = ", ".join(r["quality_flags"] or []) or (r["error_class"] or fmt.DASH)
        rows.append(
            [
                code(r["model"]),
                cell(r["hw_class"]),
                cell(r["prompt_id"]),
                cell(r["image_id"]),
                status,
                fmt.num(r["decode_tps"]),
                fmt.gb(r["peak_memory_gb"]),
                cell(issues),
            ]
        )
    shown = len(d.table.rows)
    note = (
        f"\n\nFirst {shown:,} of {d.table.total:,} rows (ordered by model, class, prompt, image); every row is in "
        f"results.csv."
        if d.table.total > shown
        else ""
    )
    multi_run = len(d.perf.summary.runs) > 1
    header = ["Model", "Hardware", "Prompt", "Image", "Status", "Decode tok/s", "Peak Memory", "Quality / Error"]
    if multi_run:
        header.insert(0, "Run")
        for row, r in zip(rows, d.table.rows):
            row.insert(0, code(r["run_id"]))
    return "## Full Model Results Table\n\n" + table(header, rows) + note
