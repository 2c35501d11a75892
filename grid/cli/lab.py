"""Lab commands: `grid resume`, `grid prefetch`, and from a laptop `grid submit|status|logs|cancel|fetch`."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from grid.cli.common import AddressOpt, JsonOpt, ResultsOpt, UserError, handle_errors

console = Console()
DashboardOpt = typer.Option(
    ...,
    "--address",
    "-a",
    envvar="GRID_DASHBOARD",
    help="The head's dashboard / Jobs API URL, http://HEAD:8265. Env: GRID_DASHBOARD.",
)


def register(app: typer.Typer) -> None:
    for name, func in (
        ("resume", resume_command),
        ("prefetch", prefetch_command),
        ("submit", submit_command),
        ("status", status_command),
        ("logs", logs_command),
        ("cancel", cancel_command),
        ("fetch", fetch_command),
    ):
        app.command(name)(func)


def remote_errors(func):
    """RemoteError / SchedulerError -> UserError: one line of advice, exit 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from grid.lab.remote import RemoteError

        try:
            return func(*args, **kwargs)
        except RemoteError as e:
            raise UserError(str(e)) from None

    return wrapper


@handle_errors
def resume_command(
    run_id: str = typer.Argument(..., help="The run to finish."),
    results: Path = ResultsOpt,
    address: str = AddressOpt,
    force: bool = typer.Option(False, "--force", help="Resume even if the run's driver looks alive."),
    class_wait_s: float = typer.Option(
        300, "--class-wait", help="Seconds a class may have no live node before its cells are skipped."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Run only the cells of RUN that have no terminal row yet; a finished cell never runs twice.

    Example: grid resume 20261128-154328-smoke-64f8 --address auto
    """
    from grid.driver.scheduler import resume_run

    result = resume_run(str(results), run_id, address=address, force=force, class_wait_s=class_wait_s)
    summary = {
        "run_id": run_id,
        "ran": len(result.rows),
        "by_status": {s: result.count(s) for s in sorted({r.status for r in result.rows})},
    }
    typer.echo(
        json.dumps(summary, indent=2)
        if as_json
        else f"resumed {run_id}: {len(result.rows)} cells ran ({summary['by_status'] or 'nothing left'})"
    )


@handle_errors
def prefetch_command(
    suite: str = typer.Argument(..., help="A built-in suite name or a suite YAML path."),
    address: str = AddressOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Download the suite's Hugging Face models into every node's cache, all nodes in parallel; show what each holds.

    Example: grid prefetch seed-2026-01 --address auto
    """
    from grid.core.suite import load_suite
    from grid.lab.prefetch import prefetch

    reports = prefetch(load_suite(suite), address)
    if as_json:
        typer.echo(json.dumps(reports, indent=2))
        return
    table = Table(title=f"prefetch {suite}")
    for col in ("node", "class", "model", "status", "detail"):
        table.add_column(col)
    for r in reports:
        for m in r["models"] or [{"model": "—", "status": "error", "detail": r.get("error", "")}]:
            table.add_row(
                f"{r['hostname']} {r['node_id'][:8]}",
                r["hw_class"],
                m["model"],
                m["status"],
                str(m.get("detail", ""))[:60],
            )
    console.print(table)
    for r in reports:
        held = ", ".join(f"{c['repo']} ({c['size_gb']} GB)" for c in r["cache"]) or "nothing"
        console.print(f"{r['hostname']} {r['node_id'][:8]} holds: {held}")


@handle_errors
@remote_errors
def submit_command(
    suite: str = typer.Argument(..., help="A built-in suite name or a suite YAML path (validated here first)."),
    address: str = DashboardOpt,
    results: str = typer.Option("~/grid-results", "--results", help="Results root ON THE HEAD (folder or URI)."),
    reports: str = typer.Option("~/grid-reports", "--reports", help="Reports folder on the head."),
    run_id: str = typer.Option(None, "--run-id"),
    per_node: bool = typer.Option(False, "--per-node", help="One cell per node instead of one per class."),
) -> None:
    """Submit a run to a lab's head as a Ray Job; print the run id and return.

    Example: grid submit smoke --address http://127.0.0.1:8265
    """
    from grid.lab.remote import submit

    rid = submit(suite, address, results=results, reports=reports, run_id=run_id, per_node=per_node)
    typer.echo(rid)
    Console(stderr=True).print(f"follow: grid status {rid} --follow --address {address}")


def _print_status(st: dict) -> None:
    p = st["progress"]
    done = ", ".join(f"{k} {v}" for k, v in (p.get("done") or {}).items()) or "none yet"
    console.print(f"[bold]{st['run_id']}[/]: job {st['job_status']}; cells done: {done}")
    flights = p.get("flights") or []
    if flights:
        table = Table(show_header=True)
        for col in ("state", "model", "class", "node", "cells left", "attempt"):
            table.add_column(col)
        for f in flights:
            table.add_row(
                f["state"],
                f["model"],
                f["hw_class"],
                f.get("node_ip") or (f.get("node_id") or "—")[:12],
                str(f["cells_left"]),
                str(f["attempt"]),
            )
        console.print(table)
    if st["job_status"] == "FAILED" and st["message"]:
        console.print(f"[red]{st['message'].strip().splitlines()[-1]}[/]")


@handle_errors
@remote_errors
def status_command(
    run_id: str = typer.Argument(...),
    address: str = DashboardOpt,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing changes until the run ends."),
    as_json: bool = JsonOpt,
) -> None:
    """A submitted run's state: the job, cells done by status, groups queued or running on which node.

    Example: grid status 20261128-154328-smoke-64f8 --follow --address http://127.0.0.1:8265
    """
    from grid.lab import remote

    show = (lambda st: typer.echo(json.dumps(st))) if as_json else _print_status
    if follow:
        remote.follow(address, run_id, show)
    else:
        show(remote.status(address, run_id))


@handle_errors
@remote_errors
def logs_command(
    run_id: str = typer.Argument(...),
    address: str = DashboardOpt,
    raw: bool = typer.Option(False, "--raw", help="Keep the GRID_PROGRESS lines."),
) -> None:
    """The driver's log of a submitted run.

    Example: grid logs 20261128-154328-smoke-64f8 --address http://127.0.0.1:8265
    """
    from grid.lab.remote import logs

    typer.echo(logs(address, run_id, raw=raw))


@handle_errors
@remote_errors
def cancel_command(run_id: str = typer.Argument(...), address: str = DashboardOpt) -> None:
    """Stop a submitted run; rows already written stay, `grid resume` finishes the rest later.

    Example: grid cancel 20261128-154328-smoke-64f8 --address http://127.0.0.1:8265
    """
    from grid.lab.remote import cancel

    typer.echo(f"{run_id}: {'stop requested' if cancel(address, run_id) else 'already finished'}")


@handle_errors
@remote_errors
def fetch_command(
    run_id: str = typer.Argument(...),
    address: str = typer.Option(
        None,
        "--address",
        "-a",
        envvar="GRID_DASHBOARD",
        help="The head's dashboard URL (fetch through a small export job).",
    ),
    results: str = typer.Option(None, "--results", help="Or a results root readable from here (s3://..., folder)."),
    to: Path = typer.Option(Path("grid-fetch"), "--to", help="Where the files go: <to>/results, <to>/reports."),
) -> None:
    """Copy a run's Parquet files and reports to this machine.

    Example: grid fetch 20261128-154328-smoke-64f8 --address http://127.0.0.1:8265 --to ./lab
    """
    from grid.lab.remote import fetch

    files = fetch(run_id, to, address=address, results=results)
    parquet = [f for f in files if f.suffix == ".parquet"]
    typer.echo(
        f"{len(files)} files ({len(parquet)} Parquet) under {to}; read them with "
        f"`grid report {run_id} --results {to / 'results'}`"
    )
