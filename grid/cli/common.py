"""Options shared by every command group, declared once, and the errors that become one line of advice."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from grid.core.errors import GridError

ResultsOpt = typer.Option(
    Path(os.environ.get("GRID_RESULTS", "results")),
    "--results",
    "-r",
    help="Results root: a folder or a pyarrow filesystem URI (s3://bucket/grid). Env: GRID_RESULTS.",
)
ReportsOpt = typer.Option(
    Path(os.environ.get("GRID_REPORTS", "reports")),
    "--reports",
    help="Where reports are written. Env: GRID_REPORTS.",
)
AddressOpt = typer.Option(
    None,
    "--address",
    "-a",
    help="Ray cluster address (HEAD:6379); without it grid starts an embedded single-node Ray. Env: GRID_ADDRESS.",
    envvar="GRID_ADDRESS",
)
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


class UserError(GridError):
    """A mistake the user can fix: printed as one line of advice, exit code 1."""


def user_error_types() -> tuple[type[BaseException], ...]:
    """Every exception type that means 'bad input'. Imported only when a command fails, so start-up stays light."""
    from agent.twins import TwinError
    from aggregator import ReportError
    from grid.driver.scheduler import SchedulerError
    from grid.store import StoreError

    return (UserError, StoreError, SchedulerError, TwinError, ReportError, FileNotFoundError)


def handle_errors(func):
    """Decorator for commands: user errors become one line of advice on stderr and an exit code (a malformed suite
    exits 2, other user errors 1); GRID_DEBUG=1 re-raises to show the traceback."""
    import functools

    from rich.console import Console

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from grid.core.suite import SuiteError

        try:
            return func(*args, **kwargs)
        except (SuiteError, *user_error_types()) as e:
            if os.environ.get("GRID_DEBUG"):
                raise
            message = (str(e).strip().splitlines() or [type(e).__name__])[0]
            Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(2 if isinstance(e, SuiteError) else 1) from None

    return wrapper
