"""The `grid` command line: one module per command group, each owning its Typer, merged here.

Output goes through grid.cli.output; options are declared once in grid.cli.common; errors have one handler
(grid.cli.common.handled_errors) around every command and around main().
"""

from __future__ import annotations

import typer

from grid.cli import bisect, compact, jobs, lab, nodes, report, run, twins
from grid.cli.common import handled_errors, new_app

app = new_app(
    name="grid",
    help="A distributed benchmark grid for vision-language models on MLX.\n\n"
    "Example: grid run smoke   (three synthetic twins, offline, then a report under ./reports)",
    no_args_is_help=True,
)
for group in (
    run.app,
    nodes.app,
    lab.app,
    jobs.app,
    report.app,
    compact.app,
    bisect.app,
):  # merged: `grid run`, `grid nodes`, ...
    app.add_typer(group)
app.add_typer(nodes.head_app, name="head")
app.add_typer(nodes.node_app, name="node")
app.add_typer(twins.app, name="twins")


def main() -> None:
    """The `grid` console script (and `python -m grid`)."""
    try:
        with handled_errors():  # commands handle their own; this catches one raised outside any command
            app()
    except typer.Exit as e:
        raise SystemExit(e.exit_code) from None
