"""`grid report RUN_ID` (Markdown, HTML, JSON, CSV, JUnit for a run) and `grid compare RUN_A RUN_B`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from grid.cli.common import ReportsOpt, ResultsOpt, UserError, handle_errors

FAIL_ON = ("regressions", "failures", "any")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
    app.command("compare")(compare_command)


def _thresholds(values: list[str] | None) -> dict | None:
    """`--threshold verbose_tokens=400` (repeatable) -> {"verbose_tokens": 400}."""
    if not values:
        return None
    out: dict = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--threshold {item!r}: expected NAME=VALUE, e.g. --threshold verbose_tokens=400")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            raise UserError(f"--threshold {item!r}: the value must be a number") from None
    from grid.core.quality import make_thresholds

    try:
        make_thresholds(out)
    except ValueError as e:
        raise UserError(f"--threshold: {e}") from None
    return out


@handle_errors
def report_command(
    run_id: list[str] = typer.Argument(
        ...,
        help="Run id(s) under --results; 'latest' for the newest; 'all' for every "
        "run (several ids: one report over all of them).",
    ),
    results: Path = ResultsOpt,
    reports: Path = ReportsOpt,
    format: str = typer.Option(
        "md,html,json,csv,junit", "--format", "-f", help="Comma-separated: md, html, json, csv, junit."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Write into this folder (default: <reports>/<run id>)."),
    reference: str = typer.Option(
        None,
        "--reference",
        help="Hardware class the speed ratios are relative to (default: an M4 Max class, else the fastest class).",
    ),
    threshold: list[str] = typer.Option(
        None,
        "--threshold",
        help="Recompute quality flags with NAME=VALUE (repeatable), e.g. --threshold max_bullets=25.",
    ),
    max_rows: int = typer.Option(
        1000, "--max-rows", help="Rows shown in the Markdown/HTML results table (results.csv always has every row)."
    ),
) -> None:
    """Write report.md, report.html, summary.json, results.csv and junit.xml for a run.

    Example: grid report latest --results ./results --reports ./reports
    """
    from aggregator import write_reports
    from aggregator.dataset import resolve_runs

    runs = None if run_id == ["all"] else resolve_runs(results, run_id[0] if len(run_id) == 1 else run_id)
    name = "all" if runs is None else "+".join(runs)
    folder = out or Path(reports) / name
    paths = write_reports(
        results,
        runs,
        folder,
        formats=format,
        thresholds=_thresholds(threshold),
        reference_class=reference,
        max_table_rows=max_rows,
    )
    for fmt, path in paths.items():
        typer.echo(f"{fmt:6} {path}")


@handle_errors
def compare_command(
    run_a: str = typer.Argument(..., help="The baseline run."),
    run_b: str = typer.Argument(..., help="The run compared against it."),
    results: Path = ResultsOpt,
    out: Path = typer.Option(None, "--out", "-o", help="Also write the comparison to this file."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of Markdown."),
    fail_on: str = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 when the comparison has: regressions (speed or "
        "memory beyond noise), failures (newly failing cells), or "
        "any of them.",
    ),
    min_relative: float = typer.Option(0.05, "--min-change", help="Smallest relative change ever flagged (0.05 = 5%)."),
    k: float = typer.Option(3.0, "--noise-k", help="Flag changes larger than k × the trials' combined spread."),
) -> None:
    """Compare two runs: newly failing and fixed cells, regressions and improvements beyond the trials' noise,
    version changes.

    Example: grid compare 20261127-seed-ab12 20261128-seed-cd34 --fail-on regressions
    """
    if fail_on is not None and fail_on not in FAIL_ON:
        raise UserError(f"--fail-on {fail_on!r}: choose one of {', '.join(FAIL_ON)}")
    from aggregator.compare import compare_runs

    result = compare_runs(results, run_a, run_b, k=k, min_relative=min_relative)
    text = result.to_json() if as_json else result.to_markdown()
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + ("\n" if as_json else ""), encoding="utf-8")
    typer.echo(text)
    t = result.totals
    failing = {
        "regressions": t["regressions"] > 0,
        "failures": t["newly_failing"] > 0,
        "any": t["regressions"] > 0 or t["newly_failing"] > 0,
    }
    if fail_on and failing[fail_on]:
        typer.echo(
            f"grid compare: {t['regressions']} regressions, {t['newly_failing']} newly failing cells "
            f"(--fail-on {fail_on})",
            err=True,
        )
        raise typer.Exit(1)
