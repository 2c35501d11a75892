"""Inline SVG charts, generated in Python: no script, no network, and every label escaped.

One chart kind covers the report's needs: horizontal bars grouped per model, one bar per hardware class, a legend, a
value axis and an optional reference line (100% of bandwidth). Missing values draw no bar (never a zero bar).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

PALETTE = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d")
LABEL_W, PLOT_W, BAR_H, GAP, TOP, AXIS_H = 290, 560, 11, 8, 34, 30


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value:
            return step * exp
    return 10 * exp


def _short(label: str, limit: int = 44) -> str:
    return label if len(label) <= limit else "…" + label[-(limit - 1) :]


@dataclass(frozen=True)
class _Frame:
    """Where a chart's parts go: the plot's top (below the legend), its full height, the value axis maximum."""

    y0: int
    height: int
    vmax: float
    group_h: int


def grouped_bars(
    chart_id: str,
    title: str,
    categories: list[str],
    series: list[str],
    values: dict[tuple[str, str], float | None],
    unit: str,
    fmt=lambda v: f"{v:.1f}",
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """categories: the bar groups (models), top to bottom; series: bars within a group (hardware classes)."""
    present = [v for v in values.values() if v is not None]
    if not categories or not series or not present:
        return f'<p class="empty" id="{_esc(chart_id)}">{_esc(title)}: no measured values to chart.</p>'
    top = max(present + ([reference] if reference else []))
    group_h = len(series) * BAR_H + GAP
    legend_rows = math.ceil(len(series) / 4)
    height = TOP + legend_rows * 16 + len(categories) * group_h + AXIS_H
    width = LABEL_W + PLOT_W + 70
    frame = _Frame(TOP + legend_rows * 16, height, _nice_max(top), group_h)
    parts = [
        f'<svg class="chart" id="{_esc(chart_id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" role="img" aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{_esc(title)}</text>',
    ]
    parts += _legend(series) + _axis(frame, unit, fmt) + _bars(frame, categories, series, values, unit, fmt)
    if reference:
        x = LABEL_W + PLOT_W * reference / frame.vmax
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.y0 - 4}" x2="{x:.1f}" y2="{height - AXIS_H + 4}" class="refline"/>'
            f'<text x="{x + 3:.1f}" y="{frame.y0 - 6}" class="tick">{_esc(reference_label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(series: list[str]) -> list[str]:
    parts = []
    for i, name in enumerate(series):  # four entries a row
        lx, ly = LABEL_W + (i % 4) * 150, 26 + (i // 4) * 16
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{lx + 14}" y="{ly}" class="legend">{_esc(_short(name, 22))}</text>'
        )
    return parts


def _axis(frame: _Frame, unit: str, fmt) -> list[str]:
    parts = []
    for tick in range(5):  # value grid
        v = frame.vmax * tick / 4
        x = LABEL_W + PLOT_W * tick / 4
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.y0 - 4}" x2="{x:.1f}" y2="{frame.height - AXIS_H + 4}" class="grid"/>'
            f'<text x="{x:.1f}" y="{frame.height - AXIS_H + 18}" class="tick" text-anchor="middle">'
            f"{_esc(fmt(v))}</text>"
        )
    parts.append(
        f'<text x="{LABEL_W + PLOT_W}" y="{frame.height - 2}" class="tick" text-anchor="end">{_esc(unit)}</text>'
    )
    return parts


def _bars(frame: _Frame, categories: list[str], series: list[str], values: dict, unit: str, fmt) -> list[str]:
    parts = []
    for ci, cat in enumerate(categories):
        gy = frame.y0 + ci * frame.group_h
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{gy + frame.group_h / 2 + 3:.1f}" class="label" text-anchor="end">'
            f"<title>{_esc(cat)}</title>{_esc(_short(cat))}</text>"
        )
        for si, name in enumerate(series):
            v = values.get((cat, name))
            if v is None:
                continue
            w = max(1.0, PLOT_W * min(v, frame.vmax) / frame.vmax)
            y = gy + si * BAR_H
            parts.append(
                f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H - 1}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{_esc(cat)} on {_esc(name)}: '
                f"{_esc(fmt(v))} {_esc(unit)}</title></rect>"
                f'<text x="{LABEL_W + w + 4:.1f}" y="{y + BAR_H - 2}" class="value">{_esc(fmt(v))}</text>'
            )
    return parts
