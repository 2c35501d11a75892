"""The drift sentinel's cost and spread on this machine's default MLX device: wall time of one
agent.adapter.sentinel_workload call (what each cell adds), and its reading (median of the timed repeats), N times
(BENCHMARKS.md). Also the energy counter's resolution where one is readable (agent.energy): the smallest non-zero step
seen while polling the counter for --poll-s seconds, and how often it changes.

    python bench/sentinel_cost.py [--n 10] [--mlx-device cpu] [--poll-s 3] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def counter_resolution(poll_s: float, backend: str) -> dict:
    from agent import energy

    meter, reason = energy.open_meter(backend)
    if meter is None:
        return {"energy_source": "n/a", "energy_na_reason": reason}
    values, stamps = [], []
    end = time.perf_counter() + poll_s
    while time.perf_counter() < end:
        values.append(meter.read_j())
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    changes = [(stamps[i], values[i] - values[i - 1]) for i in range(1, len(values)) if values[i] != values[i - 1]]
    steps = [d for _, d in changes if d > 0]
    gaps = [changes[i][0] - changes[i - 1][0] for i in range(1, len(changes))]
    return {
        "energy_source": meter.source,
        "reads": len(values),
        "changes": len(changes),
        "smallest_step_j": min(steps) if steps else None,
        "median_update_interval_ms": statistics.median(gaps) * 1e3 if gaps else None,
        "mean_power_w": (values[-1] - values[0]) / (stamps[-1] - stamps[0]) if len(values) > 1 else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--mlx-device", default="")
    ap.add_argument("--poll-s", type=float, default=3.0)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    from agent import adapter

    walls, readings = [], []
    for _ in range(args.n):
        t0 = time.perf_counter()
        r = adapter.sentinel_workload(args.mlx_device)
        walls.append((time.perf_counter() - t0) * 1e3)
        readings.append(r.total_ms)
    spread = (max(readings) - min(readings)) / statistics.median(readings)
    out = {
        "backend": r.backend,
        "n": args.n,
        "wall_ms_median": round(statistics.median(walls), 1),
        "wall_ms_max": round(max(walls), 1),
        "reading_ms_median": round(statistics.median(readings), 2),
        "reading_ms": [round(x, 2) for x in readings],
        "reading_spread_max_minus_min_over_median": round(spread, 3),
        "load_avg": os.getloadavg()[:3],
        "counter": counter_resolution(args.poll_s, r.backend),
    }
    print(json.dumps(out, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
