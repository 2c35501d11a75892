"""The drift sentinel: drift arithmetic, a node made to drift on purpose, and the columns every row of a real group
carries (the last one runs a twin in a real child: slow)."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from agent import sentinel


def test_drift_and_columns():
    assert sentinel.drift(100.0, 104.0, 96.0) == pytest.approx(0.04)
    assert sentinel.drift(100.0, None, 150.0) == pytest.approx(0.5)
    assert sentinel.drift(None, 100.0) is None and sentinel.drift(100.0) is None
    steady = sentinel.columns(100.0, 100.0, 108.0)
    assert steady["drift_flag"] is False and steady["sentinel_drift"] == pytest.approx(0.08)
    drifted = sentinel.columns(100.0, 108.0, 140.0)
    assert drifted["drift_flag"] is True and drifted["sentinel_after_ms"] == 140.0
    assert sentinel.columns(None, None, None)["drift_flag"] is None  # no reading: unknown, not "steady"


def test_readings_are_spaced_by_their_own_cost():
    """After a cell the next reading waits until the cells since the last one took cost ÷ SENTINEL_SHARE: a 75 ms
    reading is taken after 1.5 s of cells, not after every 50 ms cell; a fixed gap overrides it, 0 reads every time."""
    share = sentinel.SENTINEL_SHARE
    assert sentinel.reading_due(0.05, None)  # no reading cost known yet: read now
    assert not sentinel.reading_due(0.05, 0.075) and not sentinel.reading_due(0.075 / share * 0.99, 0.075)
    assert sentinel.reading_due(0.075 / share, 0.075) and sentinel.reading_due(30.0, 0.2)  # a real cell: every cell
    assert sentinel.reading_due(0.0, 10.0, gap_s=0.0) and not sentinel.reading_due(5.0, 0.001, gap_s=10.0)


def test_a_reading_warms_for_its_budget_then_times_enough_repeats():
    """The GPU budget (SENTINEL_BUDGET_MS): untimed calls until warmup_ms has passed, then timed calls until they add
    up to min_timed_ms; never fewer than `repeats`, never more than MAX_REPEATS. A fake clock makes each call 2 ms."""
    clock = {"t": 0.0}
    calls = {"copy": 0, "matmul": 0}

    def kernel(name):
        def run():
            calls[name] += 1
            clock["t"] += 0.002

        return run

    real = sentinel.time.perf_counter
    sentinel.time.perf_counter = lambda: clock["t"]
    try:
        r = sentinel.measure(kernel("copy"), kernel("matmul"), repeats=3, warmup_ms=20.0, min_timed_ms=50.0)
        assert r.copy_ms == pytest.approx(2.0) and r.matmul_ms == pytest.approx(2.0)
        assert calls == {"copy": 1 + 10 + 25, "matmul": 1 + 10 + 25}  # one first call, 20 ms warm, 50 ms timed
        calls.update(copy=0, matmul=0)
        sentinel.measure(kernel("copy"), kernel("matmul"), repeats=3, warmup=False)  # the CPU: no budget
        assert calls == {"copy": 3, "matmul": 3}
        calls.update(copy=0)
        sentinel.measure(kernel("copy"), lambda: None, repeats=1, warmup=False, min_timed_ms=1e9)
        assert calls["copy"] == sentinel.MAX_REPEATS
    finally:
        sentinel.time.perf_counter = real
    assert set(sentinel.SENTINEL_BUDGET_MS) == set(sentinel.SENTINEL_SIZES)


def _spin(stop_at: float) -> None:
    os.sched_setaffinity(0, {0})
    while time.time() < stop_at:
        pass


def _cpu_kernel() -> None:  # pure Python: the core's time, like the child's CPU kernels (numpy/mlx would add threads)
    total = 0
    for i in range(60_000):
        total += i * i


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU pinning (Linux)")
def test_a_competing_load_started_mid_group_raises_the_drift_flag():
    """A node made to drift on purpose: the sentinel pinned to core 0; after the group's first reading, two busy
    processes are started on the same core (a competing load mid-group); the reading after the cell is then ~3x slower
    and the row's drift flag is raised. Before the load, a second reading stays within the threshold... on a quiet
    core; on this shared dev box it is recorded, not asserted."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})
    try:
        group = sentinel.measure(_cpu_kernel, _cpu_kernel, repeats=5).total_ms
        ctx = multiprocessing.get_context("fork")
        load = [ctx.Process(target=_spin, args=(time.time() + 20,), daemon=True) for _ in range(2)]
        for p in load:
            p.start()
        try:
            time.sleep(0.2)  # the load is running: the "cell" happens here
            after = sentinel.measure(_cpu_kernel, _cpu_kernel, repeats=5).total_ms
        finally:
            for p in load:
                p.kill()
                p.join(5)
    finally:
        os.sched_setaffinity(0, old)
    cols = sentinel.columns(group, group, after)
    assert after > group * (1 + sentinel.DRIFT_THRESHOLD), (group, after)
    assert cols["drift_flag"] is True and cols["sentinel_drift"] > sentinel.DRIFT_THRESHOLD


@pytest.mark.slow
def test_every_row_of_a_real_group_carries_sentinel_energy_and_node_state(grid_cache):
    from agent.hardware import probe
    from agent.runner import run_group
    from grid.core.options import RunOptions
    from grid.core.plan import group_cells, plan_cells
    from grid.core.suite import parse_suite

    suite = parse_suite(
        {
            "models": ["twin:smolvlm"],
            "prompts": [{"id": "a", "text": "Describe this image."}, {"id": "b", "text": "Colours?"}],
            "generation": {"max_tokens": 4, "trials": 2, "warmup_runs": 1, "exact_tokens": True},
        },
        "test.yaml",
    )
    cells = plan_cells(suite, "sentinel-test", [("EPYC-2c-24GB", "")])
    every_cell = RunOptions(sentinel_gap_s=0.0)  # a reading after each cell, whatever this process ran before
    rows = [
        row for group in group_cells(cells) for row in run_group(group, probe(device_info=False), options=every_cell)
    ]
    assert [r.status for r in rows] == ["ok", "ok"]
    first, second = rows
    assert first.sentinel_group_ms > 0 and first.sentinel_before_ms == first.sentinel_group_ms
    assert second.sentinel_before_ms == first.sentinel_after_ms  # the previous cell's "after" is this one's "before"
    assert all(r.drift_flag in (True, False) and r.sentinel_drift is not None for r in rows)
    assert all(r.load_avg_1m is not None and r.slept_s == 0.0 for r in rows)
    if not any(os.access(p, os.R_OK) for p in ["/sys/class/powercap/intel-rapl:0/energy_uj"]):
        assert all(r.energy_source == "n/a" and "rapl" in r.energy_na_reason and r.energy_j is None for r in rows)

    # Spaced readings (a gap no cell reaches): the group's rows wait for the one reading after its last cell, so
    # every row has a reading on each side, and each keeps its own end time.
    suite3 = parse_suite(
        {
            "models": ["twin:smolvlm"],
            "prompts": [{"id": p, "text": "Describe this image."} for p in "abc"],
            "generation": {"max_tokens": 4, "trials": 1, "warmup_runs": 0, "exact_tokens": True},
        },
        "test.yaml",
    )
    cells3 = plan_cells(suite3, "sentinel-gap", [("EPYC-2c-24GB", "")])
    (group,) = group_cells(cells3)
    spaced = list(run_group(group, probe(device_info=False), options=RunOptions(sentinel_gap_s=1e9)))
    assert [r.status for r in spaced] == ["ok"] * 3
    assert len({r.sentinel_after_ms for r in spaced}) == 1 and spaced[0].sentinel_after_ms > 0
    assert all(r.sentinel_before_ms == r.sentinel_group_ms for r in spaced)
    assert [r.finished_at for r in spaced] == sorted(r.finished_at for r in spaced)
    assert all(a.finished_at <= b.started_at for a, b in zip(spaced, spaced[1:]))
