"""The history section (`grid history` and the report of several runs) as Markdown."""

from __future__ import annotations

from aggregator.history import History, Point
from aggregator.render.md_text import cell, code, table


def history_markdown(h: History, limit: int = 500) -> str:
    """The history table: one row per model × class, one column per run (versions in the header)."""
    if len(h.runs) < 2:
        return "One run only: nothing to compare across runs yet."
    header = ["Model", "Hardware"] + [cell(r.label) for r in h.runs] + ["First broke", "First slower"]
    rows = []
    for s in h.series[:limit]:
        by = {p.run_id: p for p in s.points}
        cells = [_point_text(by.get(r.run_id)) for r in h.runs]
        rows.append(
            [
                code(s.model),
                cell(s.hw_class),
                *cells,
                code(s.broke_in) if s.broke_in else "—",
                code(s.slower_in) if s.slower_in else "—",
            ]
        )
    note = (
        f"Decode tok/s (median of the pooled raw trials) · status, per run oldest first. Slower: compare's noise rule, "
        f"k = {h.k:g}, min change {h.min_relative:.0%}."
    )
    more = f"\n\nFirst {limit} of {len(h.series)} model × class pairs." if len(h.series) > limit else ""
    return note + "\n\n" + table(header, rows) + more


def _point_text(p: Point | None) -> str:
    if p is None:
        return "—"
    speed = f"{p.decode_tps:.4g} tok/s · " if p.decode_tps is not None else ""
    return speed + p.status
