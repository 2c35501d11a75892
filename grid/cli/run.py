"""`grid run` (a suite on this machine or a cluster, then the report) and `grid runs` (what a results root holds)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box

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
    SentinelGap,
    SpareChildren,
    Trace,
    UserError,
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
    sentinel_gap_s: SentinelGap = RUN_DEFAULTS.sentinel_gap_s,
    preimport: Preimport = RUN_DEFAULTS.preimport,
    measure_bandwidth: MeasureBandwidth = RUN_DEFAULTS.measure_bandwidth,
    mlx_device: MlxDevice = RUN_DEFAULTS.mlx_device,
    trace_path: Trace = RUN_DEFAULTS.trace_path,
) -> None:
    """Run a suite: every model × prompt × image on every hardware class, each cell in its own process.

    Example: grid run smoke --results ./results --reports ./reports
    """
    from grid.core.names import check_run_id
    from grid.core.suite import load_suite
    from grid.driver.validate import validate_suite

    if run_id is not None:
        # a name, never a path: checked before anything is read, started or written
        check_run_id(run_id, f"e.g. `grid run {suite} --run-id my-run-1`")
    s = load_suite(suite)
    validate_suite(s)  # twin names, local model folders: a suite error before any Ray start
    from grid.driver.scheduler import run_suite

    root, address = results_root(results), ray_address(address)
    if root.local:
        writable_folder(root.base, "--results")
    if not no_report:
        writable_folder(reports, "--reports")
    options = run_options(ctx)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from grid import store
    from grid.driver.connect import ray_module

    run_id = run_id or store.new_run_id(s.name)
    ray_module()  # imported before fd 2 moves: Ray's log handlers keep the stream they found at import
    # Ray's own output (a dying node's state dump), not the table; with --no-report nothing goes under --reports
    logs = Path(tempfile.gettempdir()) / "grid" if no_report else Path(reports)
    ray_log = logs / run_id / "ray.log"
    t0 = time.perf_counter()
    with (
        output.native_stderr_to(ray_log),
        output.cell_progress(f"grid run {s.name}", enabled=not as_json) as progress,
    ):
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
    output.show(summary, as_json, lambda _: _print_run(result, root, wall_s, paths, ray_log))


def model_label(model: str) -> str:
    """How the run table names a model: a twin or repo id as written, a local folder by its folder name."""
    from grid.driver.validate import looks_like_path

    if model.startswith(("twin:", "twin-broken:")) or not looks_like_path(model):
        return model
    return Path(model.rstrip("/\\")).name or model


def _print_run(result, root, wall_s: float, paths: dict, ray_log: Path) -> None:
    rows = sorted(result.rows, key=lambda r: (r.model, r.hw_class, r.prompt_id, r.image_id))
    cells = [
        (
            model_label(r.model),
            r.hw_class,
            f"{r.prompt_id}/{r.image_id}",
            r.status,
            f"{r.decode_tps:.1f}" if r.decode_tps else "—",
            f"{r.peak_memory_gb:.3f}" if r.peak_memory_gb is not None else "—",
            f"{r.error_class} ({r.error_package})" if r.error_class else _flags(r),
        )
        for r in rows
    ]
    with_notes = any(c[-1] for c in cells)  # no empty "error" column eating an 80-column terminal
    shown = max((len(c[2]) for c in cells), default=12)
    columns = [
        ("model", {"overflow": "fold", "min_width": 10}),
        ("hw_class", {"overflow": "fold"}),
        ("prompt/image", {"overflow": "fold", "min_width": min(shown, 14)}),
        ("status", {"no_wrap": True}),
        ("tok/s", {"justify": "right", "no_wrap": True}),
        ("peak GB", {"justify": "right", "no_wrap": True}),
    ] + ([("error / note", {"overflow": "fold"})] if with_notes else [])
    output.table(
        f"run {result.run_id}",
        columns,
        (c if with_notes else c[:-1] for c in cells),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    output.line(f"{len(result.rows)} cells in {wall_s:.1f} s; rows under {root}/run_id={result.run_id}/")
    if ray_log.exists():
        output.line(f"  ray log: {ray_log}")
    for kind, path in paths.items():
        output.line(f"  {kind}: {path}")


def _flags(row) -> str:
    """An ok row's load warnings (a fallback is not a clean ok), shown where a failure's class would be."""
    return ", ".join(f for f in (row.quality_flags or []) if f.startswith("load-fallback"))


def writable_folder(path: str, option: str) -> None:
    """A folder grid will write into must be (or become) a writable folder: probed with a temporary file in its
    nearest existing ancestor, removed at once, so a read-only or misnamed root fails before anything runs."""
    import tempfile

    target = Path(path).expanduser()
    ancestor = target
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"{option} {path}: {ancestor} is a file, not a folder", f"give a folder, e.g. `{option} ./out`")
    try:
        fd, probe = tempfile.mkstemp(prefix=".grid-probe-", dir=ancestor)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UserError(
            f"{option} {path}: cannot write in {ancestor} ({e.strerror or e})",
            f"give a writable folder, e.g. `{option} ./out`",
        ) from None


@app.command("runs")
def runs_command(results: Results = "results", as_json: Json = False) -> None:
    """List the runs under a results root.

    Example: grid runs --results ./results
    """
    from grid import store

    root = results_root(results)
    if root.local and not Path(root.base).is_dir():
        raise UserError(
            f"no results root at {results}",
            "check --results (the folder `grid run` wrote), e.g. `grid runs --results ./results`",
        )
    runs = []
    for run_id in store.list_runs(root):
        statuses = store.read_table(root, run_id, columns=["status"])["status"].to_pylist()
        runs.append({"run_id": run_id, "cells": len(statuses), "ok": statuses.count("ok")})
    output.show(
        runs,
        as_json,
        lambda rs: output.table(
            f"runs under {root}", ("run_id", "cells", "ok"), ((r["run_id"], str(r["cells"]), str(r["ok"])) for r in rs)
        ),
    )
