"""MLX's f32 CPU matmul with the wheel's bundled reference BLAS vs an installed OpenBLAS preloaded (agent.blas), the
two run interleaved A B A B in fresh processes; plus a correctness check of each against numpy (BENCHMARKS.md).

    python bench/blas_matmul.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, time, numpy as np, mlx.core as mx
out = {}
rng = np.random.default_rng(0)
err = 0.0
for m, k, n in ((7, 33, 65), (128, 256, 64), (256, 512, 384)):
    a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    got = np.array(mx.array(a) @ mx.array(b))
    err = max(err, float(np.max(np.abs(got - a @ b)) / max(float(np.max(np.abs(a @ b))), 1e-30)))
out["max_rel_err_vs_numpy"] = err
x, w = mx.random.normal((128, 1536)), mx.random.normal((8960, 1536)) * 0.02
mx.eval(x, w); mx.eval(x @ w.T)
t0 = time.perf_counter(); mx.eval(x @ w.T); dt = time.perf_counter() - t0
out["f32_gflops"] = 2 * 128 * 1536 * 8960 / dt / 1e9
maps = open("/proc/self/maps").read()
out["system_openblas_mapped"] = "openblas-pthread" in maps  # numpy maps its own bundled copy in every case
print(json.dumps(out))
"""


def run(preload: str | None) -> dict:
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    p = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from agent.blas import find_openblas

    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    lib = find_openblas()
    print(f"openblas: {lib}; load average {open('/proc/loadavg').read().split()[:3]}")
    for r in range(ap.parse_args().rounds):
        for name, preload in (("reference", None), ("openblas", lib)):
            if name == "openblas" and not lib:
                continue
            print(f"round {r} {name}: {json.dumps(run(preload))}", flush=True)


if __name__ == "__main__":
    main()
