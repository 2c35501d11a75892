"""P5 dispatch: grid's own cost per cell — scheduling, transfer, Parquet write. Goal ≤ 20 ms warm (issue 16).

On an embedded single-node Ray (as `grid run` starts it; its start-up is not part of this figure, see P2), the suite's
cells run twice through grid.driver.scheduler.execute, each time measured in this driver:
  dispatch per cell = (execute wall − Σ rows' wall_s) ÷ cells
Each row's wall_s is what the runner on the node measured around the cell (child start, load, warmup, trials), so the
remainder is what grid adds around it: Ray task submission and placement, the node's worker picking the task up,
the row's trip back through Ray's streaming generator, the Parquet write and the driver loop.
"cold": the first execute on a fresh cluster (it starts the node's Ray worker process); "warm": the ones after it,
one per entry of --sentinel-gaps, in that order (interleave them: auto,0,0,auto). A gap is RunOptions.sentinel_gap_s:
"auto" spaces the drift-sentinel readings by their cost (the default), 0 reads after every cell (grid before
2026-12-08). The readings are outside the rows' wall, so they count in the remainder.
Also timed alone: store.write_row for one row (the Parquet part).

    python bench/dispatch.py --out bench-results/ [--max-tokens 16] [--trials 2] [--sentinel-gaps auto,0,0,auto]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 — sets sys.path and env first
from common import P2_MODELS, machine, suite_dict, with_prompts, write_json


def sentinel_after_ms(trace: Path) -> float:
    """The wall of the sentinel readings taken after cells (the trace's `sentinel` events that follow a `cell_done`;
    the group's first reading, after load, is inside the first row's wall)."""
    total, after_cell = 0.0, False
    for line in trace.read_text().splitlines() if trace.exists() else []:
        ev = json.loads(line)
        if ev["event"] == "sentinel" and after_cell:
            total += ev.get("cost_ms", 0.0)
        after_cell = ev["event"] == "cell_done" or (after_cell and ev["event"] != "group_start")
    return total


def execute_once(suite, results: Path, label: str, gap: float | None = None) -> dict:
    from grid import store
    from grid.core.options import RunOptions
    from grid.core.plan import plan_cells
    from grid.driver.connect import live_targets
    from grid.driver.scheduler import execute

    cells = plan_cells(suite, store.new_run_id(label), live_targets())
    t0 = time.perf_counter()
    trace = results / f"trace-{label}.jsonl"
    rows = execute(cells, results, options=RunOptions(sentinel_gap_s=gap, trace_path=str(trace)))
    wall = time.perf_counter() - t0
    readings_ms = sentinel_after_ms(trace)
    inside = sum(r.wall_s or 0.0 for r in rows)
    not_ok = [(r.model, r.status, r.error_message) for r in rows if r.status != "ok"]
    return {
        "sentinel_gap_s": "auto" if gap is None else gap,
        "sentinel_readings": len({(r.model, r.sentinel_after_ms) for r in rows if r.sentinel_after_ms is not None}),
        "cells": len(rows),
        "execute_s": wall,
        "sum_row_wall_s": inside,
        "dispatch_per_cell_ms": (wall - inside) / len(rows) * 1e3,
        "sentinel_after_cells_ms": readings_ms,
        "dispatch_without_sentinel_per_cell_ms": ((wall - inside) * 1e3 - readings_ms) / len(rows),
        "not_ok": not_ok,
    }


def parquet_write_ms(results: Path, row, repeats: int = 20) -> float:
    from grid import store

    times = []
    for i in range(repeats):
        r = row.replace(cell_id=f"write-bench-{i}", run_id="write-bench")
        t0 = time.perf_counter()
        store.write_row(results, r)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", default=",".join(P2_MODELS))
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--prompts", type=int, default=1, help="prompts per model: cells per model group")
    ap.add_argument("--sentinel-gaps", default="auto", help="warm runs, one per entry: auto or seconds (0: every cell)")
    args = ap.parse_args()
    gaps = [None if g.strip() == "auto" else float(g) for g in args.sentinel_gaps.split(",") if g.strip()]
    info = machine()
    from grid import store
    from grid.core.suite import parse_suite
    from grid.driver.connect import connect, ray_module

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    suite = parse_suite(
        with_prompts(suite_dict("p5-dispatch", models, args.max_tokens, args.trials), args.prompts), "p5.yaml"
    )
    results = Path(tempfile.mkdtemp(prefix="grid-dispatch-"))
    t0 = time.perf_counter()
    connect(None)
    ray_start_s = time.perf_counter() - t0
    try:
        cold = execute_once(suite, results, "p5-cold")
        warms = [execute_once(suite, results, f"p5-warm{i}", gap) for i, gap in enumerate(gaps)]
    finally:
        ray_module().shutdown()
    some_row = store.read_rows(results, store.list_runs(results)[0])[0]
    write_ms = parquet_write_ms(results, some_row)
    for name, r in [("cold", cold)] + [(f"warm, sentinel gap {w['sentinel_gap_s']}", w) for w in warms]:
        print(
            f"{name}: {r['cells']} cells, {r['sentinel_readings']} sentinel readings after cells, execute "
            f"{r['execute_s']:.2f} s, rows' own wall {r['sum_row_wall_s']:.2f} s -> grid's cost "
            f"{r['dispatch_per_cell_ms']:.1f} ms per cell (goal <= 20 ms warm), of it the sentinel readings "
            f"{r['sentinel_after_cells_ms'] / r['cells']:.1f} ms; not ok {len(r['not_ok'])}"
        )
    print(f"embedded Ray start {ray_start_s:.2f} s (once per grid run); Parquet write of one row {write_ms:.1f} ms")
    info["loadavg_1m_end"] = os.getloadavg()[0]
    write_json(
        args.out,
        "p5_dispatch.json",
        {
            "machine": info,
            "settings": vars(args) | {"out": str(args.out)},
            "models": models,
            "ray_start_s": ray_start_s,
            "cold": cold,
            "warm": warms,
            "parquet_write_ms": write_ms,
            "p5_dispatch_ms": {
                str(g): [w["dispatch_per_cell_ms"] for w in warms if w["sentinel_gap_s"] == g]
                for g in dict.fromkeys(w["sentinel_gap_s"] for w in warms)
            },
            "goal": "<= 20 ms warm",
        },
    )


if __name__ == "__main__":
    main()
