"""The typed parent <-> child protocol and the one row builder: every message crosses a real multiprocessing Pipe and
comes back equal and typed; a real spawned child answers with typed replies (no inference unless marked slow); rows
built from typed measurements carry the cell's predicted memory and the run's settings."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing

import pytest

from agent.child import ExitRequest, FetchRequest, LoadRequest, RunRequest
from agent.hardware import Hardware
from agent.runner import ChildPool, ChildProcess, run_group
from grid.core import failures, rows
from grid.core.failures import Frame
from grid.core.measurements import CellTrials, ChildError, ErrorCause, FetchInfo, LoadInfo, Trial
from grid.core.options import RunOptions
from grid.core.plan import plan_cells
from grid.core.schema import STATUSES, TERMINAL_STATUSES, ResultRow
from grid.core.status import Status
from grid.core.suite import parse_suite
from grid.driver import placement


def trial(**changes) -> Trial:
    base = dict(
        text="A bar chart.",
        finish_reason="length",
        first_token_id=7,
        prompt_tokens=40,
        generation_tokens=4,
        prefill_tps=800.0,
        decode_tps=100.0,
        peak_memory_gb=0.5,
        processor_s=0.010,
        vision_s=0.005,
        prefill_s=0.020,
        ttft_s=0.035,
        decode_s=0.040,
        wall_s=0.076,
    )
    return Trial(**(base | changes))


def raised() -> ChildError:
    try:
        try:
            raise KeyError("image_token")
        except KeyError as inner:
            raise ValueError("Failed to process inputs") from inner
    except ValueError as exc:
        return ChildError.from_exception(exc)


MESSAGES = [
    FetchRequest("twin:qwen2_vl", revision="main"),
    LoadRequest("/models/x", trust_remote_code=True, memory_limit_gb=2.5),
    RunRequest("Describe.", None, max_tokens=8, temperature=0.0, exact_tokens=True, seed=0, warmup_runs=1, trials=3),
    ExitRequest(),
    FetchInfo(path="/models/x", download_s=1.5, download_bytes=123456),
    LoadInfo(1.2, 1000, 800, "qwen2_vl", 0.9, backend="cpu", preimport_wait_s=0.0),
    CellTrials(cold=trial(ttft_s=0.5), trials=(trial(), trial(decode_tps=101.0))),
    CellTrials(cold=None, trials=(trial(finish_reason=None, first_token_id=None),)),
    raised(),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_crosses_a_real_pipe_unchanged(message):
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    try:
        parent.send(message)
        back = child.recv()
    finally:
        parent.close()
        child.close()
    assert back == message and type(back) is type(message)
    with pytest.raises(dataclasses.FrozenInstanceError):
        back.anything = None


def test_child_error_keeps_type_message_frames_chain_and_traceback():
    err = raised()
    assert (err.exc_type, err.message) == ("ValueError", "Failed to process inputs")
    assert err.frames and all(isinstance(f, Frame) for f in err.frames)
    assert err.frames[-1].name == "raised" and err.frames[-1].filename.endswith("test_protocol.py")
    assert err.chain == (ErrorCause("KeyError", "'image_token'", err.chain[0].frames),)
    assert "Traceback" in err.traceback and "KeyError" in err.traceback
    # the classifier reads the cause first (a wrapper hides the real failure)
    status, fields = rows.child_error(err, None)
    assert (status, fields["error_class"]) == (Status.FAILED, "Processor Error")
    assert fields["error_message"] == "ValueError: Failed to process inputs"


# --- a real spawned child, no inference ---------------------------------------------------------------------------


def test_a_real_child_answers_typed_replies_and_errors(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    child = ChildProcess(RunOptions(preimport=False))
    try:
        fetched = child.request(FetchRequest(str(tmp_path)), 60)
        assert isinstance(fetched, FetchInfo)
        assert fetched.path == str(tmp_path.resolve()) and fetched.download_bytes == 2 and fetched.download_s >= 0
        # a run before any load: model code never ran, the frames say grid's own child raised
        err = child.request(RunRequest("x", None, 1, 0.0, False, 0, 0, 1), 60)
        assert isinstance(err, ChildError) and err.exc_type == "AttributeError"
        assert failures.frame_package(err.frames[-1].filename) == "grid"
        unknown = child.request(FetchInfo("p", 0.0, 0), 60)  # not a request
        assert isinstance(unknown, ChildError) and "unknown request" in unknown.message
    finally:
        child.close()


def test_the_pool_never_hands_out_a_spare_started_with_other_settings():
    pool = ChildPool()
    quiet = RunOptions(preimport=False, spare_children=1)
    try:
        first = pool.take(quiet)
        (spare,) = pool.spares
        assert spare.options == quiet
        first.close()
        other = pool.take(RunOptions(preimport=False, mlx_device="cpu", spare_children=0))
        assert other is not spare and other.options.mlx_device == "cpu" and pool.spares == []
        assert not spare.process.is_alive()  # closed, not kept
        other.close()
        again = pool.take(quiet)
        assert pool.spares and again.serves(quiet)
        again.close()
    finally:
        pool.close()


def test_the_pool_keeps_as_many_spares_as_the_group_asks_for_and_trims_the_rest():
    pool = ChildPool()
    try:
        first = pool.take(RunOptions(preimport=False, spare_children=3))
        kept = list(pool.spares)
        assert len(kept) == 3 and all(c.process.is_alive() for c in kept)
        first.close()
        last = pool.take(RunOptions(preimport=False, spare_children=0))  # a class's last group: nothing follows
        assert last is kept[0] and pool.spares == []  # the oldest spare served; the other two were closed
        for closed in kept[1:]:  # killed at once, reaped later (never waited for: the group starts now)
            closed.process.join(5)
            assert closed.process.exitcode is not None
        last.close()
    finally:
        pool.close()


def hardware(**changes) -> Hardware:
    base = dict(
        hw_class="test-class",
        chip="Test CPU",
        ram_gb=16.0,
        gpu_cores=None,
        perf_cores=None,
        eff_cores=None,
        cpu_cores=2,
        model_id="",
        os_name="Linux",
        os_version="6",
        backend="cpu",
        bandwidth_gbps=10.0,  # a table figure: nothing is measured
        working_set_gb=None,
        hostname="host-a",
        simulated=True,
    )
    return Hardware(**(base | changes))


def cell(model: str = "mlx-community/no-such-model-grid-test", **changes):
    (c,) = plan_cells(
        parse_suite({"models": [model], "generation": {"max_tokens": 4, "trials": 1}}, "t.yaml"), "r", [("c", "")]
    )
    return dataclasses.replace(c, **changes)


def test_a_group_run_records_its_settings_and_traces_its_events(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    trace = tmp_path / "trace.jsonl"
    options = RunOptions(spare_children=0, preimport=False, measure_bandwidth=False, trace_path=str(trace))
    (row,) = run_group([cell(predicted_memory_gb=3.25)], hardware(), "node-1", 2, options=options)
    assert (row.status, row.error_class) == ("failed", "No Network")
    assert (row.spare_children, row.preimport, row.measure_bandwidth, row.mlx_device) == (0, False, False, "")
    assert row.simulated is True and row.predicted_memory_gb == 3.25
    assert (row.node_id, row.attempt, row.hw_class, row.backend, row.bandwidth_gbps) == (
        "node-1",
        2,
        "test-class",
        "cpu",
        10.0,
    )
    assert row.download_s is None and row.load_s is None and row.wall_s > 0
    events = [json.loads(line)["event"] for line in trace.read_text().splitlines()]
    assert events == ["group_start", "child_taken", "cell_done", "group_end"]


# --- the row builder ----------------------------------------------------------------------------------------------


def test_rows_read_the_predicted_memory_from_the_cell_and_accept_none():
    assert rows.build(cell(predicted_memory_gb=1.5), Status.OK).predicted_memory_gb == 1.5
    assert rows.build(cell(), "ok").predicted_memory_gb is None
    skipped = placement.grid_row(cell(predicted_memory_gb=2.0), "skipped", "Memory Fit", "big", "smaller")
    assert skipped.predicted_memory_gb == 2.0 and skipped.error_package == "grid"
    assert skipped.started_at == skipped.finished_at and skipped.spare_children is None and skipped.simulated is False
    fit = placement.grid_row(cell(predicted_memory_gb=2.0), "skipped", "M", "m", "f", predicted_memory_gb=9.0)
    assert fit.predicted_memory_gb == 9.0  # what the caller passes wins


def test_an_ok_row_from_typed_trials():
    result = CellTrials(cold=trial(wall_s=1.0), trials=(trial(), trial(decode_tps=110.0), trial(decode_tps=90.0)))
    status, fields = Status.OK, rows.measured(result, cell(), decode_weight_bytes=10**8, bandwidth_gbps=100.0)
    row = rows.build(cell(), status, rows.loaded(LoadInfo(1.0, 2, 10**8, "qwen2_vl", 0.1, "metal")), fields)
    assert row.status == "ok" and type(row.status) is str
    assert row.trial_decode_tps == [100.0, 110.0, 90.0] and row.decode_tps == 100.0
    assert row.cold_ttft_s == 0.035 and row.slow_first_run is True and row.bandwidth_fraction == pytest.approx(0.1)
    assert (row.output_text, row.finish_reason, row.arch, row.backend) == (
        "A bar chart.",
        "length",
        "qwen2_vl",
        "metal",
    )


def test_a_failure_row_is_redacted_and_its_status_follows_the_class():
    status, fields = rows.failure(failures.TIMEOUT, "Timeout: run exceeded 8 s token=hf_" + "a" * 30, "x" * 9000)
    assert status == Status.TIMEOUT and "[REDACTED]" in fields["error_message"]
    assert len(fields["traceback_tail"]) == rows.TAIL_CHARS
    assert failures.status_for(failures.crash_info(-9)) == Status.OOM
    assert failures.status_for(failures.crash_info(-11)) == Status.CRASHED


def test_statuses_come_from_the_status_type():
    assert STATUSES == tuple(s.value for s in Status) and TERMINAL_STATUSES == frozenset(STATUSES)
    assert ResultRow(run_id="r", cell_id="c", model="m", hw_class="h", status=Status.OOM).status == "oom"
    with pytest.raises(ValueError, match="is not one of ok, failed"):
        ResultRow(run_id="r", cell_id="c", model="m", hw_class="h", status="done")


# --- a real child with real inference -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_child_measures_a_twin_on_the_device_it_was_given(grid_cache):
    child = ChildProcess(RunOptions(mlx_device="cpu"))
    try:
        fetched = child.request(FetchRequest("twin:qwen2_vl"), 600)
        assert isinstance(fetched, FetchInfo), fetched
        loaded = child.request(LoadRequest(fetched.path), 300)
        assert isinstance(loaded, LoadInfo), loaded
        assert loaded.backend == "cpu" and loaded.arch == "qwen2_vl" and loaded.preimport_wait_s >= 0
        # spawn to imports done, measured across the two processes' clocks (grid.driver.spares sizes spares from it)
        assert 0 < loaded.child_start_s < 600 and loaded.child_start_s >= loaded.preimport_wait_s
        result = child.request(RunRequest("Describe.", None, 3, 0.0, True, 0, warmup_runs=1, trials=2), 300)
        assert isinstance(result, CellTrials), result
        assert isinstance(result.cold, Trial) and len(result.trials) == 2
        assert all(t.generation_tokens == 3 and t.decode_tps > 0 and t.wall_s > 0 for t in result.trials)
    finally:
        child.close()


def test_a_twin_fetch_waits_for_the_preimport_thread_and_counts_the_wait(monkeypatch):
    """Building a twin imports transformers; beside the pre-import thread that import raced and failed a twin at
    random ("cannot import name 'PreTrainedTokenizerFast'"). A twin fetch now joins the thread first; a hub fetch
    does not wait."""
    from agent import child

    order: list[str] = []

    class FakePreimport:
        def boost(self):
            order.append("boost")

        def wait(self):
            order.append("wait")
            return 0.5

    def fake_fetch(model, revision):
        order.append("fetch")
        return FetchInfo(path="/x", download_s=1.0, download_bytes=0)

    monkeypatch.setattr(child, "_fetch", fake_fetch)
    session = child.Session(RunOptions(preimport=False))
    session.preimport = FakePreimport()
    info = session.serve(FetchRequest(model="twin:smolvlm"))
    assert order == ["boost", "wait", "fetch"] and info.download_s == 1.5  # the wait is the fetch's, never load_s
    order.clear()
    assert session.serve(FetchRequest(model="org/model")).download_s == 1.0 and order == ["boost", "fetch"]
