"""Number and status formatting shared by the Markdown and HTML renderers (plain text out; each renderer escapes)."""

from __future__ import annotations

from aggregator.analysis import Group
from aggregator.statuses import PARTIAL, PROBLEMS, SKIPPED
from grid.core.status import Status

DASH = "—"
STATUS_ICON = {
    Status.OK: "✅",
    Status.FAILED: "❌",
    Status.TIMEOUT: "⏱️",
    Status.CRASHED: "💥",
    Status.OOM: "🧠",
    Status.NODE_LOST: "🔌",
    Status.SKIPPED: "⏭️",
    PARTIAL: "⚠️",
}
STATUS_LABEL = {  # the summary tables' words (title case; "Successful" for ok)
    Status.OK: "Successful",
    Status.FAILED: "Failed",
    Status.TIMEOUT: "Timed out",
    Status.CRASHED: "Crashed",
    Status.OOM: "Out of memory",
    Status.NODE_LOST: "Node lost",
    Status.SKIPPED: "Skipped",
}
CLASS_HEADER = [  # the per-class table, in both reports
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
    "Median tok/s (over its own models: see the verdict)",
]


def num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def ram_text(c) -> str:
    """A class's host RAM, and for a CUDA class its GPU memory too: `126 (GPU 141)`."""
    host = num(c.ram_gb, 0)
    return host + (f" (GPU {c.gpu_memory_gb:g})" if getattr(c, "gpu_memory_gb", None) else "")


def gb(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.1f} GB" if value >= 0.1 else f"{value * 1000:.1f} MB"  # decimal, like mlx's GB; twins peak at MBs


def pct(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value * 100:.0f}%" if value >= 0.1 else f"{value * 100:.1f}%"


def ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}×"


def rate(part: int, whole: int) -> str:
    return DASH if not whole else f"{part / whole:.0%}"


def iqr(g: Group) -> str:
    """`[q1–q3]`: over the raw trials of a single ok cell, or over the cells' medians when there are several."""
    if not g.spread_over or g.decode_q1 is None:
        return ""
    return f"[{g.decode_q1:.1f}–{g.decode_q3:.1f}]"


def decode_with_spread(g: Group) -> str:
    spread = iqr(g)
    return num(g.decode_tps) + (f" {spread}" if spread else "")


def status_text(g: Group, icons: bool = True) -> str:
    """Matrix cell: status word, its error class, and counts when the group has several cells. The HTML colours the
    cell instead of using an emoji (a machine without an emoji font would show empty boxes)."""
    s = g.status
    text = f"{STATUS_ICON.get(s, '') if icons else ''} {s}".strip()
    if s in PROBLEMS and g.error_class:
        text += f" ({g.error_class})"
    if s == PARTIAL:
        problems = ", ".join(f"{g.counts[p]} {p}" for p in PROBLEMS if g.counts.get(p))
        text += f" {g.ok}/{g.ran} ok; {problems}" + (f" ({g.error_class})" if g.error_class else "")
    elif g.total > 1 and s != SKIPPED:
        text += f" {g.counts.get(s, 0)}/{g.ran}"
    if g.image_dropped:  # ok, but the processor dropped the image: the model answered without seeing it
        text += " — image dropped" + ("" if g.image_dropped == g.ok == 1 else f" in {g.image_dropped}/{g.ok} ok")
    return text


def quality_text(kinds: dict[str, tuple[int, str | None]]) -> str:
    """`verbose(452) ×3, bullets(22)`: the largest figure seen, and on how many cells when more than one."""
    parts = []
    for kind, (cells, figure) in kinds.items():
        parts.append(kind + (f"({figure})" if figure is not None else "") + (f" ×{cells}" if cells > 1 else ""))
    return ", ".join(parts)


def headline(error_class: str | None, message: str | None) -> str:
    """The message's first line, without a leading "<error class>: " the report already prints beside it."""
    first = ((message or "").strip().splitlines() or [""])[0]
    if error_class and first.startswith(f"{error_class}: "):
        first = first[len(error_class) + 2 :]
    return first[:160]
