"""`grid report` and `grid compare` through typer: files written, one-line errors with exit 1, --fail-on exit codes."""

from __future__ import annotations

import json

import pytest
import typer
from sample_data import seed_rows, write_root
from test_compare import run_b_rows  # the constructed regression
from typer.testing import CliRunner

from grid.cli import report

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()
    report.register(app)
    return app


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_root(root, seed_rows(run_id="a"))
    write_root(root, run_b_rows())
    return root


def test_report_writes_the_five_files(app, root, tmp_path):
    res = runner.invoke(app, ["report", "a", "--results", str(root), "--reports", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "issues",
        "junit.xml",
        "report.html",
        "report.md",
        "results.csv",
        "summary.json",
    ]
    assert "report.md" in res.output


def test_report_formats_reference_thresholds_and_latest(app, root, tmp_path):
    res = runner.invoke(
        app,
        [
            "report",
            "a",
            "--results",
            str(root),
            "--out",
            str(tmp_path / "o"),
            "--format",
            "md,json",
            "--reference",
            "M3-Max-30c-96GB",
            "--threshold",
            "verbose_tokens=150",
        ],
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["report.md", "summary.json"]
    data = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert data["reference_class"] == "M3-Max-30c-96GB" and data["quality_thresholds"] == {"verbose_tokens": 150}
    res = runner.invoke(app, ["report", "all", "--results", str(root), "--reports", str(tmp_path), "-f", "json"])
    assert res.exit_code == 0 and json.loads((tmp_path / "all" / "summary.json").read_text())["runs"] == ["a", "b"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "nope"], "run nope not found"),
        (["report", "a", "--format", "pdf"], "unknown report format pdf"),
        (["report", "a", "--threshold", "bogus=1"], "unknown quality threshold"),
        (["report", "a", "--threshold", "verbose_tokens"], "expected NAME=VALUE"),
        (["compare", "a", "a"], "two different runs"),
        (["compare", "a", "b", "--fail-on", "sometimes"], "choose one of regressions, failures, any"),
    ],
)
def test_user_errors_print_one_line_and_exit_1(app, root, tmp_path, args, message):
    res = runner.invoke(
        app, args + ["--results", str(root)] + (["--reports", str(tmp_path)] if args[0] == "report" else [])
    )
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.output


def test_compare_flags_the_constructed_regression(app, root, tmp_path):
    res = runner.invoke(app, ["compare", "a", "b", "--results", str(root), "--out", str(tmp_path / "c.md")])
    assert res.exit_code == 0 and "## Regressions (4)" in res.output
    assert (tmp_path / "c.md").read_text().startswith("# grid compare")
    for fail_on in ("regressions", "failures", "any"):
        res = runner.invoke(app, ["compare", "a", "b", "--results", str(root), "--fail-on", fail_on])
        assert res.exit_code == 1, fail_on
    res = runner.invoke(
        app, ["compare", "a", "b", "--results", str(root), "--json", "--min-change", "0.5", "--fail-on", "regressions"]
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["totals"]["regressions"] == 0


def test_root_cli_has_report_and_compare():
    from grid.cli import app as grid_app

    res = runner.invoke(grid_app, ["--help"])
    assert res.exit_code == 0 and "report" in res.output and "compare" in res.output
