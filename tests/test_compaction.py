"""Compaction (grid/compact.py): a finished run's cell files merged into part files, readable in both layouts, and safe
to kill at every step of a real `grid compact` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grid import compact, store
from grid.core.schema import ResultRow

RUN = "r-compact"
REPO = Path(__file__).resolve().parents[1]


def write_cells(
    root, n: int, run_id: str = RUN, start: int = 0, tps: float = 1.0, at: str = "2026-12-01T00:00:00"
) -> None:
    for i in range(start, start + n):
        row = ResultRow(run_id, f"c{i:04d}", f"org/m{i % 3}", "A", "ok", prompt_id=f"p{i}", decode_tps=tps * i,
                        finished_at=at)  # fmt: skip
        store.write_row(root, row)


def seen(root, run_id: str = RUN) -> list[tuple[str, float]]:
    """(cell_id, decode_tps) of every row readers see, through the store and through the aggregator's DuckDB."""
    from aggregator.dataset import open_results

    rows = sorted((r.cell_id, r.decode_tps) for r in store.read_rows(root, run_id))
    ds = open_results(root, run_id)
    try:
        duck = sorted(tuple(x) for x in ds.con.sql("SELECT cell_id, decode_tps FROM raw").fetchall())
    finally:
        ds.close()
    assert duck == rows
    return rows


def names(root, run_id: str = RUN) -> list[str]:
    return sorted(p.name for p in (Path(root) / f"run_id={run_id}").iterdir())


def test_compaction_merges_cell_files_into_parts_and_every_reader_sees_the_same_rows(tmp_path):
    write_cells(tmp_path, 30)
    store.write_manifest(tmp_path, RUN, {"run_id": RUN})
    before = seen(tmp_path)
    result = compact.compact_run(tmp_path, RUN, rows_per_part=12)
    assert (result.rows, result.files_before, len(result.parts), result.deleted) == (30, 30, 3, 30)
    assert seen(tmp_path) == before
    left = names(tmp_path)
    assert [n for n in left if n.endswith(".parquet")] == result.parts
    assert "_run.json" in left and store.COMPACTED in left
    assert store.terminal_cell_ids(tmp_path, RUN) == {c for c, _ in before}
    # again: nothing to merge
    assert compact.compact_run(tmp_path, RUN, rows_per_part=12).skipped


def test_cells_written_after_a_compaction_are_read_and_merged_next_time_and_a_rerun_cell_wins(tmp_path):
    write_cells(tmp_path, 10)
    compact.compact_run(tmp_path, RUN)
    write_cells(tmp_path, 3, start=10)  # a resume adds cells
    write_cells(tmp_path, 2, start=1, tps=100.0, at="2026-12-02T00:00:00")  # and re-runs two: the new rows win
    rows = {r.cell_id: r.decode_tps for r in store.read_rows(tmp_path, RUN)}  # the store keeps a cell's latest row
    assert len(rows) == 13 and rows["c0001"] == 100.0
    compact.compact_run(tmp_path, RUN)
    after = seen(tmp_path)
    assert len(after) == 13 and dict(after) == rows
    assert len([n for n in names(tmp_path) if n.endswith(".parquet")]) == 1


def test_resume_after_compaction_runs_only_what_is_missing(tmp_path, monkeypatch):
    from grid.core.plan import plan_cells
    from grid.core.suite import parse_suite
    from grid.driver import scheduler

    suite = parse_suite(
        {"name": "s", "models": ["twin:qwen2_vl"], "prompts": [{"id": f"p{i}", "text": f"say {i}"} for i in range(5)]},
        "t",
    )
    cells = plan_cells(suite, RUN, [("A", "")])
    for c in cells[:3]:
        store.write_row(tmp_path, ResultRow(RUN, c.cell_id, c.model.id, "A", "ok"))
    store.write_manifest(tmp_path, RUN, scheduler._manifest(suite, RUN, [("A", "")], "", False))
    compact.compact_run(tmp_path, RUN)
    assert not [n for n in names(tmp_path) if n.endswith(".parquet") and not n.startswith("compact-")]
    ran = []
    monkeypatch.setattr(scheduler, "connect", lambda address, mlx_device="": False)
    monkeypatch.setattr(scheduler, "execute", lambda cs, *a, **kw: ran.extend(cs) or [])
    scheduler.resume_run(tmp_path, RUN)
    assert sorted(c.cell_id for c in ran) == sorted(c.cell_id for c in cells[3:])


def test_parts_of_an_unfinished_compaction_are_invisible_without_its_marker(tmp_path):
    write_cells(tmp_path, 4)
    folder = tmp_path / f"run_id={RUN}"
    (folder / "compact-x-00000.parquet").write_bytes((folder / "c0000.parquet").read_bytes())
    assert len(store.read_rows(tmp_path, RUN)) == 4
    compact.compact_run(tmp_path, RUN)
    assert "compact-x-00000.parquet" not in names(tmp_path)
    assert len(seen(tmp_path)) == 4


@pytest.mark.parametrize("step", ["after-part", "before-commit", "after-commit", "mid-delete"])
def test_a_killed_grid_compact_loses_nothing_and_reads_nothing_twice(tmp_path, step):
    write_cells(tmp_path, 40)
    before = seen(tmp_path)
    env = {**os.environ, "GRID_COMPACT_PAUSE": step, "GRID_COMPACT_ROWS_PER_PART": "15", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grid", "compact", RUN, "--results", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        line = ""
        for line in proc.stdout:
            if line.startswith("GRID_COMPACT_PAUSED"):
                break
        assert line.strip() == f"GRID_COMPACT_PAUSED {step}", line
        assert seen(tmp_path) == before  # paused mid-compaction: old or new layout, never half
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert seen(tmp_path) == before  # killed there
    committed = store.COMPACTED in names(tmp_path)
    assert committed == (step in ("after-commit", "mid-delete"))
    compact.compact_run(tmp_path, RUN, rows_per_part=15)  # finishing later leaves a clean compacted run
    assert seen(tmp_path) == before
    assert not [n for n in names(tmp_path) if n.endswith(".parquet") and not n.startswith("compact-")]
