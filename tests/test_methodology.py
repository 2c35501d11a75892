"""The methodology's statistics on constructed samples (no inference): median, IQR, MAD outliers, CV, the slow-first-run
flag, the bandwidth fraction, the stage-sum rule, the node bandwidth cache, and DEFAULT_TRIALS as the suites' default."""

import json
import statistics

import pytest

from agent import bandwidth
from grid.core import methodology
from grid.core.methodology import mad_outliers, summarize
from grid.core.suite import Generation, parse_suite


def test_median_iqr_min_max_match_numpys_linear_quantiles():
    # numpy.percentile([1, 2, 3, 4, 10], [25, 75]) == [2.0, 4.0]; of [1..8]: [2.75, 6.25]
    s = summarize([10.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.median, s.q1, s.q3, s.iqr, s.min, s.max) == (3.0, 2.0, 4.0, 2.0, 1.0, 10.0)
    s = summarize([float(v) for v in range(1, 9)])
    assert (s.median, s.q1, s.q3) == (4.5, 2.75, 6.25)
    assert s.iqr == pytest.approx(3.5)


def test_cv_is_sample_stdev_over_mean_and_none_for_one_trial():
    values = [90.0, 100.0, 110.0]
    assert summarize(values).cv == pytest.approx(statistics.stdev(values) / 100.0)
    assert summarize([42.0]).cv is None
    assert methodology.coefficient_of_variation([5.0]) is None
    assert methodology.coefficient_of_variation([1.0, 3.0]) == pytest.approx(statistics.stdev([1, 3]) / 2)


def test_mad_flags_a_far_trial_and_keeps_every_trial():
    trials = [100.0, 101.0, 99.0, 100.5, 60.0]  # one trial slowed down (e.g. another process woke up)
    s = summarize(trials)
    assert s.outliers == (4,)
    assert s.min == 60.0 and s.median == 100.0  # flagged, never dropped: it still counts in min and IQR


def test_mad_threshold_is_the_modified_z_score():
    # median 10, MAD 1 -> modified z of 15.0 is 0.6745 * 5 = 3.37 (kept), of 15.5 is 3.71 (flagged)
    assert mad_outliers([9.0, 10.0, 11.0, 10.0, 15.0]) == ()
    assert mad_outliers([9.0, 10.0, 11.0, 10.0, 15.5]) == (4,)
    assert methodology.modified_z_scores([9.0, 10.0, 11.0, 10.0, 15.0])[4] == pytest.approx(0.6745 * 5)
    assert mad_outliers([9.0, 10.0, 11.0, 10.0, 15.0], z=3.0) == (4,)  # the cut-off is a parameter


def test_mad_flags_both_directions_and_needs_three_trials():
    assert mad_outliers([50.0, 100.0, 101.0, 99.0, 100.0, 150.0]) == (0, 5)
    assert mad_outliers([1.0, 1000.0]) == ()  # two trials: no robust centre to be far from


def test_mad_of_zero_flags_whatever_differs_from_the_majority():
    assert mad_outliers([32.0, 32.0, 32.0, 31.0]) == (3,)
    assert mad_outliers([7.0, 7.0, 7.0]) == ()


def test_slow_first_run_compares_the_cold_run_with_the_median_trial():
    assert methodology.slow_first_run(3.0, [1.0, 1.1, 0.9]) is True
    assert methodology.slow_first_run(1.4, [1.0, 1.1, 0.9]) is False  # under SLOW_FIRST_FACTOR (1.5) x median
    assert methodology.slow_first_run(None, [1.0]) is None


def test_bandwidth_fraction_is_weight_bytes_times_tokens_per_second_over_bandwidth():
    # 1 GB of language-model weights at 50 tok/s on a 100 GB/s memory: half the physical limit
    assert methodology.bandwidth_fraction(10**9, 50.0, 100.0) == pytest.approx(0.5)
    assert methodology.bandwidth_fraction(10**9, 50.0, None) is None
    assert methodology.bandwidth_fraction(None, 50.0, 100.0) is None


def _trial(**kw):
    base = dict(
        ttft_s=0.02,
        prompt_tokens=30,
        prefill_tps=1500.0,
        generation_tokens=16,
        decode_tps=800.0,
        peak_memory_gb=0.001,
        wall_s=0.05,
        processor_s=0.005,
        vision_s=0.004,
        prefill_s=0.011,
        decode_s=0.029,
        text="x",
        finish_reason="length",
    )
    return base | kw


def test_stage_sum_rule_has_a_relative_and_an_absolute_tolerance():
    assert methodology.stages_add_up(_trial())  # 0.049 of 0.050 s
    assert not methodology.stages_add_up(_trial(wall_s=0.5))  # 0.45 s nobody accounts for
    assert methodology.stages_add_up(_trial(wall_s=0.053))  # 4 ms gap: under the 5 ms floor
    big = _trial(wall_s=1.0, processor_s=0.1, vision_s=0.1, prefill_s=0.2, decode_s=0.55)
    assert methodology.stages_add_up(big) and methodology.stage_gap_s(big) == pytest.approx(0.05)
    assert not methodology.stages_add_up(big | {"decode_s": 0.45})  # 15% unaccounted


def test_trial_fields_builds_medians_statistics_and_keeps_raw_trials():
    trials = [_trial(decode_tps=v, wall_s=0.05 + i / 1000) for i, v in enumerate([800.0, 810.0, 790.0, 805.0, 400.0])]
    cold = _trial(decode_tps=500.0, wall_s=0.5, ttft_s=0.3)
    f = methodology.trial_fields(cold, trials, decode_weight_bytes=2 * 10**6, bandwidth_gbps=10.0)
    assert f["decode_tps"] == 800.0 and f["trial_decode_tps"] == [800.0, 810.0, 790.0, 805.0, 400.0]
    assert f["outlier_trials"] == [4] and f["decode_tps_min"] == 400.0 and f["decode_tps_max"] == 810.0
    assert f["cold_decode_tps"] == 500.0 and f["cold_ttft_s"] == 0.3 and f["slow_first_run"] is True
    assert f["bandwidth_fraction"] == pytest.approx(2e6 * 800.0 / 10e9)
    assert f["generation_tokens"] == 16 and len(f["trial_wall_s"]) == 5
    with pytest.raises(ValueError):
        methodology.trial_fields(None, [])


def test_default_trials_has_one_source():
    assert Generation().trials == methodology.DEFAULT_TRIALS == 5
    assert Generation().warmup_runs == methodology.DEFAULT_WARMUP_RUNS
    suite = parse_suite({"models": ["twin:qwen2_vl"]}, "t.yaml")
    assert suite.generation.trials == methodology.DEFAULT_TRIALS and suite.generation.seed == methodology.DEFAULT_SEED


def test_node_bandwidth_prefers_the_table_then_the_cache_then_measures(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_CACHE", str(tmp_path))
    assert bandwidth.node_bandwidth_gbps("h", "M4-Max-40c-128GB", 546.0) == (546.0, "table")
    monkeypatch.setattr(bandwidth, "BANDWIDTH_BUFFER_BYTES", 8 * 2**20)  # keep the real copy short in a test
    monkeypatch.setattr(bandwidth.measure_copy_gbps, "__defaults__", (8 * 2**20, 2))
    gbps, source = bandwidth.node_bandwidth_gbps("host-a", "EPYC-2c-24GB", None)
    assert source == "measured" and gbps > 0
    record = json.loads(bandwidth.cache_path("host-a", "EPYC-2c-24GB").read_text())
    assert record["bandwidth_gbps"] == gbps and record["threads"] >= 1 and "numpy copy" in record["method"]
    assert bandwidth.node_bandwidth_gbps("host-a", "EPYC-2c-24GB", None) == (gbps, "measured (cached)")
    # another class on the same host is another cache entry
    assert bandwidth.node_bandwidth_gbps("host-a", "other-class", None, measure_bandwidth=False) == (None, "off")
