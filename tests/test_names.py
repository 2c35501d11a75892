"""Names are names (issue 17, item 2): a run id, a cell id, and the suite name inside a default run id are checked
against one strict pattern, so no user string ever becomes a path outside the results and reports roots. Through
the real CLI (typer's runner on grid's app, and once the installed console script)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grid import store
from grid.cli import app
from grid.core.names import MAX_NAME_CHARS, InvalidName, check_name, slug
from grid.core.schema import ResultRow

BAD_RUN_IDS = {
    "parent traversal": "../../outside",
    "nested": "a/b",
    "absolute": "/tmp/grid-absolute-run",
    "empty": "",
    "NUL": "run\x00x",
    "very long": "r" * (MAX_NAME_CHARS + 1),
    "dot-dot": "..",
    "backslash": "a\\..\\b",
    "hive syntax": "x=y",
    "leading dot": ".hidden",
}


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("run_id", BAD_RUN_IDS.values(), ids=BAD_RUN_IDS.keys())
def test_grid_run_refuses_a_run_id_that_is_not_a_name(run_id, tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    res = CliRunner().invoke(app, ["run", "smoke", "--results", "res", "--reports", "rep", "--run-id", run_id])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: the run id") and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1 and "--run-id my-run-1" in res.output
    assert _tree(tmp_path) == before  # nothing written anywhere: inside, beside or above the roots
    assert not Path("/tmp/grid-absolute-run").exists()


@pytest.mark.parametrize("run_id", ["../../outside", "a/b", "/etc"], ids=["traversal", "nested", "absolute"])
def test_grid_resume_refuses_a_run_id_that_is_not_a_name(run_id, tmp_path):
    res = CliRunner().invoke(app, ["resume", run_id, "--results", str(tmp_path / "res")])
    assert res.exit_code == 2 and "grid runs --results RESULTS" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "res").exists()


def test_the_console_script_refuses_traversal_with_one_line(tmp_path):
    grid = Path(sys.executable).with_name("grid")
    res = subprocess.run(
        [str(grid), "run", "smoke", "--results", "res", "--run-id", "../../../outside"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "GRID_DEBUG": ""},
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "is a path" in res.stderr
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent.parent / "outside").exists()


def test_the_store_never_writes_outside_its_root(tmp_path):
    root = tmp_path / "res"
    for run_id in ("../x", "a/b", "/abs"):
        with pytest.raises(InvalidName):
            store.write_row(root, ResultRow(run_id=run_id, cell_id="c", model="m", hw_class="h", status="ok"))
        with pytest.raises(InvalidName):
            store.write_manifest(root, run_id, {"suite": {}})
    with pytest.raises(InvalidName, match="cell id"):
        store.write_row(root, ResultRow(run_id="ok-run", cell_id="../../c", model="m", hw_class="h", status="ok"))
    assert _tree(tmp_path) <= {"res", "res/run_id=ok-run"}


def test_a_suite_name_becomes_a_safe_default_run_id():
    run_id = store.new_run_id("../../evil suite/name")
    assert check_name(run_id) == run_id and "/" not in run_id and ".." not in run_id
    assert "evil-suite-name" in run_id
    assert slug("///") == "run" and slug("a b") == "a-b"


@pytest.mark.parametrize("good", ["smoke", "20261128-154328-smoke-64f8", "run_1.2", "A" * MAX_NAME_CHARS])
def test_plain_names_pass(good):
    assert check_name(good) == good
