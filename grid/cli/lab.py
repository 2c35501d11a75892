"""Lab commands run where a Ray cluster is reachable: `grid resume` (finish a run) and `grid prefetch` (warm every
node's Hugging Face cache)."""

from __future__ import annotations

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
    Results,
    SpareChildren,
    Trace,
    new_app,
    ray_address,
    results_root,
    run_options,
)

app = new_app()


@app.command("resume")
def resume_command(  # the parameters are the command's options; the body is short
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run to finish.")],
    results: Results = "results",
    address: Address = None,
    force: Annotated[bool, typer.Option("--force", help="Resume even if the run's driver looks alive.")] = False,
    as_json: Json = False,
    class_wait_s: ClassWait = RUN_DEFAULTS.class_wait_s,
    fetch_timeout_s: FetchTimeout = RUN_DEFAULTS.fetch_timeout_s,
    spare_children: SpareChildren = RUN_DEFAULTS.spare_children,
    preimport: Preimport = RUN_DEFAULTS.preimport,
    measure_bandwidth: MeasureBandwidth = RUN_DEFAULTS.measure_bandwidth,
    mlx_device: MlxDevice = RUN_DEFAULTS.mlx_device,
    trace_path: Trace = RUN_DEFAULTS.trace_path,
) -> None:
    """Run only the cells of RUN that have no terminal row yet; a finished cell never runs twice.

    The run keeps the settings it started with, except those given here.

    Example: grid resume 20261128-154328-smoke-64f8 --address auto
    """
    from grid import store
    from grid.core.options import RunOptions
    from grid.driver.scheduler import resume_run

    root, address = results_root(results), ray_address(address)
    options = None
    if run_options(ctx, base=RUN_DEFAULTS) is not None:  # some setting given: over the run's own ones
        started_with = RunOptions.from_dict(store.read_manifest(root, run_id).get("options"))
        options = run_options(ctx, base=started_with)
    result = resume_run(root, run_id, address=address, force=force, options=options)
    summary = {
        "run_id": run_id,
        "ran": len(result.rows),
        "by_status": {s: result.count(s) for s in sorted({r.status for r in result.rows})},
    }
    output.show(
        summary,
        as_json,
        lambda s: output.text(f"resumed {run_id}: {s['ran']} cells ran ({s['by_status'] or 'nothing left'})"),
    )


@app.command("prefetch")
def prefetch_command(
    suite: Annotated[str, typer.Argument(help="A built-in suite name or a suite YAML path.")],
    address: Address = None,
    as_json: Json = False,
) -> None:
    """Download the suite's Hugging Face models into every node's cache, all nodes in parallel; show what each holds.

    Example: grid prefetch seed-2026-01 --address auto
    """
    from grid.core.suite import load_suite
    from grid.lab.prefetch import prefetch

    reports = prefetch(load_suite(suite), ray_address(address))
    output.show(reports, as_json, lambda rs: _print_prefetch(suite, rs))


def _print_prefetch(suite: str, reports: list[dict]) -> None:
    output.table(
        f"prefetch {suite}",
        ("node", "class", "model", "status", "detail"),
        (
            (
                f"{r['hostname']} {r['node_id'][:8]}",
                r["hw_class"],
                m["model"],
                m["status"],
                str(m.get("detail", ""))[:60],
            )
            for r in reports
            for m in r["models"] or [{"model": "—", "status": "error", "detail": r.get("error", "")}]
        ),
    )
    for r in reports:
        held = ", ".join(f"{c['repo']} ({c['size_gb']} GB)" for c in r["cache"]) or "nothing"
        output.line(f"{r['hostname']} {r['node_id'][:8]} holds: {held}")
