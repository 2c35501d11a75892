"""What every command group shares: the one error handler (handled_errors, around every command), the options declared
once as `Annotated` aliases (environment variables only through typer's `envvar=`, read when a command runs, never at
import), and the helpers that turn those options into grid's types (ResultsRoot, RunOptions, a dashboard URL)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from typer.core import TyperCommand

from grid.cli import output
from grid.core.errors import GridError
from grid.core.options import NodeOptions, RunOptions


class UserError(GridError):
    """A mistake the user can fix: printed as one line of advice, exit code 1."""


@contextmanager
def handled_errors() -> Iterator[None]:
    """THE error handler of the CLI: a GridError (or a missing file) becomes one line of advice on stderr and the
    error's exit code (1; a malformed suite 2); GRID_DEBUG=1 lets it through to show the traceback. Typer's own usage
    errors never reach it (click prints them and exits 2)."""
    try:
        yield
    except (GridError, FileNotFoundError) as e:
        if os.environ.get("GRID_DEBUG"):
            raise
        if isinstance(e, GridError):
            output.error(e.message, e.hint)
        else:
            output.error(str(e) or type(e).__name__)
        raise typer.Exit(getattr(e, "exit_code", 1)) from None


class GridCommand(TyperCommand):
    """Every grid command: its body runs inside handled_errors. The handler sits on the command rather than only in
    grid.cli.main() because typer's CliRunner (the tests), and any app a command group is merged into, call the
    command without main()."""

    def invoke(self, ctx: typer.Context):
        with handled_errors():
            return super().invoke(ctx)


class GridTyper(typer.Typer):
    """A Typer whose commands are GridCommands."""

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kw):
        return super().command(name, cls=cls or GridCommand, **kw)


def new_app(**kw) -> GridTyper:
    """A command group's own Typer."""
    return GridTyper(add_completion=False, pretty_exceptions_enable=False, **kw)


# --- shared options ------------------------------------------------------------------------------------------------

Results = Annotated[
    str,
    typer.Option(
        "--results",
        "-r",
        envvar="GRID_RESULTS",
        help="Results root: a folder, file:///absolute/path, or a pyarrow filesystem URI (s3://bucket/grid).",
    ),
]
Reports = Annotated[str, typer.Option("--reports", envvar="GRID_REPORTS", help="Where reports are written.")]
Address = Annotated[
    str | None,
    typer.Option(
        "--address",
        "-a",
        envvar="GRID_ADDRESS",
        help="Ray cluster address (HEAD:6379, or auto); without it grid starts an embedded single-node Ray.",
    ),
]
Dashboard = Annotated[
    str | None,
    typer.Option(
        "--dashboard",
        "-d",
        envvar="GRID_DASHBOARD",
        help="The head's dashboard / Jobs API URL, http://HEAD:8265.",
    ),
]
# the old spelling of --dashboard on the Jobs API commands: still accepted, with a warning
DashboardAlias = Annotated[str | None, typer.Option("--address", "-a", hidden=True, help="Deprecated: --dashboard.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]

# RunOptions, one flag per field (the parameter names are the field names: run_options() reads them back)
_RUN = "Run settings"
ClassWait = Annotated[
    float,
    typer.Option(
        "--class-wait",
        envvar="GRID_CLASS_WAIT_S",
        help="Seconds a class may have no live node before its cells are skipped.",
        rich_help_panel=_RUN,
    ),
]
FetchTimeout = Annotated[
    float,
    typer.Option(
        "--fetch-timeout",
        envvar="GRID_FETCH_TIMEOUT_S",
        help="Seconds a model download may take (timed apart from every cell timer).",
        rich_help_panel=_RUN,
    ),
]
SpareChildren = Annotated[
    int | None,
    typer.Option(
        "--spare-children",
        envvar="GRID_SPARE_CHILDREN",
        min=0,
        clamp=True,
        help="Warm spare child processes per node (0: a fresh child per model group, measured cold). "
        "Default: sized per group from the measured child start-up and the predicted group times.",
        rich_help_panel=_RUN,
    ),
]
SentinelGap = Annotated[
    float | None,
    typer.Option(
        "--sentinel-gap",
        envvar="GRID_SENTINEL_GAP_S",
        min=0.0,
        help="Seconds of cells between two drift-sentinel readings (0: after every cell). "
        "Default: spaced by the reading's own cost, at most 5% of the node's time.",
        rich_help_panel=_RUN,
    ),
]
Preimport = Annotated[
    bool,
    typer.Option(
        "--preimport/--no-preimport",
        envvar="GRID_PREIMPORT",
        help="The child imports mlx-vlm's modules while it waits for work.",
        rich_help_panel=_RUN,
    ),
]
MeasureBandwidth = Annotated[
    bool,
    typer.Option(
        "--measure-bandwidth/--no-measure-bandwidth",
        envvar="GRID_MEASURE_BANDWIDTH",
        help="Probe a CPU node's memory bandwidth once (for % of bandwidth).",
        rich_help_panel=_RUN,
    ),
]
MlxDevice = Annotated[
    str,
    typer.Option(
        "--mlx-device",
        envvar="GRID_MLX_DEVICE",
        help="'cpu' forces MLX's CPU backend (default: the backend's default device).",
        rich_help_panel=_RUN,
    ),
]
Trace = Annotated[
    str,
    typer.Option(
        "--trace",
        envvar="GRID_TRACE",
        help="Append one JSON line per runner event to this file, on each node (bench/ reads it).",
        rich_help_panel=_RUN,
    ),
]
RUN_DEFAULTS = RunOptions()

# NodeOptions: simulated hardware (tests and demos make several classes of one machine)
_SIM = "Simulated hardware"
SimulateClass = Annotated[
    str,
    typer.Option(
        "--simulate-class",
        envvar="GRID_HW_CLASS",
        help="Pretend this hardware class; the node's labels and rows say simulated.",
        rich_help_panel=_SIM,
    ),
]
SimulateRam = Annotated[
    float | None,
    typer.Option("--simulate-ram-gb", envvar="GRID_RAM_GB", help="Pretend this much RAM (GB).", rich_help_panel=_SIM),
]
SimulateWorkingSet = Annotated[
    float | None,
    typer.Option(
        "--simulate-working-set-gb",
        envvar="GRID_WORKING_SET_GB",
        help="Pretend this accelerator working set (GB).",
        rich_help_panel=_SIM,
    ),
]


# --- from options to grid's types ----------------------------------------------------------------------------------


def results_root(results: str):
    """--results, parsed once (a StoreError with advice for a root grid cannot use)."""
    from grid.store import ResultsRoot

    return ResultsRoot.parse(results)


def ray_address(address: str | None) -> str | None:
    """--address is a Ray address; a dashboard URL there is a mix-up worth one line of advice."""
    if address and address.startswith(("http://", "https://")):
        raise UserError(
            f"--address {address} is a dashboard URL: --address takes the Ray address (HEAD:6379 or auto)",
            "the Jobs API commands (submit, status, logs, cancel, fetch, nodes) take it as --dashboard",
        )
    return address


def dashboard_url(dashboard: str | None, alias: str | None, required: bool = True) -> str | None:
    """--dashboard, or the deprecated --address spelling (one warning); a usage error (exit 2) when required and
    missing (GRID_DASHBOARD fills it through typer)."""
    if alias:
        output.warning("--address for the dashboard URL is deprecated: use --dashboard (--address means HEAD:6379)")
        dashboard = dashboard or alias
    if required and not dashboard:
        raise typer.BadParameter("missing: give the head's Jobs API URL, http://HEAD:8265", param_hint="'--dashboard'")
    return dashboard


def run_options(ctx: typer.Context, base: RunOptions | None = None) -> RunOptions | None:
    """RunOptions from the command's run-setting flags: all of them over the defaults, or with `base` only those the
    user set (command line or environment) over `base` (None when none was set)."""
    names = [f.name for f in dataclasses.fields(RunOptions)]
    if base is None:
        return RunOptions(**{n: ctx.params[n] for n in names})
    given = {n: ctx.params[n] for n in names if _given(ctx, n)}
    return dataclasses.replace(base, **given) if given else None


def _given(ctx: typer.Context, name: str) -> bool:
    """Set on the command line or through its environment variable (not left at its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def node_options(simulate_class: str, simulate_ram_gb: float | None, simulate_working_set_gb: float | None):
    return NodeOptions(
        simulate_hw_class=(simulate_class or "").strip(),
        simulate_ram_gb=simulate_ram_gb,
        simulate_working_set_gb=simulate_working_set_gb,
    )
