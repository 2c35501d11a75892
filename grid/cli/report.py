"""`grid report RUN_ID` (Markdown, HTML, JSON, CSV, JUnit for a run) and `grid compare RUN_A RUN_B`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aggregator.formats import DEFAULT_FORMATS, FORMATS
from grid.cli import output
from grid.cli.common import Reports, Results, UserError, new_app, results_root

FAIL_ON = ("regressions", "failures", "any")
_FORMAT_HELP = "Comma-separated: " + "; ".join(f"{f.name} ({f.about})" for f in FORMATS.values()) + "."
app = new_app()


def register(host: typer.Typer) -> None:
    """Merge `report` and `compare` into another app (the root does it with add_typer too)."""
    host.add_typer(app)


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


@app.command("report")
def report_command(
    run_id: Annotated[
        list[str],
        typer.Argument(
            help="Run id(s) under --results; 'latest' for the newest; 'all' for every "
            "run (several ids: one report over all of them).",
        ),
    ],
    results: Results = "results",
    reports: Reports = "reports",
    format: Annotated[str, typer.Option("--format", "-f", help=_FORMAT_HELP)] = DEFAULT_FORMATS,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write into this folder (default: <reports>/<run id>).")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Hardware class the speed ratios are relative to (default: an M4 Max class, else the fastest class; "
            "the hardware verdict's default: the class with the most memory).",
        ),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help="A small YAML lab file of prices per class (`currency: EUR` and `prices: {CLASS: 4000, ...}`): "
            "adds tok/s per 1,000 of currency to the hardware verdict.",
        ),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold", help="Recompute quality flags with NAME=VALUE (repeatable), e.g. --threshold max_bullets=25."
        ),
    ] = None,
    max_rows: Annotated[
        int,
        typer.Option(
            "--max-rows", help="Rows shown in the Markdown/HTML results table (results.csv always has every row)."
        ),
    ] = 1000,
) -> None:
    """Write report.md, report.html, summary.json, results.csv and junit.xml for a run.

    Example: grid report latest --results ./results --reports ./reports
    """
    from aggregator import write_reports
    from aggregator.dataset import resolve_runs

    root = results_root(results)
    runs = None if run_id == ["all"] else resolve_runs(root, run_id[0] if len(run_id) == 1 else run_id)
    name = "all" if runs is None else "+".join(runs)
    paths = write_reports(
        root,
        runs,
        out or Path(reports) / name,
        formats=format,
        thresholds=_thresholds(threshold),
        reference_class=reference,
        max_table_rows=max_rows,
        prices=prices,
    )
    for fmt, path in paths.items():
        output.text(f"{fmt:6} {path}")


@app.command("compare")
def compare_command(
    run_a: Annotated[str, typer.Argument(help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(help="The run compared against it.")],
    results: Results = "results",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the comparison to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of Markdown.")] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when the comparison has: regressions (speed or memory beyond noise), failures (newly "
            "failing cells), or any of them.",
        ),
    ] = None,
    min_relative: Annotated[
        float, typer.Option("--min-change", help="Smallest relative change ever flagged (0.05 = 5%).")
    ] = 0.05,
    k: Annotated[
        float, typer.Option("--noise-k", help="Flag changes larger than k × the trials' combined spread.")
    ] = 3.0,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Refuse (exit 1) when the runs' suite settings, hardware or package versions differ."
        ),
    ] = False,
) -> None:
    """Compare two runs: newly failing and fixed cells, regressions and improvements beyond the trials' noise,
    version changes.

    Example: grid compare 20261127-seed-ab12 20261128-seed-cd34 --fail-on regressions
    """
    if fail_on is not None and fail_on not in FAIL_ON:
        raise UserError(f"--fail-on {fail_on!r}: choose one of {', '.join(FAIL_ON)}")
    from aggregator.compare import compare_runs

    result = compare_runs(results_root(results), run_a, run_b, k=k, min_relative=min_relative)
    from aggregator.render.compare import comparison_markdown

    text = result.to_json() if as_json else comparison_markdown(result)
    if out:
        from grid.core.files import atomic_write_text

        atomic_write_text(out, text + ("\n" if as_json else ""))
    output.text(text)
    if strict and result.mismatches:
        output.note("grid compare --strict: not comparable: " + "; ".join(result.mismatches))
        raise typer.Exit(1)
    t = result.totals
    failing = {
        "regressions": t["regressions"] > 0,
        "failures": t["newly_failing"] > 0,
        "any": t["regressions"] > 0 or t["newly_failing"] > 0,
    }
    if fail_on and failing[fail_on]:
        output.note(
            f"grid compare: {t['regressions']} regressions, {t['newly_failing']} newly failing cells "
            f"(--fail-on {fail_on})"
        )
        raise typer.Exit(1)


@app.command("history")
def history_command(
    results: Results = "results",
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model.")] = None,
    hw_class: Annotated[str | None, typer.Option("--class", "-c", help="Only this hardware class.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of Markdown.")] = False,
) -> None:
    """Decode tok/s and status per model × hardware class over every run under --results (package versions per run),
    and the first run where a model broke or got slower (compare's noise rule).

    Example: grid history --results ./results --model twin:llava_next
    """

    from aggregator.history_cache import history_of_root
    from aggregator.render.history import history_markdown

    h = history_of_root(results_root(results), model, hw_class)  # finished runs from their cache (_history.json)
    if as_json:
        # one line, no indent: only then does json use its C encoder (9 MB for 100 runs × 400 series)
        output.text(json.dumps(h.to_dict(), ensure_ascii=False))
    else:
        output.text("# grid history\n\n" + history_markdown(h))
