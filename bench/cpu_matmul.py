"""How fast mlx's matmuls are on this machine's default device, per dtype and for a 4-bit quantized matmul: the
explanation for real-size twins timing out on a CPU node (BENCHMARKS.md). One Qwen2-1.5B MLP projection shape.

    python bench/cpu_matmul.py
"""

from __future__ import annotations

import time

import mlx.core as mx

ROWS, IN, OUT = 128, 1536, 8960  # a 128-token prefill through Qwen2-1.5B's up-projection


def gflops(fn, rows: int, repeat: int = 3) -> float:
    mx.eval(fn())  # warm up (mlx compiles CPU kernels on first use)
    t0 = time.perf_counter()
    for _ in range(repeat):
        mx.eval(fn())
    return 2 * rows * IN * OUT * repeat / (time.perf_counter() - t0) / 1e9


def main() -> None:
    x32, w32 = mx.random.normal((ROWS, IN)), mx.random.normal((OUT, IN)) * 0.02
    print(f"device {mx.default_device()}; ({ROWS}x{IN}) @ ({IN}x{OUT})")
    for name, dtype in (("float32", mx.float32), ("bfloat16", mx.bfloat16), ("float16", mx.float16)):
        x, w = x32.astype(dtype), w32.astype(dtype)
        mx.eval(x, w)
        print(f"{name}: {gflops(lambda x=x, w=w: x @ w.T, ROWS):.2f} GFLOP/s")
    wq, scales, biases = mx.quantize(w32.astype(mx.bfloat16), group_size=64, bits=4)
    x = x32[:8].astype(mx.bfloat16)  # 8 rows: the 4-bit kernel is too slow for 128 here
    mx.eval(wq, scales, biases, x)
    q = lambda: mx.quantized_matmul(x, wq, scales, biases, transpose=True, group_size=64, bits=4)  # noqa: E731
    print(f"4-bit quantized (8 rows): {gflops(q, 8, repeat=1):.3f} GFLOP/s")


if __name__ == "__main__":
    main()
