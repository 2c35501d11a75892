"""The dispatch loop at scale, simulated (grid/driver/simulate.py): decisions per second, and makespan / ideal for
three dispatch orders (suite order, longest-predicted-first with exact predictions, with predictions off by a
lognormal error), without and with node deaths and joins. Writes JSON to --out.

    .venv/bin/python bench/simulate.py --out bench-results
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grid.core.plan import group_cells  # noqa: E402
from grid.driver import predict, simulate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--models", type=int, default=125)
    ap.add_argument("--prompts", type=int, default=10)
    ap.add_argument("--per-class", type=int, default=25)
    ap.add_argument("--error-sigma", type=float, default=0.3, help="lognormal sigma of the noisy predictions")
    args = ap.parse_args()
    results = []
    for deaths in (0, 20):
        cells, nodes, duration, events = simulate.scenario(args.models, args.prompts, args.per_class, deaths, deaths)
        groups = group_cells(cells)
        exact = {(g[0].model.id, g[0].hw_class): (sum(duration(c, 1) for c in g), "history") for g in groups}
        rng = random.Random(7)
        noisy = {k: (v * rng.lognormvariate(0, args.error_sigma), b) for k, (v, b) in exact.items()}
        orders = {  # the order, and the predictions the loop orders retries by
            "suite order": (groups, None),
            "longest first (exact)": (predict.longest_predicted_first(groups, exact), exact),
            f"longest first (error sigma {args.error_sigma})": (predict.longest_predicted_first(groups, noisy), noisy),
        }
        for name, (ordered, known) in orders.items():
            seconds = {k: v for k, (v, _) in known.items()} if known else None
            with tempfile.TemporaryDirectory() as tmp:
                r = simulate.run_simulation(
                    cells, ordered, nodes, duration, events, results_root=tmp, predicted=seconds
                )
            row = dict(order=name, deaths=deaths, joins=deaths, cells=r.cells, rows=r.rows, statuses=r.statuses,
                       makespan_s=round(r.makespan_s, 1), ideal_s=round(r.ideal_s, 1),
                       ratio=round(r.makespan_s / r.ideal_s, 3), decisions=r.decisions, wall_s=round(r.wall_s, 2),
                       decisions_per_s=round(r.decisions_per_s))  # fmt: skip
            print(json.dumps(row), flush=True)
            results.append(row)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulate.json").write_text(json.dumps({"command": sys.argv, "results": results}, indent=1))


if __name__ == "__main__":
    main()
