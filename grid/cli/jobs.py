"""From a laptop, through the head's Jobs API (`--dashboard http://HEAD:8265`): `grid submit`, `status`, `logs`,
`cancel`, `fetch`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grid.cli import output
from grid.cli.common import (
    RUN_DEFAULTS,
    ClassWait,
    Dashboard,
    DashboardAlias,
    FetchTimeout,
    Json,
    MeasureBandwidth,
    MlxDevice,
    Preimport,
    SentinelGap,
    SpareChildren,
    Trace,
    dashboard_url,
    new_app,
    run_options,
)

app = new_app()
RunId = Annotated[str, typer.Argument(help="The run id `grid submit` printed.")]


@app.command("submit")
def submit_command(  # the parameters are the command's options; the body is short
    ctx: typer.Context,
    suite: Annotated[str, typer.Argument(help="A built-in suite name or a suite YAML path (validated here first).")],
    dashboard: Dashboard = None,
    address: DashboardAlias = None,
    results: Annotated[
        str, typer.Option("--results", help="Results root ON THE HEAD (folder or URI).")
    ] = "~/grid-results",
    reports: Annotated[str, typer.Option("--reports", help="Reports folder on the head.")] = "~/grid-reports",
    run_id: Annotated[str | None, typer.Option("--run-id")] = None,
    per_node: Annotated[bool, typer.Option("--per-node", help="One cell per node instead of one per class.")] = False,
    class_wait_s: ClassWait = RUN_DEFAULTS.class_wait_s,
    fetch_timeout_s: FetchTimeout = RUN_DEFAULTS.fetch_timeout_s,
    spare_children: SpareChildren = RUN_DEFAULTS.spare_children,
    sentinel_gap_s: SentinelGap = RUN_DEFAULTS.sentinel_gap_s,
    preimport: Preimport = RUN_DEFAULTS.preimport,
    measure_bandwidth: MeasureBandwidth = RUN_DEFAULTS.measure_bandwidth,
    mlx_device: MlxDevice = RUN_DEFAULTS.mlx_device,
    trace_path: Trace = RUN_DEFAULTS.trace_path,
) -> None:
    """Submit a run to a lab's head as a Ray Job; print the run id and return.

    The run settings travel as flags of the job's `grid run` (only those that differ from the defaults).

    Example: grid submit smoke --dashboard http://127.0.0.1:8265
    """
    from grid.lab.remote import submit

    url = dashboard_url(dashboard, address)
    rid = submit(
        suite, url, results=results, reports=reports, run_id=run_id, per_node=per_node, options=run_options(ctx)
    )
    output.text(rid)
    output.note(f"follow: grid status {rid} --follow --dashboard {url}")


def _print_status(st: dict) -> None:
    p = st["progress"]
    done = ", ".join(f"{k} {v}" for k, v in (p.get("done") or {}).items()) or "none yet"
    output.line(f"[bold]{st['run_id']}[/]: job {st['job_status']}; cells done: {done}")
    flights = p.get("flights") or []
    if flights:
        output.table(
            None,
            ("state", "model", "class", "node", "cells left", "attempt"),
            (
                (
                    f["state"],
                    f["model"],
                    f["hw_class"],
                    f.get("node_ip") or (f.get("node_id") or "—")[:12],
                    str(f["cells_left"]),
                    str(f["attempt"]),
                )
                for f in flights
            ),
            show_header=True,
        )
    if st["job_status"] == "FAILED" and st["message"]:
        output.line(f"[red]{st['message'].strip().splitlines()[-1]}[/]")


@app.command("status")
def status_command(
    run_id: RunId,
    dashboard: Dashboard = None,
    address: DashboardAlias = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing changes until the run ends.")] = False,
    as_json: Json = False,
) -> None:
    """A submitted run's state: the job, cells done by status, groups queued or running on which node.

    Example: grid status 20261128-154328-smoke-64f8 --follow --dashboard http://127.0.0.1:8265
    """
    from grid.lab import remote

    url = dashboard_url(dashboard, address)
    show = (lambda st: output.data(st, indent=None)) if as_json else _print_status
    if follow:
        remote.follow(url, run_id, show)
    else:
        show(remote.status(url, run_id))


@app.command("logs")
def logs_command(
    run_id: RunId,
    dashboard: Dashboard = None,
    address: DashboardAlias = None,
    raw: Annotated[bool, typer.Option("--raw", help="Keep the GRID_PROGRESS lines.")] = False,
) -> None:
    """The driver's log of a submitted run.

    Example: grid logs 20261128-154328-smoke-64f8 --dashboard http://127.0.0.1:8265
    """
    from grid.lab.remote import logs

    output.text(logs(dashboard_url(dashboard, address), run_id, raw=raw))


@app.command("cancel")
def cancel_command(run_id: RunId, dashboard: Dashboard = None, address: DashboardAlias = None) -> None:
    """Stop a submitted run; rows already written stay, `grid resume` finishes the rest later.

    Example: grid cancel 20261128-154328-smoke-64f8 --dashboard http://127.0.0.1:8265
    """
    from grid.lab.remote import cancel

    stopped = cancel(dashboard_url(dashboard, address), run_id)
    output.text(f"{run_id}: {'stop requested' if stopped else 'already finished'}")


@app.command("fetch")
def fetch_command(
    run_id: RunId,
    dashboard: Annotated[
        str | None,
        typer.Option(
            "--dashboard",
            "-d",
            envvar="GRID_DASHBOARD",
            help="The head's dashboard URL, http://HEAD:8265 (fetch through a small export job).",
        ),
    ] = None,
    address: DashboardAlias = None,
    results: Annotated[
        str | None,
        typer.Option(
            "--results",
            help="With --dashboard: the results root on the head (default: the run's own). Without: a results "
            "root readable from here (s3://..., file:///..., a shared folder).",
        ),
    ] = None,
    to: Annotated[Path, typer.Option("--to", help="Where the files go: <to>/results, <to>/reports.")] = Path(
        "grid-fetch"
    ),
) -> None:
    """Copy a run's Parquet files and reports to this machine.

    Example: grid fetch 20261128-154328-smoke-64f8 --dashboard http://127.0.0.1:8265 --to ./lab
    """
    from grid.lab.remote import fetch

    url = dashboard_url(dashboard, address, required=False)
    files = fetch(run_id, to, dashboard=url, results=results)
    parquet = [f for f in files if f.suffix == ".parquet"]
    output.text(
        f"{len(files)} files ({len(parquet)} Parquet) under {to}; read them with "
        f"`grid report {run_id} --results {to / 'results'}`"
    )
