"""`grid run` (a suite on this machine or a cluster, then the report) and `grid runs` (what a results root holds)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from grid.cli import output
from grid.cli.common import (
    RUN_DEFAULTS,
    Address,
    ClassWait,
    FetchTimeout,
    Json,
    MeasureBandwidth,
    MlxDevice,
    Preimport,
    Reports,
    Results,
    SpareChildren,
    Trace,
    new_app,
    ray_address,
    results_root,
    run_options,
)

app = new_app()


@app.command("run")
def run_command(  # the parameters are the command's options; the body is short
    ctx: typer.Context,
    suite: Annotated[
        str, typer.Argument(help="A built-in suite name (smoke, twins, failures, ...) or a suite YAML path.")
    ],
    results: Results = "results",
    reports: Reports = "reports",
    address: Address = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run (default: time-suite-random).")] = None,
    per_node: Annotated[
        bool, typer.Option("--per-node", help="One cell per node instead of one per hardware class.")
    ] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip writing the report at the end.")] = False,
    as_json: Json = False,
    class_wait_s: ClassWait = RUN_DEFAULTS.class_wait_s,
    fetch_timeout_s: FetchTimeout = RUN_DEFAULTS.fetch_timeout_s,
    spare_children: SpareChildren = RUN_DEFAULTS.spare_children,
    preimport: Preimport = RUN_DEFAULTS.preimport,
    measure_bandwidth: MeasureBandwidth = RUN_DEFAULTS.measure_bandwidth,
    mlx_device: MlxDevice = RUN_DEFAULTS.mlx_device,
    trace_path: Trace = RUN_DEFAULTS.trace_path,
) -> None:
    """Run a suite: every model × prompt × image on every hardware class, each cell in its own process.

    Example: grid run smoke --results ./results --reports ./reports
    """
    from grid.core.suite import load_suite
    from grid.driver.scheduler import run_suite

    s = load_suite(suite)
    root, address = results_root(results), ray_address(address)
    options = run_options(ctx)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    t0 = time.perf_counter()
    with output.cell_progress(f"grid run {s.name}", enabled=not as_json) as progress:
        result = run_suite(
            s,
            root,
            run_id=run_id,
            address=address,
            per_node=per_node,
            on_row=lambda row: progress.finished(row.status == "ok"),
            on_plan=lambda cells: progress.planned(len(cells)),
            options=options,
        )
    wall_s = time.perf_counter() - t0
    paths = {}
    if not no_report:
        from aggregator import write_reports

        paths = write_reports(root, result.run_id, Path(reports) / result.run_id)
    summary = {
        "run_id": result.run_id,
        "suite": s.name,
        "cells": len(result.rows),
        "by_status": {st: result.count(st) for st in sorted({r.status for r in result.rows})},
        "wall_s": round(wall_s, 2),
        "results": str(root),
        "reports": {k: str(v) for k, v in paths.items()},
    }
    output.show(summary, as_json, lambda _: _print_run(result, root, wall_s, paths))


def _print_run(result, root, wall_s: float, paths: dict) -> None:
    rows = sorted(result.rows, key=lambda r: (r.model, r.hw_class, r.prompt_id, r.image_id))
    output.table(
        f"run {result.run_id}",
        ("model", "hw_class", "status", "decode tok/s", "peak GB", "error"),
        (
            (
                r.model,
                r.hw_class,
                r.status,
                f"{r.decode_tps:.1f}" if r.decode_tps else "—",
                f"{r.peak_memory_gb:.3f}" if r.peak_memory_gb is not None else "—",
                f"{r.error_class} ({r.error_package})" if r.error_class else "",
            )
            for r in rows
        ),
    )
    output.line(f"{len(result.rows)} cells in {wall_s:.1f} s; rows under {root}/run_id={result.run_id}/")
    for kind, path in paths.items():
        output.line(f"  {kind}: {path}")


@app.command("runs")
def runs_command(results: Results = "results", as_json: Json = False) -> None:
    """List the runs under a results root.

    Example: grid runs --results ./results
    """
    from grid import store

    root = results_root(results)
    runs = []
    for run_id in store.list_runs(root):
        statuses = store.read_table(root, run_id).select(["status"])["status"].to_pylist()
        runs.append({"run_id": run_id, "cells": len(statuses), "ok": statuses.count("ok")})
    output.show(
        runs,
        as_json,
        lambda rs: output.table(
            f"runs under {root}", ("run_id", "cells", "ok"), ((r["run_id"], str(r["cells"]), str(r["ok"])) for r in rs)
        ),
    )
