"""The `grid` command line: one module per command group, registered here."""

from __future__ import annotations

import typer

from grid.cli import nodes, run, twins

app = typer.Typer(
    name="grid",
    help="A distributed benchmark grid for vision-language models on MLX.\n\n"
    "Example: grid run smoke   (three synthetic twins, offline, then a report under ./reports)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
run.register(app)
nodes.register(app)
from grid.cli import lab  # noqa: E402  (resume, prefetch, submit, status, logs, cancel, fetch)

lab.register(app)
from grid.cli import report  # noqa: E402  (report, compare)

report.register(app)
app.add_typer(twins.app, name="twins")


def main() -> None:
    app()
