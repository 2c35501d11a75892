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


@app.command("resume")
def resume_command(  # the parameters are the command's options; the body is short
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run to finish.")],
    results: Results = "results",
    reports: Reports = "reports",
    address: Address = None,
    force: Annotated[bool, typer.Option("--force", help="Resume even if the run's driver looks alive.")] = False,
    retry: Annotated[
        list[str] | None,
        typer.Option(
            "--retry",
            help="Re-run cells whose latest row has this status (repeat or comma-separate; default: node_lost, "
            "skipped, timeout, whose cause may have gone).",
        ),
    ] = None,
    rerun: Annotated[bool, typer.Option("--rerun", help="Re-run every cell, ok and failed ones too.")] = False,
    rebuild_manifest: Annotated[
        bool, typer.Option("--rebuild-manifest", help="Rebuild a damaged or lost _run.json from --suite and the rows.")
    ] = False,
    suite: Annotated[str | None, typer.Option("--suite", help="The run's suite (with --rebuild-manifest).")] = None,
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
    """Run the cells of RUN that have no row yet, or whose latest row is retryable (node_lost, skipped, timeout);
    then write the run's report. A re-run cell's new row replaces the old one (kept under _superseded/).

    The run keeps the settings it started with, except those given here.

    Example: grid resume 20261128-154328-smoke-64f8 --address auto --retry node_lost,crashed
    """
    from grid import store
    from grid.core.names import check_run_id
    from grid.core.options import RunOptions
    from grid.driver.scheduler import resume_run

    check_run_id(run_id, "`grid runs --results RESULTS` lists the runs")
    statuses = _retry_statuses(retry, rerun)
    rebuild = _rebuild_suite(run_id, rebuild_manifest, suite)
    root, address = results_root(results), ray_address(address)
    options = None
    if run_options(ctx, base=RUN_DEFAULTS) is not None:  # some setting given: over the run's own ones
        started_with = (
            RunOptions() if rebuild else RunOptions.from_dict(store.read_manifest(root, run_id).get("options"))
        )
        options = run_options(ctx, base=started_with)
    with output.cell_progress(f"grid resume {run_id}", enabled=not as_json) as progress:
        result = resume_run(
            root,
            run_id,
            address=address,
            force=force,
            options=options,
            retry=statuses,
            rebuild_suite=rebuild,
            on_row=lambda row: progress.finished(row.status == "ok"),
            on_plan=lambda cells: progress.planned(len(cells)),
        )
    paths = {}
    if not no_report:
        from pathlib import Path

        from aggregator import write_reports

        paths = write_reports(root, run_id, Path(reports) / run_id)
    summary = {
        "run_id": run_id,
        "ran": len(result.rows),
        "retried_statuses": sorted(statuses),
        "by_status": {s: result.count(s) for s in sorted({r.status for r in result.rows})},
        "reports": {k: str(v) for k, v in paths.items()},
    }
    output.show(summary, as_json, _print_resume)


def _print_resume(s: dict) -> None:
    output.text(f"resumed {s['run_id']}: {s['ran']} cells ran ({s['by_status'] or 'nothing left'})")
    for kind, path in s["reports"].items():
        output.line(f"  {kind}: {path}")


class ResumeUsageError(UserError):
    exit_code = 2  # a misuse of the command's options, as click's own usage errors


def _retry_statuses(retry: list[str] | None, rerun: bool) -> frozenset[str]:
    """--retry words (checked), every status with --rerun, else the retryable ones."""
    from grid.core.status import RETRYABLE_STATUSES, Status

    if rerun:
        return frozenset(s.value for s in Status)
    if not retry:
        return RETRYABLE_STATUSES
    try:
        return frozenset(s.value for s in Status.parse_many(retry))
    except ValueError as e:
        raise ResumeUsageError(f"--retry: {e}", "e.g. `grid resume RUN --retry node_lost,timeout`") from None


def _rebuild_suite(run_id: str, rebuild_manifest: bool, suite: str | None):
    if suite and not rebuild_manifest:
        raise ResumeUsageError(
            "--suite is only used with --rebuild-manifest", f"`grid resume {run_id} --rebuild-manifest --suite SUITE`"
        )
    if not rebuild_manifest:
        return None
    if not suite:
        raise ResumeUsageError(
            "--rebuild-manifest needs the run's suite", f"`grid resume {run_id} --rebuild-manifest --suite SUITE`"
        )
    from grid.core.suite import load_suite

    return load_suite(suite)


@app.command("prefetch")
def prefetch_command(
    suite: Annotated[str, typer.Argument(help="A built-in suite name or a suite YAML path.")],
    address: Address = None,
    as_json: Json = False,
    env: Annotated[bool, typer.Option("--env", help="Build the suite's package environments on every node.")] = False,
) -> None:
    """Download the suite's Hugging Face models into every node's cache, all nodes in parallel; show what each holds.
    With --env, build the suite's package environments (`environments:`) on every node instead; exit 1 if any failed.

    Example: grid prefetch seed-2026-01 --address auto
    """
    from grid.core.suite import load_suite
    from grid.lab.prefetch import prefetch, prefetch_envs

    if env:
        built = prefetch_envs(load_suite(suite), ray_address(address))
        output.show(built, as_json, lambda rs: output.table(f"prefetch --env {suite}", tuple(ENV_COLUMNS), rs_rows(rs)))
        if any(b["status"] != "built" for b in built):
            raise typer.Exit(1)
        return
    reports = prefetch(load_suite(suite), ray_address(address))
    output.show(reports, as_json, lambda rs: _print_prefetch(suite, rs))


ENV_COLUMNS = ("env_id", "hw_class", "node_id", "status", "seconds", "mlx_vlm_version", "detail")


def rs_rows(records: list[dict]):
    return ((str(r[c])[:80] for c in ENV_COLUMNS) for r in records)


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
