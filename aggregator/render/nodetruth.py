"""The node-truth section of the reports (aggregator/nodetruth.py): energy per token and node stability per hardware
class, and the cells measured while their node drifted. Empty when no row carries node-truth columns."""

from __future__ import annotations

from aggregator.nodetruth import ClassTruth, NodeTruth
from aggregator.render import fmt
from aggregator.render.html_base import Raw, p, section
from aggregator.render.html_base import table as html_table
from aggregator.render.md_text import cell, table

INTRO = (
    "Measured on each node while its cells ran. Energy: net of the idle baseline, per generated token, median over "
    "cells (range in brackets); the meter is named, none is estimated. Steady: no cell drifted (the sentinel "
    "kernel's time moved beyond its threshold), throttled, ran on battery or slept."
)
HEADER = ["Hardware", "Energy meter", "J / token", "Avg power (W)", "Idle (W)", "Drifted cells", "Max drift",
          "Max load (1 min)", "Max temp (°C)", "Steady"]  # fmt: skip
MODEL_HEADER = ["Model", "Hardware", "J / token", "Decode (tok/s)", "Meter", "Cells"]
DRIFT_HEADER = ["Model", "Hardware", "Prompt / Image", "Drift", "Decode (tok/s)"]


def _energy(c: ClassTruth) -> tuple[str, str]:
    if not c.energy_cells:
        why = c.energy_na_reason or "not measured"
        return (c.energy_source or "n/a"), f"n/a ({why})"
    spread = f" [{c.j_per_token_min:.3g}–{c.j_per_token_max:.3g}]" if c.energy_cells > 1 else ""
    return c.energy_source, f"{c.j_per_token_median:.3g}{spread}"


def _steady(c: ClassTruth) -> str:
    if c.steady:
        return "✅ yes"
    why = [f"{n} {w}" for n, w in ((c.drift_cells, "drifted"), (c.throttled_cells, "throttled"),
                                    (c.battery_cells, "on battery"), (c.slept_cells, "slept")) if n]  # fmt: skip
    return "⚠️ " + ", ".join(why)


def _rows(t: NodeTruth) -> list[list[str]]:
    out = []
    for c in t.classes:
        meter, jpt = _energy(c)
        drifted = f"{c.drift_cells} of {c.sentinel_cells}" if c.sentinel_cells else fmt.DASH
        out.append([c.hw_class, meter, jpt, fmt.num(c.avg_power_w_median), fmt.num(c.idle_power_w_median),
                    drifted, fmt.pct(c.sentinel_drift_max), fmt.num(c.load_avg_1m_max, 2),
                    fmt.num(c.thermal_max_c, 0), _steady(c)])  # fmt: skip
    return out


def _drift_rows(t: NodeTruth) -> list[list[str]]:
    return [[r["model"], r["hw_class"], f"{r['prompt_id']} / {r['image_id']}", fmt.pct(r["sentinel_drift"]),
             fmt.num(r["decode_tps"])] for r in t.drifted]  # fmt: skip


def _model_rows(t: NodeTruth) -> list[list[str]]:
    return [[r["model"], r["hw_class"], f"{r['j_per_token']:.3g}", fmt.num(r["decode_tps"]), r["energy_source"],
             str(r["cells"])] for r in t.per_model]  # fmt: skip


def node_truth_markdown(d) -> str:
    t: NodeTruth | None = getattr(d, "node_truth", None)
    if t is None:
        return ""
    parts = ["## 🔌 Energy and Node Stability", INTRO]
    parts.append(table(HEADER, [[cell(x) for x in row] for row in _rows(t)]))
    if t.per_model:
        parts.append("### Energy per Token by Model")
        parts.append(table(MODEL_HEADER, [[cell(x) for x in row] for row in _model_rows(t)]))
    if t.drifted:
        parts.append("### Cells Measured While Their Node Drifted (figures kept, flagged)")
        parts.append(table(DRIFT_HEADER, [[cell(x) for x in row] for row in _drift_rows(t)]))
    return "\n\n".join(parts)


def node_truth_html(d) -> Raw:
    t: NodeTruth | None = getattr(d, "node_truth", None)
    if t is None:
        return Raw("")
    parts: list = [p(INTRO), html_table(HEADER, _rows(t))]
    if t.per_model:
        parts += [Raw("<h3>Energy per token by model</h3>"), html_table(MODEL_HEADER, _model_rows(t))]
    if t.drifted:
        parts += [Raw("<h3>Cells measured while their node drifted (figures kept, flagged)</h3>")]
        parts.append(html_table(DRIFT_HEADER, _drift_rows(t)))
    return section("node-truth", "Energy and node stability", *parts)
