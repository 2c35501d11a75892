"""The CLI's shared machinery, without a cluster: the one error handler (one line, the error's exit code, GRID_DEBUG=1
shows the traceback), --json, results roots given as URIs, --dashboard vs --address, run settings from flags and
environment variables into RunOptions (and through `grid submit` into the job's `grid run`), simulated nodes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from grid import store
from grid.cli import app
from grid.cli.common import new_app
from grid.core.errors import GridError
from grid.core.options import NodeOptions, RunOptions
from grid.core.schema import ResultRow

runner = CliRunner()


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def grid_process(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real `grid` (python -m grid): main(), a real stderr, a real exit status."""
    full = {k: v for k, v in os.environ.items() if k != "GRID_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "grid", *args], capture_output=True, text=True, env={**full, **(env or {})}, timeout=120
    )


def write_rows(root, run_id="r1", n=2):
    for i in range(n):
        store.write_row(
            root,
            ResultRow(run_id=run_id, cell_id=f"c{i}", model="twin:qwen2_vl", hw_class="EPYC-2c-24GB", status="ok"),
        )


# --- one error handler ----------------------------------------------------------------------------------------------


class LabOnFire(GridError):
    exit_code = 3


def test_a_grid_error_is_one_line_with_its_fix_and_its_exit_code():
    demo = new_app()

    @demo.command("burn")
    def burn() -> None:
        raise LabOnFire("the lab is on fire\nsecond line never shown", hint="grid node leave")

    @demo.command("other")
    def other() -> None:  # two commands: a group, as every grid app
        pass

    result = runner.invoke(demo, ["burn"])
    assert result.exit_code == 3
    assert lines(result.output) == ["error: the lab is on fire — fix: grid node leave"]


def test_store_suite_and_missing_file_errors_through_the_real_app(tmp_path):
    bad_root = runner.invoke(app, ["runs", "--results", "ftp://host/grid"])
    assert bad_root.exit_code == 1 and len(lines(bad_root.output)) == 1
    assert "no filesystem for ftp://" in bad_root.output and "fix:" in bad_root.output
    suite = tmp_path / "bad.yaml"
    suite.write_text("models: [{id: twin:qwen2_vl, colour: red}]")
    malformed = runner.invoke(app, ["submit", str(suite), "--dashboard", "http://127.0.0.1:1"])
    assert malformed.exit_code == 2 and len(lines(malformed.output)) == 1 and "unknown key" in malformed.output
    missing = runner.invoke(app, ["twins", "list", "--bogus"])
    assert missing.exit_code == 2  # typer's own usage errors keep their exit code


def test_main_prints_one_line_and_grid_debug_shows_the_traceback():
    plain = grid_process("runs", "--results", "ftp://host/grid")
    assert plain.returncode == 1 and plain.stdout == ""
    assert len(lines(plain.stderr)) == 1 and plain.stderr.startswith("error: results root")
    debug = grid_process("runs", "--results", "ftp://host/grid", env={"GRID_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "StoreError" in debug.stderr


# --- output: --json and tables ------------------------------------------------------------------------------------


def test_runs_json_and_table_from_a_file_uri_root(tmp_path):
    uri = f"file://{tmp_path / 'shared'}"
    write_rows(uri, "r1", 2)
    write_rows(uri, "r2", 1)
    result = runner.invoke(app, ["runs", "--results", uri, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"run_id": "r1", "cells": 2, "ok": 2}, {"run_id": "r2", "cells": 1, "ok": 1}]
    table = runner.invoke(app, ["runs"], env={"GRID_RESULTS": uri})  # the env var, read when the command runs
    flat = "".join(table.output.split())  # the title wraps at the table's width, wherever the tmp path puts it
    assert table.exit_code == 0 and "r1" in table.output and "shared" in flat


def test_report_from_a_file_uri_root(tmp_path):
    uri = f"file://{tmp_path / 'shared'}"
    write_rows(uri, "r1", 2)
    result = runner.invoke(app, ["report", "r1", "--results", uri, "--reports", str(tmp_path / "rep"), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "rep" / "r1" / "summary.json").read_text())["runs"] == ["r1"]


def test_progress_is_off_when_stdout_is_not_a_terminal():
    from grid.cli import output

    with output.cell_progress("x") as progress:  # pytest's stdout is no terminal
        progress.planned(2)
        progress.finished(True)
        progress.finished(False)
    assert (progress.done, progress.failed, progress._bar) == (2, 1, None)


# --- --address (Ray) vs --dashboard (Jobs API) ------------------------------------------------------------------------


def test_dashboard_is_required_by_the_jobs_commands():
    result = runner.invoke(app, ["status", "some-run"], env={"GRID_DASHBOARD": None})
    assert result.exit_code == 2 and "--dashboard" in result.output


def test_the_old_address_spelling_still_works_with_one_warning(tmp_path):
    no_token = {"RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN_PATH": str(tmp_path / "none"), "GRID_DASHBOARD": None}
    result = runner.invoke(app, ["logs", "some-run", "--address", "10.0.0.1:6379"], env=no_token)
    out = lines(result.output)
    assert result.exit_code == 1 and len(out) == 2
    assert out[0].startswith("warning: --address for the dashboard URL is deprecated: use --dashboard")
    assert out[1].startswith("error: --dashboard must be the head's dashboard URL")


def test_a_dashboard_url_given_as_ray_address_is_advice():
    result = runner.invoke(app, ["run", "smoke", "--address", "http://127.0.0.1:8265"])
    assert result.exit_code == 1 and len(lines(result.output)) == 1 and "--dashboard" in result.output


# --- run settings: flags and env vars fill RunOptions -----------------------------------------------------------------


class Stop(GridError):
    pass


@pytest.fixture
def captured(monkeypatch):
    """Patch the driver's entry points: record what the CLI passes, then stop with a GridError."""
    seen: dict = {}

    def record(name):
        def fake(*args, **kw):
            seen[name] = {"args": args, **kw}
            raise Stop("stopped by the test")

        return fake

    import grid.driver.scheduler as scheduler
    import grid.lab.remote as remote

    monkeypatch.setattr(scheduler, "run_suite", record("run_suite"))
    monkeypatch.setattr(scheduler, "resume_run", record("resume_run"))
    monkeypatch.setattr(remote, "submit", record("submit"))
    return seen


def test_run_flags_and_env_vars_fill_run_options(captured, tmp_path):
    args = [
        "run",
        "smoke",
        "--results",
        f"file://{tmp_path}",
        "--class-wait",
        "5",
        "--no-preimport",
        "--trace",
        "t.jsonl",
    ]
    result = runner.invoke(app, args, env={"GRID_SPARE_CHILDREN": "2", "GRID_MEASURE_BANDWIDTH": "0"})
    assert result.exit_code == 1 and "stopped by the test" in result.output
    call = captured["run_suite"]
    assert call["options"] == RunOptions(
        class_wait_s=5, spare_children=2, preimport=False, measure_bandwidth=False, trace_path="t.jsonl"
    )
    root = call["args"][1]
    assert isinstance(root, store.ResultsRoot) and root.base == str(tmp_path)  # parsed once, here
    defaults = runner.invoke(app, ["run", "smoke"], env={"GRID_SPARE_CHILDREN": None})
    assert defaults.exit_code == 1 and captured["run_suite"]["options"] == RunOptions()


def test_every_run_setting_is_a_flag_of_run_and_of_the_submitted_jobs_run(captured):
    """A RunOptions field without a flag broke every `grid run` (KeyError in run_options) or was silently dropped by
    `grid submit`; each field now has both, and a set value reaches the options."""
    import dataclasses

    from grid.lab.remote import RUN_OPTION_FLAGS

    assert set(RUN_OPTION_FLAGS) == {f.name for f in dataclasses.fields(RunOptions)}
    result = runner.invoke(app, ["run", "smoke", "--sentinel-gap", "0"])
    assert result.exit_code == 1 and captured["run_suite"]["options"] == RunOptions(sentinel_gap_s=0.0)


def test_submit_forwards_the_settings_as_flags_of_the_jobs_grid_run(captured, tmp_path):
    from grid.lab.remote import run_entrypoint

    result = runner.invoke(
        app,
        ["submit", "smoke", "--dashboard", "http://h:8265", "--class-wait", "7", "--no-measure-bandwidth"],
        env={"GRID_MLX_DEVICE": "cpu"},
    )
    assert result.exit_code == 1, result.output
    options = captured["submit"]["options"]
    assert options == RunOptions(class_wait_s=7, measure_bandwidth=False, mlx_device="cpu")
    entry = run_entrypoint("smoke", "rid", "~/grid-results", "~/grid-reports", False, options)
    assert "--class-wait 7.0" in entry and "--no-measure-bandwidth" in entry and "--preimport" not in entry
    assert "GRID_" not in entry and run_entrypoint("s.yaml", "r", "~/a", "~/b", True, None).endswith("--per-node")
    words = shlex.split(entry.replace("~/", str(tmp_path) + "/"))  # the head's shell expands ~
    assert words[:4] == ["python", "-m", "grid", "run"]
    head = runner.invoke(
        app, words[3:], env={"GRID_MLX_DEVICE": None}
    )  # the job's command line, parsed by the real CLI
    assert head.exit_code == 1, head.output
    assert captured["run_suite"]["options"] == options and captured["run_suite"]["address"] == "auto"


def test_resume_keeps_the_runs_settings_except_those_given(captured, tmp_path):
    started = RunOptions(class_wait_s=42, spare_children=3)
    store.write_manifest(tmp_path, "r1", {"run_id": "r1", "options": started.to_dict()})
    runner.invoke(app, ["resume", "r1", "--results", str(tmp_path)])
    assert captured["resume_run"]["options"] is None  # nothing given: the driver uses the manifest's
    runner.invoke(app, ["resume", "r1", "--results", str(tmp_path), "--spare-children", "0"])
    assert captured["resume_run"]["options"] == RunOptions(class_wait_s=42, spare_children=0)


# --- simulated nodes --------------------------------------------------------------------------------------------------


def test_node_join_simulation_options_become_labels_and_the_nodes_environment(monkeypatch, tmp_path):
    from grid.lab import cluster

    started = {}
    monkeypatch.setenv("GRID_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cluster, "node_processes", lambda temp_dir: [])
    monkeypatch.setattr(cluster, "_ray_start", lambda args, env, timeout=0: started.update(args=args, env=env))
    result = runner.invoke(
        app,
        ["node", "join", "10.0.0.1:6379", "--name", "sim", "--no-auth", "--no-device-info"]
        + ["--simulate-class", "M2 8c 8GB", "--simulate-working-set-gb", "5.5"],
        env={"GRID_RAM_GB": "8", "GRID_HW_CLASS": ""},  # an env var is the same option (typer's envvar)
    )
    assert result.exit_code == 0, result.output
    labels = dict(
        kv.split("=", 1) for kv in next(a for a in started["args"] if a.startswith("--labels="))[9:].split(",")
    )
    assert (labels["hw_class"], labels["ram_gb"], labels["working_set_gb"], labels["simulated"]) == (
        "M2-8c-8GB",
        "8",
        "5.5",
        "true",
    )
    env = started["env"]  # the node's Ray workers probe the same pretended hardware
    assert (env["GRID_HW_CLASS"], env["GRID_RAM_GB"], env["GRID_WORKING_SET_GB"]) == ("M2 8c 8GB", "8.0", "5.5")
    assert cluster.load_record("sim").labels["simulated"] == "true"


def test_probe_with_explicit_simulation_and_without():
    from agent.hardware import probe

    real = probe(device_info=False, simulate=NodeOptions())
    assert not real.simulated and "simulated" not in real.labels()
    fake = probe(device_info=False, simulate=NodeOptions(simulate_hw_class="Fake M9", simulate_ram_gb=16))
    assert (fake.hw_class, fake.ram_gb, fake.simulated, fake.labels()["simulated"]) == ("Fake-M9", 16.0, True, "true")
