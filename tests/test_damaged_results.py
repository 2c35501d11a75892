"""A results root that tolerates damage (issue 17, item 3), through the real CLI over real Parquet and DuckDB: a
truncated, a random-bytes and a foreign-schema file are quarantined under the run (named in a warning and in the
report's data problems) and every reader goes on; counts come from the manifest's plan; a damaged `_run.json` is one
line of advice."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from grid import store
from grid.cli import app
from grid.core.schema import ResultRow

PLANNED = 6  # the manifest plans six cells; four get rows
RUN = "r1"


def _row(cell_id: str, status: str = "ok", finished_at: str = "2026-01-01T00:00:00", **kw) -> ResultRow:
    return ResultRow(
        run_id=RUN,
        cell_id=cell_id,
        model=f"model-{cell_id}",
        hw_class="cpu-test",
        status=status,
        prompt_id="p",
        image_id="i",
        finished_at=finished_at,
        started_at=finished_at,
        **kw,
    )


def _plan() -> list[dict]:
    return [
        {"cell_id": f"c{i}", "model": f"model-c{i}", "hw_class": "cpu-test", "prompt_id": "p", "image_id": "i"}
        for i in range(PLANNED)
    ]


@pytest.fixture
def damaged(tmp_path):
    """A run with 4 of 6 planned cells, plus a truncated, a random-bytes and a foreign-schema .parquet file."""
    root = tmp_path / "results"
    store.write_manifest(root, RUN, {"run_id": RUN, "suite": {"name": "t"}, "targets": [], "planned": _plan()})
    for i in range(4):
        store.write_row(root, _row(f"c{i}", decode_tps=10.0 + i, generation_tokens=5))
    run = root / f"run_id={RUN}"
    (run / "truncated.parquet").write_bytes((run / "c0.parquet").read_bytes()[:-40])
    (run / "random.parquet").write_bytes(os.urandom(700))
    pq.write_table(pa.table({"foo": [1, 2], "bar": ["x", "y"]}), run / "foreign.parquet")
    return root


BAD = ("truncated.parquet", "random.parquet", "foreign.parquet")


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_runs_counts_only_grid_rows_and_quarantines_the_rest(damaged):
    res = _invoke("runs", "--results", str(damaged), "--json")
    assert res.exit_code == 0, res.output
    runs = json.loads(res.stdout[res.stdout.index("[") :])
    assert runs == [{"run_id": RUN, "cells": 4, "ok": 4}]  # not 7: the foreign file is no cells
    aside = damaged / f"run_id={RUN}" / "_quarantine"
    assert sorted(p for p in os.listdir(aside) if p.endswith(".parquet")) == sorted(BAD)
    assert all((aside / f"{b}.why.txt").exists() for b in BAD)
    for b in BAD:
        assert not (damaged / f"run_id={RUN}" / b).exists()
        assert b in res.stderr and "warning:" in res.stderr  # named in a one-line warning
    assert "Traceback" not in res.output


def test_report_names_the_problems_and_the_missing_cells(damaged, tmp_path):
    res = _invoke("report", RUN, "--results", str(damaged), "--reports", str(tmp_path / "rep"))
    assert res.exit_code == 0, res.output
    md = (tmp_path / "rep" / RUN / "report.md").read_text()
    assert f"4 of {PLANNED} planned cells have rows (2 missing)" in md
    assert "model-c4 on cpu-test" in md and "model-c5 on cpu-test" in md  # the missing cells are listed
    assert "### Data problems" in md
    for b in BAD:
        assert b in md
    html = (tmp_path / "rep" / RUN / "report.html").read_text()
    assert "4 of 6 planned cells have rows" in html and 'id="data-problems"' in html
    summary = json.loads((tmp_path / "rep" / RUN / "summary.json").read_text())
    cov = summary["coverage"]
    assert cov["complete"] is False
    assert cov["runs"][0]["planned"] == PLANNED and cov["runs"][0]["have"] == 4
    assert sorted(os.path.basename(p["path"]) for p in cov["data_problems"]) == sorted(BAD)


def test_a_second_report_still_lists_what_an_earlier_reader_quarantined(damaged, tmp_path):
    assert _invoke("runs", "--results", str(damaged)).exit_code == 0  # this reader moves the files aside
    res = _invoke("report", RUN, "--results", str(damaged), "--reports", str(tmp_path / "rep"))
    assert res.exit_code == 0, res.output
    md = (tmp_path / "rep" / RUN / "report.md").read_text()
    assert all(b in md for b in BAD)


def test_a_complete_run_says_complete(tmp_path):
    root = tmp_path / "results"
    store.write_manifest(root, RUN, {"run_id": RUN, "suite": {"name": "t"}, "targets": [], "planned": _plan()[:2]})
    for i in range(2):
        store.write_row(root, _row(f"c{i}", decode_tps=10.0))
    res = _invoke("report", RUN, "--results", str(root), "--reports", str(tmp_path / "rep"))
    assert res.exit_code == 0, res.output
    md = (tmp_path / "rep" / RUN / "report.md").read_text()
    assert "2 of 2 planned cells have rows (complete)" in md and "Data problems" not in md


def test_a_damaged_manifest_is_one_line_of_advice(damaged, tmp_path):
    (damaged / f"run_id={RUN}" / "_run.json").write_text('{"run_id": "r1", "suite": {')  # cut mid-write
    res = _invoke("resume", RUN, "--results", str(damaged))
    assert res.exit_code == 1
    assert "damaged" in res.output and f"grid resume {RUN} --rebuild-manifest --suite SUITE" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    # the report still reads the rows, and says it cannot count against a plan
    rep = _invoke("report", RUN, "--results", str(damaged), "--reports", str(tmp_path / "rep"))
    assert rep.exit_code == 0, rep.output
    assert "the planned count is unknown" in (tmp_path / "rep" / RUN / "report.md").read_text()


def test_rebuild_manifest_needs_the_suite(damaged):
    res = _invoke("resume", RUN, "--results", str(damaged), "--rebuild-manifest")
    assert res.exit_code != 0 and "--suite SUITE" in res.output and "Traceback" not in res.output


def test_readers_take_the_latest_row_of_a_cell(tmp_path):
    """A re-run cell replaces its row; the old one is kept under _superseded/, and a second copy of a cell (a
    compacted part beside a new cell file) is read once, the newest."""
    root = tmp_path / "results"
    store.write_row(root, _row("c0", "node_lost", "2026-01-01T00:00:00", attempt=3))
    store.write_row(root, _row("c0", "ok", "2026-01-02T00:00:00"))
    assert store.latest_statuses(root, RUN) == {"c0": "ok"}
    aside = root / f"run_id={RUN}" / "_superseded"
    old = [p for p in os.listdir(aside)]
    assert len(old) == 1 and pq.read_table(aside / old[0])["status"].to_pylist() == ["node_lost"]
    # a stray copy of an older row under another name: still one row for the cell, the newest
    pq.write_table(pq.read_table(aside / old[0]), root / f"run_id={RUN}" / "copy-of-c0.parquet")
    assert store.read_table(root, RUN).num_rows == 1
    assert store.latest_statuses(root, RUN) == {"c0": "ok"}
    from aggregator.dataset import open_results

    ds = open_results(root, RUN)
    try:
        assert ds.row_count == 1 and ds.scalar("SELECT status FROM raw") == "ok"
    finally:
        ds.close()


def test_every_file_damaged_is_advice_not_a_traceback(tmp_path):
    root = tmp_path / "results"
    store.write_manifest(root, RUN, {"run_id": RUN, "suite": {"name": "t"}, "targets": []})
    (root / f"run_id={RUN}" / "c0.parquet").write_bytes(b"PAR1 not really")
    res = _invoke("report", RUN, "--results", str(root), "--reports", str(tmp_path / "rep"))
    assert res.exit_code == 1 and "damaged" in res.output and "grid resume" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "rep" / RUN).exists()  # nothing half-written


SUITE = """
name: rebuild
models:
  - id: twin:smolvlm
prompts:
  - {id: one, text: Describe this image.}
  - {id: two, text: "%s"}
images:
  - {id: chart, builtin: chart}
generation: {max_tokens: 6}
"""


def test_rebuild_manifest_from_the_suite_and_the_rows(tmp_path):
    """No cluster needed: every planned cell has a final row, so the rebuild writes the manifest and runs nothing."""
    from grid.core.plan import plan_cells
    from grid.core.suite import load_suite

    suite_file, other = tmp_path / "suite.yaml", tmp_path / "other.yaml"
    suite_file.write_text(SUITE % "Count the shapes.")
    other.write_text(SUITE % "Another prompt.")
    suite, root = load_suite(str(suite_file)), tmp_path / "results"
    for c in plan_cells(suite, "rb", [("cpu-test", "")]):
        row = ResultRow("rb", c.cell_id, c.model.id, c.hw_class, "ok", suite_hash=suite.hash, prompt_id=c.prompt.id)
        store.write_row(root, row)
    (root / "run_id=rb" / "_run.json").write_bytes(b"\x00\xff garbage")

    wrong = _invoke("resume", "rb", "--results", str(root), "--rebuild-manifest", "--suite", str(other))
    assert wrong.exit_code == 1 and "is not the suite run rb was started with" in wrong.output
    res = _invoke(
        "resume",
        "rb",
        "--results",
        str(root),
        "--rebuild-manifest",
        "--suite",
        str(suite_file),
        "--no-report",
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout[res.stdout.index("{") :])["ran"] == 0
    manifest = store.read_manifest(root, "rb")
    assert manifest["targets"] == [["cpu-test", ""]] and len(manifest["planned"]) == 2
    assert manifest["suite_hash"] == suite.hash
