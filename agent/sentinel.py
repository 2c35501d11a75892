"""The drift sentinel: a fixed reference workload timed on the node's device before a model group's first cell and
after its cells, so every row says whether the node ran steady while it measured.

- What: agent.adapter.sentinel_workload (mlx, in the child, on the device the cells use): a bandwidth kernel (an
  elementwise copy of a fixed buffer) and a matmul of fixed size, one untimed warm-up, then the median of
  SENTINEL_REPEATS timed runs of each. Sizes are fixed per backend (SENTINEL_SIZES), so readings of one node compare.
- Rows: sentinel_group_ms (the group's first reading, right after load), sentinel_before_ms / sentinel_after_ms (the
  readings around this cell: the last one before it started, the first one after it ended), sentinel_drift (the
  largest relative change of before/after against the group's first reading) and drift_flag (sentinel_drift >
  DRIFT_THRESHOLD).
- When: after a cell once the cells since the last reading took at least the reading's own cost ÷ SENTINEL_SHARE
  (`reading_due`), and after the group's last cell. A real model's cell (seconds) gets a reading after it; short
  cells are read in batches, and their rows wait for the reading that closes the batch, so every row still has a
  reading on each side (BENCHMARKS.md: a reading after every tiny cell was ~3/4 of grid's per-cell cost).
- The threshold: 0.15 (15 %). The sentinel's own spread on an idle node is a few % (BENCHMARKS.md, bench/sentinel_cost.py);
  a competing load or a throttle moves it far more (tests/test_sentinel.py doubles it with one competing process).

This module never imports mlx; `measure` times any callable (the child passes the mlx kernels, the tests a CPU one).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

DRIFT_THRESHOLD = 0.15
SENTINEL_REPEATS = 3
# (elements of the float32 copy buffer, matmul side, matmul dtype) per backend: ~100-200 ms in all on each device
SENTINEL_SIZES = {
    "cpu": (8 * 2**20, 384, "float32"),  # 32 MiB copy; 384^3 f32 matmul (reference BLAS ~5 GFLOP/s: ~25 ms)
    "metal": (64 * 2**20, 4096, "float16"),
    "cuda": (256 * 2**20, 8192, "bfloat16"),
}
# (untimed warm-up, least timed work) per reading, ms. A GPU idle between cells clocks down, and a 2 ms kernel timed
# cold reads the ramp, not the node: warm it for a while, then time enough repeats to span the noise (bench/
# sentinel_stability.py on the H200: idle, the old 3-repeat reading flagged 4 of 19 readings, this one none; BENCHMARKS.md).
# The CPU's kernels are long enough as they are.
SENTINEL_BUDGET_MS = {"cpu": (0.0, 0.0), "metal": (50.0, 50.0), "cuda": (50.0, 50.0)}
MAX_REPEATS = 200  # a cap on the timed repeats of one workload, whatever the budget
SENTINEL_SHARE = 0.05  # the most of a node's time the readings take, as readings are spaced (reading_due)


def reading_due(since_s: float, reading_s: float | None, gap_s: float | None = None) -> bool:
    """After a cell: take the next reading now? since_s: seconds since the last reading ended; reading_s: what that
    reading cost (s; None: unknown, read now); gap_s: a fixed spacing instead (0: after every cell)."""
    if gap_s is not None:
        return since_s >= gap_s
    return reading_s is None or since_s * SENTINEL_SHARE >= reading_s


@dataclass(frozen=True)
class SentinelReading:
    """One sentinel run: medians of the timed repeats, milliseconds."""

    copy_ms: float
    matmul_ms: float
    backend: str = ""

    @property
    def total_ms(self) -> float:
        return self.copy_ms + self.matmul_ms


def measure(
    copy: Callable[[], object],
    matmul: Callable[[], object],
    repeats: int = SENTINEL_REPEATS,
    backend: str = "",
    warmup: bool = True,
    warmup_ms: float = 0.0,
    min_timed_ms: float = 0.0,
) -> SentinelReading:
    """Time two workloads (each call must block until its work is done): one warm-up call each (warmup=False: the
    caller warmed them already, e.g. compiled), then more untimed calls until warmup_ms has passed, then the median of
    at least `repeats` timed calls, more until they add up to min_timed_ms (at most MAX_REPEATS)."""

    def median_ms(fn: Callable[[], object]) -> float:
        if warmup:
            fn()
        end = time.perf_counter() + warmup_ms / 1e3
        while time.perf_counter() < end:
            fn()
        times: list[float] = []
        while len(times) < repeats or (sum(times) < min_timed_ms and len(times) < MAX_REPEATS):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)

    return SentinelReading(copy_ms=median_ms(copy), matmul_ms=median_ms(matmul), backend=backend)


def drift(reference_ms: float | None, *readings_ms: float | None) -> float | None:
    """The largest relative change of `readings_ms` against `reference_ms` (0.2 = 20 % slower or faster)."""
    if not reference_ms or reference_ms <= 0:
        return None
    values = [r for r in readings_ms if r is not None and r > 0]
    return max((abs(r / reference_ms - 1.0) for r in values), default=None)


def columns(
    group_ms: float | None, before_ms: float | None, after_ms: float | None, threshold: float = DRIFT_THRESHOLD
) -> dict:
    """The sentinel's row columns for one cell."""
    d = drift(group_ms, before_ms, after_ms)
    return dict(
        sentinel_group_ms=_r(group_ms),
        sentinel_before_ms=_r(before_ms),
        sentinel_after_ms=_r(after_ms),
        sentinel_drift=round(d, 4) if d is not None else None,
        drift_flag=(d > threshold) if d is not None else None,
    )


def _r(x: float | None) -> float | None:
    return round(x, 3) if x is not None else None
