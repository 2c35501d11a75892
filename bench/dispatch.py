"""P5 dispatch: grid's own cost per cell — scheduling, transfer, Parquet write. Goal ≤ 50 ms.

On an embedded single-node Ray (as `grid run` starts it; its start-up is not part of this figure, see P2), the suite's
cells run twice through grid.driver.scheduler.execute, each time measured in this driver:
  dispatch per cell = (execute wall − Σ rows' wall_s) ÷ cells
Each row's wall_s is what the runner on the node measured around the cell (child start, load, warmup, trials), so the
remainder is what grid adds around it: Ray task submission and placement, the node's worker picking the task up,
the row's trip back through Ray's streaming generator, the Parquet write and the driver loop.
"cold": the first execute on a fresh cluster (it starts the node's Ray worker process); "warm": the second.
Also timed alone: store.write_row for one row (the Parquet part).

    python bench/dispatch.py --out bench-results/ [--max-tokens 16] [--trials 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 — sets sys.path and env first
from common import P2_MODELS, machine, suite_dict, write_json


def execute_once(suite, results: Path, label: str) -> dict:
    from grid import store
    from grid.core.plan import plan_cells
    from grid.driver.connect import live_targets
    from grid.driver.scheduler import execute

    cells = plan_cells(suite, store.new_run_id(label), live_targets())
    t0 = time.perf_counter()
    rows = execute(cells, results)
    wall = time.perf_counter() - t0
    inside = sum(r.wall_s or 0.0 for r in rows)
    not_ok = [(r.model, r.status, r.error_message) for r in rows if r.status != "ok"]
    return {
        "cells": len(rows),
        "execute_s": wall,
        "sum_row_wall_s": inside,
        "dispatch_per_cell_ms": (wall - inside) / len(rows) * 1e3,
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
    args = ap.parse_args()
    info = machine()
    from grid import store
    from grid.core.suite import parse_suite
    from grid.driver.connect import connect, ray_module

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    suite = parse_suite(suite_dict("p5-dispatch", models, args.max_tokens, args.trials), "p5.yaml")
    results = Path(tempfile.mkdtemp(prefix="grid-dispatch-"))
    t0 = time.perf_counter()
    connect(None)
    ray_start_s = time.perf_counter() - t0
    try:
        cold = execute_once(suite, results, "p5-cold")
        warm = execute_once(suite, results, "p5-warm")
    finally:
        ray_module().shutdown()
    some_row = store.read_rows(results, store.list_runs(results)[0])[0]
    write_ms = parquet_write_ms(results, some_row)
    for name, r in (("cold", cold), ("warm", warm)):
        print(
            f"{name}: {r['cells']} cells, execute {r['execute_s']:.2f} s, rows' own wall {r['sum_row_wall_s']:.2f} s "
            f"-> grid's cost {r['dispatch_per_cell_ms']:.1f} ms per cell (goal <= 50 ms); not ok {len(r['not_ok'])}"
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
            "warm": warm,
            "parquet_write_ms": write_ms,
            "p5_dispatch_ms": warm["dispatch_per_cell_ms"],
            "goal": "<= 50 ms",
        },
    )


if __name__ == "__main__":
    main()
