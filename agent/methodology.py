"""Benchmark methodology: how raw trials become the figures in a row. Pure functions, constants named here.

- A cold first run (right after load: kernel JIT, caches) is recorded apart, never mixed into the trials.
- Warmup runs are discarded; N timed trials follow (DEFAULT_TRIALS).
- Per metric: median, IQR, min, max, coefficient of variation; the raw trials are kept in the row.
- Outliers are flagged by the modified z-score on the median absolute deviation (Iglewicz & Hoaglin), as hyperfine
  does, and never dropped.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

DEFAULT_TRIALS = 5
DEFAULT_WARMUP_RUNS = 1
# Modified z-score above which a trial is flagged an outlier (Iglewicz & Hoaglin's recommended 3.5).
OUTLIER_Z = 3.5
# 0.6745 = the 0.75 quantile of the standard normal: makes MAD comparable with a standard deviation.
MAD_SCALE = 0.6745
# A first run slower than this factor × the median trial is flagged (hyperfine warns likewise about caches).
SLOW_FIRST_FACTOR = 1.5


@dataclass(frozen=True)
class Summary:
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    cv: float | None  # stdev / mean; None for a single trial
    outliers: tuple[int, ...]  # indices into the raw trials


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def mad_outliers(values: list[float], z: float = OUTLIER_Z) -> tuple[int, ...]:
    if len(values) < 3:
        return ()
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    if mad == 0:
        # Over half the trials are identical: anything different is an outlier.
        return tuple(i for i, v in enumerate(values) if v != med)
    return tuple(i for i, v in enumerate(values) if abs(MAD_SCALE * (v - med) / mad) > z)


def summarize(values: list[float]) -> Summary:
    s = sorted(values)
    mean = statistics.fmean(s)
    cv = statistics.stdev(s) / mean if len(s) > 1 and mean else None
    q1, q3 = quantile(s, 0.25), quantile(s, 0.75)
    return Summary(median=statistics.median(s), q1=q1, q3=q3, iqr=q3 - q1, min=s[0], max=s[-1], cv=cv,
                   outliers=mad_outliers(list(values)))


def slow_first_run(cold_wall_s: float | None, trial_wall_s: list[float], factor: float = SLOW_FIRST_FACTOR) -> bool | None:
    if cold_wall_s is None or not trial_wall_s:
        return None
    return cold_wall_s > factor * statistics.median(trial_wall_s)


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
