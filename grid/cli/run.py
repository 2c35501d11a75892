"""`grid run` (a suite on this machine or a cluster, then the report) and `grid runs` (what a results root holds)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grid.cli.common import AddressOpt, JsonOpt, ReportsOpt, ResultsOpt, handle_errors

console = Console()


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("runs")(runs_command)


@handle_errors
def run_command(
    suite: str = typer.Argument(..., help="A built-in suite name (smoke, twins, failures, ...) or a suite YAML path."),
    results: Path = ResultsOpt,
    reports: Path = ReportsOpt,
    address: str = AddressOpt,
    run_id: str = typer.Option(None, "--run-id", help="Name the run (default: time-suite-random)."),
    per_node: bool = typer.Option(False, "--per-node", help="One cell per node instead of one per hardware class."),
    no_report: bool = typer.Option(False, "--no-report", help="Skip writing the report at the end."),
    as_json: bool = JsonOpt,
) -> None:
    """Run a suite: every model × prompt × image on every hardware class, each cell in its own process.

    Example: grid run smoke --results ./results --reports ./reports
    """
    from grid.core.suite import load_suite
    from grid.driver.scheduler import run_suite

    s = load_suite(suite)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    t0 = time.perf_counter()
    counts = {"done": 0, "failed": 0}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} not ok[/]"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=as_json,
        transient=False,
    ) as progress:
        task = progress.add_task(f"grid run {s.name}", total=None, ok=0, failed=0)

        def on_plan(cells):
            progress.update(task, total=len(cells))

        def on_row(row):
            counts["done"] += 1
            counts["failed"] += row.status != "ok"
            progress.update(task, advance=1, ok=counts["done"] - counts["failed"], failed=counts["failed"])

        result = run_suite(
            s, results, run_id=run_id, address=address, per_node=per_node, on_row=on_row, on_plan=on_plan
        )
    wall_s = time.perf_counter() - t0
    paths = {}
    if not no_report:
        from aggregator import write_reports

        paths = write_reports(results, result.run_id, Path(reports) / result.run_id)
    summary = {
        "run_id": result.run_id,
        "suite": s.name,
        "cells": len(result.rows),
        "by_status": {st: result.count(st) for st in sorted({r.status for r in result.rows})},
        "wall_s": round(wall_s, 2),
        "results": str(results),
        "reports": {k: str(v) for k, v in paths.items()},
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    table = Table(title=f"run {result.run_id}")
    for col in ("model", "hw_class", "status", "decode tok/s", "peak GB", "error"):
        table.add_column(col)
    for r in sorted(result.rows, key=lambda r: (r.model, r.hw_class, r.prompt_id, r.image_id)):
        table.add_row(
            r.model,
            r.hw_class,
            r.status,
            f"{r.decode_tps:.1f}" if r.decode_tps else "—",
            f"{r.peak_memory_gb:.3f}" if r.peak_memory_gb is not None else "—",
            f"{r.error_class} ({r.error_package})" if r.error_class else "",
        )
    console.print(table)
    console.print(f"{len(result.rows)} cells in {wall_s:.1f} s; rows under {results}/run_id={result.run_id}/")
    for kind, path in paths.items():
        console.print(f"  {kind}: {path}")


@handle_errors
def runs_command(results: Path = ResultsOpt, as_json: bool = JsonOpt) -> None:
    """List the runs under a results root.

    Example: grid runs --results ./results
    """
    from grid import store

    runs = []
    for run_id in store.list_runs(results):
        table = store.read_table(results, run_id).select(["status"])
        statuses = table["status"].to_pylist()
        runs.append({"run_id": run_id, "cells": len(statuses), "ok": statuses.count("ok")})
    if as_json:
        typer.echo(json.dumps(runs, indent=2))
        return
    table = Table(title=f"runs under {results}")
    for col in ("run_id", "cells", "ok"):
        table.add_column(col)
    for r in runs:
        table.add_row(r["run_id"], str(r["cells"]), str(r["ok"]))
    console.print(table)
