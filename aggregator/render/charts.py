"""Inline SVG charts, generated in Python: no script, no network, and every label escaped.

One chart kind covers the report's needs: horizontal bars grouped per model, one bar per hardware class, a legend, a
value axis and an optional reference line (100% of bandwidth). Missing values draw no bar (never a zero bar); a cell
that timed out, failed or was skipped draws a marker in its bar's place, so a timeout never looks like "not run".
Values that span more than two decades get a log axis (said in the axis label); the formatter carries the unit, so a
1.4 MB bar is labelled "1.4 MB", never "0.0".
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


LOG_SPAN = 100.0  # max ÷ min beyond which the axis is logarithmic


@dataclass(frozen=True)
class _Frame:
    """Where a chart's parts go: the plot's top (below the legend), its full height, the value axis range."""

    y0: int
    height: int
    vmax: float
    group_h: int
    vmin: float = 0.0  # > 0 on a log axis

    @property
    def log(self) -> bool:
        return self.vmin > 0

    def x(self, v: float) -> float:
        """The bar length of a value, in pixels (at least 1: a measured value always shows)."""
        if self.log:
            v = min(max(v, self.vmin), self.vmax)
            frac = math.log10(v / self.vmin) / math.log10(self.vmax / self.vmin)
        else:
            frac = min(v, self.vmax) / self.vmax
        return max(1.0, PLOT_W * frac)

    def ticks(self) -> list[float]:
        if self.log:
            lo, hi = round(math.log10(self.vmin)), round(math.log10(self.vmax))
            return [10.0**e for e in range(lo, hi + 1)]
        return [self.vmax * t / 4 for t in range(5)]


def _frame(present: list[float], y0: int, height: int, group_h: int, log: bool | None) -> _Frame:
    positive = [v for v in present if v > 0]
    top = max(present)
    span = top / min(positive) if positive else 1.0
    if (log is None and span > LOG_SPAN) or (log and positive):
        return _Frame(
            y0, height, 10 ** math.ceil(math.log10(top)), group_h, 10 ** math.floor(math.log10(min(positive)))
        )
    return _Frame(y0, height, _nice_max(top), group_h)


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
    markers: dict[tuple[str, str], str] | None = None,
    log: bool | None = None,
) -> str:
    """categories: the bar groups (models), top to bottom; series: bars within a group (hardware classes).
    `markers`: (category, series) -> a word drawn where a bar has no value ("timeout", "skipped", "failed").
    `reference`: a line drawn only when the values reach half of it (a 0–1 % chart keeps its own scale).
    `log`: None chooses (a log axis when the values span more than LOG_SPAN)."""
    present = [v for v in values.values() if v is not None]
    if not categories or not series or not present:
        return f'<p class="empty" id="{_esc(chart_id)}">{_esc(title)}: no measured values to chart.</p>'
    if reference and max(present) < reference / 2:
        reference = None
    group_h = len(series) * BAR_H + GAP
    legend_rows = math.ceil(len(series) / 4)
    height = TOP + legend_rows * 16 + len(categories) * group_h + AXIS_H
    width = LABEL_W + PLOT_W + 70
    frame = _frame(present + ([reference] if reference else []), TOP + legend_rows * 16, height, group_h, log)
    parts = [
        f'<svg class="chart" id="{_esc(chart_id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" role="img" aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{_esc(title)}</text>',
    ]
    parts += _legend(series) + _axis(frame, unit, fmt) + _bars(frame, categories, series, values, unit, fmt)
    parts += _markers(frame, categories, series, values, markers or {})
    if reference:
        x = LABEL_W + frame.x(reference)
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
    for v in frame.ticks():  # value grid
        x = LABEL_W + (frame.x(v) if v else 0.0)
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.y0 - 4}" x2="{x:.1f}" y2="{frame.height - AXIS_H + 4}" class="grid"/>'
            f'<text x="{x:.1f}" y="{frame.height - AXIS_H + 18}" class="tick" text-anchor="middle">'
            f"{_esc(fmt(v))}</text>"
        )
    parts.append(
        f'<text x="{LABEL_W + PLOT_W}" y="{frame.height - 2}" class="tick" text-anchor="end">'
        f"{_esc(unit + (' (log scale)' if frame.log else ''))}</text>"
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
            w = frame.x(v)
            y = gy + si * BAR_H
            parts.append(
                f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H - 1}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{_esc(cat)} on {_esc(name)}: '
                f"{_esc(fmt(v))} {_esc(unit)}</title></rect>"
                f'<text x="{LABEL_W + w + 4:.1f}" y="{y + BAR_H - 2}" class="value">{_esc(fmt(v))}</text>'
            )
    return parts


def _markers(frame: _Frame, categories: list[str], series: list[str], values: dict, markers: dict) -> list[str]:
    parts = []
    for ci, cat in enumerate(categories):
        for si, name in enumerate(series):
            word = markers.get((cat, name))
            if word is None or values.get((cat, name)) is not None:
                continue
            y = frame.y0 + ci * frame.group_h + si * BAR_H
            parts.append(
                f'<text x="{LABEL_W + 4}" y="{y + BAR_H - 2}" class="marker" data-marker="{_esc(word)}">'
                f"<title>{_esc(cat)} on {_esc(name)}: {_esc(word)}</title>× {_esc(word)}</text>"
            )
    return parts


def memory_label(gb: float) -> str:
    """Decimal units, like mlx's GB: 16.8 GB, 1.4 MB, 640 KB (never "0.0")."""
    if gb >= 1:
        return f"{gb:,.1f} GB"
    if gb >= 1e-3:
        return f"{gb * 1e3:.1f} MB"
    if gb >= 1e-6:
        return f"{gb * 1e6:.1f} KB"
    return f"{gb * 1e9:.0f} B"


def percent_label(v: float) -> str:
    """A share already in percent: 45%, 4.5%, 0.045%."""
    if v >= 10:
        return f"{v:.0f}%"
    if v >= 1:
        return f"{v:.1f}%"
    return f"{v:.2g}%" if v > 0 else "0%"


def tps_label(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2g}"
