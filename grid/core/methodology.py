"""Benchmark methodology: how raw trials become the figures in a row. Pure functions; every constant is named here.

- A cold first run (right after load: kernel JIT, caches) is recorded apart (cold_ttft_s, cold_decode_tps), never mixed
  into the trials. It is also the first warmup run.
- Further warmup runs are discarded; N timed trials follow (DEFAULT_TRIALS, the default of grid/suite.py too).
- Per cell: medians of every metric; for decode tok/s also IQR, min, max and the coefficient of variation. The raw trials
  are kept in the row (trial_* columns), never dropped.
- Outliers are flagged by the modified z-score on the median absolute deviation (Iglewicz & Hoaglin; the same robust
  statistic hyperfine uses for its outlier warning), listed in `outlier_trials`, and never dropped.
- A cold run slower than SLOW_FIRST_FACTOR × the median trial sets `slow_first_run` (hyperfine warns likewise: caches).
- Exact token counts: with `exact_tokens` the adapter gives generate an empty StoppingCriteria, so EOS cannot end a
  trial early and every trial decodes exactly max_tokens tokens (same work per trial, comparable across models).
- Fixed seeds: `mx.random.seed(seed)` before every generation (DEFAULT_SEED unless the suite says otherwise).
- Physical limit: bandwidth_fraction = decode weight bytes × decode tok/s ÷ memory bandwidth (1.0 = every byte of the
  language model's weights read once per token at the memory's peak rate).

This module imports neither mlx nor anything heavy: the runner (parent process) and the driver use it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

DEFAULT_TRIALS = 5
DEFAULT_WARMUP_RUNS = 1
DEFAULT_SEED = 0
# Modified z-score above which a trial is flagged an outlier (Iglewicz & Hoaglin's recommended cut-off).
OUTLIER_Z = 3.5
# 0.6745 = the 0.75 quantile of the standard normal: makes MAD comparable with a standard deviation.
MAD_SCALE = 0.6745
# A first run slower than this factor × the median trial is flagged.
SLOW_FIRST_FACTOR = 1.5
# Stage timings of one trial (processor + vision + prefill + decode) must add up to its wall time within this much:
# a relative share of the wall, or an absolute floor for tiny trials where a few Python statements between the timers
# (chat template bookkeeping, stopping-criteria setup) are a visible share.
STAGE_SUM_REL_TOL = 0.10
STAGE_SUM_ABS_TOL_S = 0.005
STAGES = ("processor_s", "vision_s", "prefill_s", "decode_s")


@dataclass(frozen=True)
class Summary:
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    cv: float | None  # sample stdev / mean; None for a single trial
    outliers: tuple[int, ...]  # indices into the raw trials


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, R type 7)."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def modified_z_scores(values: list[float]) -> list[float] | None:
    """0.6745 × (x − median) / MAD per value; None when MAD is 0 (over half the values are identical)."""
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    if mad == 0:
        return None
    return [MAD_SCALE * (v - med) / mad for v in values]


def mad_outliers(values: list[float], z: float = OUTLIER_Z) -> tuple[int, ...]:
    """Indices of values whose |modified z-score| exceeds z. Fewer than 3 values: nothing can be called an outlier."""
    if len(values) < 3:
        return ()
    scores = modified_z_scores(values)
    if scores is None:
        # Over half the trials are identical: anything different from them is an outlier.
        med = statistics.median(values)
        return tuple(i for i, v in enumerate(values) if v != med)
    return tuple(i for i, s in enumerate(scores) if abs(s) > z)


def summarize(values: list[float]) -> Summary:
    if not values:
        raise ValueError("no values")
    s = sorted(values)
    mean = statistics.fmean(s)
    cv = statistics.stdev(s) / mean if len(s) > 1 and mean else None
    q1, q3 = quantile(s, 0.25), quantile(s, 0.75)
    return Summary(
        median=statistics.median(s),
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        min=s[0],
        max=s[-1],
        cv=cv,
        outliers=mad_outliers(list(values)),
    )


def coefficient_of_variation(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else None


def slow_first_run(
    cold_wall_s: float | None, trial_wall_s: list[float], factor: float = SLOW_FIRST_FACTOR
) -> bool | None:
    if cold_wall_s is None or not trial_wall_s:
        return None
    return cold_wall_s > factor * statistics.median(trial_wall_s)


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def bandwidth_fraction(
    decode_weight_bytes: int | None, decode_tps: float | None, bandwidth_gbps: float | None
) -> float | None:
    """Share of the memory bandwidth that decode uses, if it reads the language model's weights once per token."""
    if not decode_weight_bytes or not decode_tps or not bandwidth_gbps:
        return None
    return decode_weight_bytes * decode_tps / (bandwidth_gbps * 1e9)


def stage_sum_s(trial: dict) -> float:
    return sum(trial[k] for k in STAGES)


def stage_gap_s(trial: dict) -> float:
    """Wall time of a trial that no stage accounts for (negative: stages overlap or were double counted)."""
    return trial["wall_s"] - stage_sum_s(trial)


def stages_add_up(trial: dict, rel_tol: float = STAGE_SUM_REL_TOL, abs_tol_s: float = STAGE_SUM_ABS_TOL_S) -> bool:
    return abs(stage_gap_s(trial)) <= max(rel_tol * trial["wall_s"], abs_tol_s)


# Per-trial keys of the child's measurements and the row columns they become (median -> column, raw -> trial_column).
TRIAL_METRICS = (
    "ttft_s",
    "prompt_tokens",
    "prefill_tps",
    "generation_tokens",
    "decode_tps",
    "peak_memory_gb",
    "wall_s",
    "processor_s",
    "vision_s",
    "prefill_s",
    "decode_s",
)


def trial_fields(
    cold: dict | None, trials: list[dict], decode_weight_bytes: int | None = None, bandwidth_gbps: float | None = None
) -> dict:
    """The statistics columns of an ok row from the cold run and the timed trials (as the child measured them).

    The cell's own wall_s is not set here: the runner measures it around the whole cell.
    """
    if not trials:
        raise ValueError("no timed trials")

    def col(key):
        return [t[key] for t in trials]

    decode = summarize(col("decode_tps"))
    fields = {f"trial_{k}": col(k) for k in TRIAL_METRICS}
    fields.update(
        ttft_s=median_or_none(col("ttft_s")),
        prompt_tokens=int(statistics.median(col("prompt_tokens"))),
        prefill_tps=median_or_none(col("prefill_tps")),
        generation_tokens=int(statistics.median(col("generation_tokens"))),
        decode_tps=decode.median,
        peak_memory_gb=max(col("peak_memory_gb")),
        processor_s=median_or_none(col("processor_s")),
        vision_s=median_or_none(col("vision_s")),
        prefill_s=median_or_none(col("prefill_s")),
        decode_s=median_or_none(col("decode_s")),
        decode_tps_iqr=decode.iqr,
        decode_tps_min=decode.min,
        decode_tps_max=decode.max,
        decode_tps_cv=decode.cv,
        outlier_trials=list(decode.outliers),
        slow_first_run=slow_first_run(cold["wall_s"] if cold else None, col("wall_s")),
        cold_ttft_s=cold["ttft_s"] if cold else None,
        cold_decode_tps=cold["decode_tps"] if cold else None,
        bandwidth_gbps=bandwidth_gbps,
        bandwidth_fraction=bandwidth_fraction(decode_weight_bytes, decode.median, bandwidth_gbps),
    )
    return fields
