"""Statuses that know whether they are final (issue 17, item 1): `grid resume` re-runs the cells whose latest row is
retryable (node_lost, skipped, timeout) and those without a row, `--retry STATUS...` chooses, `--rerun` takes all;
a re-run row replaces the old one (kept under _superseded/); resume ends by writing the report.

The end-to-end test is real: an embedded Ray, real mlx-vlm inference on a twin, real Parquet, the report. The lost
node is played by rewriting two rows as node_lost and skipped (what dispatch writes when the only node of a class
dies, and when the class is absent), since this machine has one node; tests/test_lab_grid.py has the real kills.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grid import store
from grid.cli import app
from grid.cli.lab import _retry_statuses
from grid.core.schema import ResultRow
from grid.core.status import RETRYABLE_STATUSES, Status


def test_only_statuses_whose_cause_may_have_gone_are_retryable():
    assert RETRYABLE_STATUSES == {"node_lost", "skipped", "timeout"}
    assert not any(Status(s).is_retryable for s in ("ok", "failed", "crashed", "oom"))


def test_retry_words_are_checked_and_rerun_takes_every_status():
    assert _retry_statuses(["node_lost,crashed", "oom"], rerun=False) == {"node_lost", "crashed", "oom"}
    assert _retry_statuses(None, rerun=False) == RETRYABLE_STATUSES
    assert _retry_statuses(None, rerun=True) == {s.value for s in Status}


def test_an_unknown_retry_status_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(app, ["resume", "r1", "--results", str(tmp_path), "--retry", "lost"])
    assert res.exit_code == 2 and "'lost' is not one of" in res.output and "Traceback" not in res.output


def _row(run_id: str, cell_id: str, status: str, finished_at: str) -> ResultRow:
    return ResultRow(run_id=run_id, cell_id=cell_id, model="m", hw_class="h", status=status, finished_at=finished_at)


def test_the_resume_filter_takes_the_latest_row_of_each_cell(tmp_path):
    for cell, status in (("a", "ok"), ("b", "node_lost"), ("c", "failed"), ("d", "timeout"), ("e", "skipped")):
        store.write_row(tmp_path, _row("r", cell, status, "2026-01-01"))
    store.write_row(tmp_path, _row("r", "b", "ok", "2026-01-02"))  # b was re-run: its latest row is final
    assert store.terminal_cell_ids(tmp_path, "r", RETRYABLE_STATUSES) == {"a", "b", "c"}
    assert store.terminal_cell_ids(tmp_path, "r", {"failed"}) == {"a", "b", "d", "e"}
    assert store.terminal_cell_ids(tmp_path, "r") == {"a", "b", "c", "d", "e"}  # `grid run` on an existing id


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, grid_cache):
    base = tmp_path_factory.mktemp("resume")
    suite = base / "suite.yaml"
    suite.write_text(
        textwrap.dedent("""
        name: resume
        models:
          - id: twin:smolvlm
        prompts:
          - {id: one, text: Describe this image.}
          - {id: two, text: "What colour dominates?"}
          - {id: three, text: Count the shapes.}
        images:
          - {id: chart, builtin: chart}
        generation: {max_tokens: 6, warmup_runs: 0, trials: 1}
    """)
    )
    results, reports = base / "results", base / "reports"
    # one embedded Ray for the run and the resume (each would start and stop its own): on a loaded 2-core machine a
    # second start in one process can miss Ray's own startup deadline
    # a cluster `ray start` left behind (here a dead address) must not be joined by an embedded run
    from ray._common.utils import get_ray_address_file

    from grid.driver.connect import connect, ray_module

    address_file = Path(get_ray_address_file(None))
    kept = address_file.read_text() if address_file.exists() else None
    address_file.parent.mkdir(parents=True, exist_ok=True)
    address_file.write_text("127.0.0.1:9")
    try:
        started = connect(None)
    finally:
        address_file.write_text(kept) if kept is not None else address_file.unlink(missing_ok=True)
    assert started
    try:
        args = ["run", str(suite), "--results", str(results), "--reports", str(reports), "--run-id", "rr", "--json"]
        out = CliRunner().invoke(app, args)
        assert out.exit_code == 0, out.output
        yield results, reports
    finally:
        if started:
            ray_module().shutdown()


@pytest.mark.slow
def test_resume_runs_exactly_the_lost_and_skipped_cells_then_reports(finished_run):
    results, reports = finished_run
    rows = {r.cell_id: r for r in store.read_rows(results, "rr")}
    assert len(rows) == 3 and {r.status for r in rows.values()} == {"ok"}
    lost, skipped, failed = sorted(rows)
    late = "2999-01-01T00:00:00+00:00"  # newer than the real rows, so these are the latest
    for cell, status in ((lost, "node_lost"), (skipped, "skipped"), (failed, "failed")):
        r = rows[cell]
        store.write_row(results, ResultRow(**{**r.__dict__, "status": status, "finished_at": late}))

    out = CliRunner().invoke(app, ["resume", "rr", "--results", str(results), "--reports", str(reports), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout[out.stdout.index("{") :])
    assert summary["ran"] == 2 and summary["by_status"] == {"ok": 2}
    after = {r.cell_id: r for r in store.read_rows(results, "rr")}
    assert after[lost].status == after[skipped].status == "ok"
    assert after[failed].status == "failed"  # final: never re-run without --retry failed / --rerun
    assert after[lost].finished_at != late and after[skipped].finished_at != late
    superseded = list((results / "run_id=rr" / "_superseded").iterdir())
    assert len(superseded) == 5  # 3 first ok rows + the node_lost and skipped rows: no earlier row lost

    md = (reports / "rr" / "report.md").read_text()
    assert "3 of 3 planned cells have rows (complete)" in md
    assert summary["reports"]["md"].endswith("report.md")

    again = CliRunner().invoke(app, ["resume", "rr", "--results", str(results), "--no-report", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout[again.stdout.index("{") :])["ran"] == 0
