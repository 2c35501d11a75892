"""Is the drift sentinel's reading steady on an idle device, read the old way (3 timed repeats, no warm-up after the
first call) and with the per-backend budget (agent.sentinel.SENTINEL_BUDGET_MS: untimed warm-up, then enough timed
repeats)? Both are read in turn (A B A B), each after an idle gap like the one between two cells, on the same
buffers. Per variant: every reading, its spread against the first one (what a row's sentinel_drift is), and how many
readings a 15 % threshold would flag on a device that did nothing else.

    python bench/sentinel_stability.py [--rounds 20] [--gap-s 2] [--load-gb 8] [--mlx-device cpu] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--gap-s", type=float, default=2.0)
    ap.add_argument("--mlx-device", default="")
    ap.add_argument(
        "--load-gb", type=float, default=0.0, help="instead of idling, decode-like matvecs over this many GB"
    )
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    import mlx.core as mx

    from agent import sentinel  # mlx-free; the backend is named here as agent.adapter.backend_name does

    if args.mlx_device == "cpu":
        mx.set_default_device(mx.cpu)
    cuda = getattr(mx, "cuda", None)
    backend = (
        "cpu" if args.mlx_device == "cpu" else "metal" if mx.metal.is_available()
        else "cuda" if cuda is not None and cuda.is_available() else "cpu"
    )  # fmt: skip
    n, side, dtype = sentinel.SENTINEL_SIZES.get(backend, sentinel.SENTINEL_SIZES["cpu"])
    src = mx.ones((n,), dtype=mx.float32)
    a = mx.random.normal((side, side), key=mx.random.key(0)).astype(getattr(mx, dtype))
    b = mx.random.normal((side, side), key=mx.random.key(1)).astype(getattr(mx, dtype))
    mx.eval(src, a, b)
    copy, matmul = (lambda: mx.eval(src + 1.0)), (lambda: mx.eval(a @ b))
    sentinel.measure(copy, matmul)  # compile both kernels once, outside either variant
    warm_ms, timed_ms = sentinel.SENTINEL_BUDGET_MS.get(backend, (0.0, 0.0))
    variants = {
        "old_3_repeats_no_warmup": dict(warmup=False),
        f"budget_warm{warm_ms:g}ms_timed{timed_ms:g}ms": dict(warmup=False, warmup_ms=warm_ms, min_timed_ms=timed_ms),
    }
    readings: dict[str, list[float]] = {k: [] for k in variants}
    walls: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    weights = vec = None
    if args.load_gb:  # a stand-in for a cell's decode: weights resident, every step reads them all once
        rows = int(args.load_gb * 1e9 / 2 / 8192)
        weights = mx.random.normal((rows, 8192), key=mx.random.key(2)).astype(mx.bfloat16)
        vec = mx.ones((8192,), dtype=mx.bfloat16)
        mx.eval(weights, vec)

    def between() -> None:
        if weights is None:
            time.sleep(args.gap_s)  # the device idles, as between two cells
            return
        end = time.perf_counter() + args.gap_s
        while time.perf_counter() < end:
            mx.eval(weights @ vec)

    for i in range(args.rounds):
        for name in names if i % 2 == 0 else reversed(names):  # ABBA: a slow drift of the device hits both alike
            between()
            t0 = time.perf_counter()
            readings[name].append(sentinel.measure(copy, matmul, **variants[name]).total_ms)
            walls[name].append((time.perf_counter() - t0) * 1e3)
    out = {
        "backend": backend,
        "rounds": args.rounds,
        "gap_s": args.gap_s,
        "load_gb": args.load_gb,
        "sizes": [n, side, dtype],
        "variants": {},
    }
    for name, values in readings.items():
        first, med = values[0], statistics.median(values)
        out["variants"][name] = {
            "reading_ms": [round(v, 3) for v in values],
            "median_ms": round(med, 3),
            "max_drift_vs_first": round(max(abs(v / first - 1) for v in values), 3),
            "max_drift_vs_median": round(max(abs(v / med - 1) for v in values), 3),
            "flagged_at_15pct_vs_first": sum(abs(v / first - 1) > sentinel.DRIFT_THRESHOLD for v in values[1:]),
            "wall_ms_median": round(statistics.median(walls[name]), 1),
        }
    out["load_avg"] = os.getloadavg()[:3]
    print(json.dumps(out, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
