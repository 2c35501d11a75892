"""`grid compact RUN`: merge a finished run's cell files into a few part files (grid/compact.py), atomically."""

from __future__ import annotations

from typing import Annotated

import typer

from grid.cli import output
from grid.cli.common import Json, Results, new_app, results_root

app = new_app()


@app.command("compact")
def compact_command(
    run_id: Annotated[str, typer.Argument(help="The run to compact (see `grid runs`).")],
    results: Results = "results",
    force: Annotated[bool, typer.Option("--force", help="Compact even while the run's driver looks alive.")] = False,
    as_json: Json = False,
) -> None:
    """Merge a run's one-file-per-cell Parquet into a few part files; readers see the old or the new layout.

    Example: grid compact 20261128-120000-smoke-ab12 --results ./results
    """
    from grid.compact import compact_run
    from grid.core.errors import GridError
    from grid.driver.progress import Progress
    from grid.driver.scheduler import _driver_alive

    root = results_root(results)
    live = Progress(root, run_id).read()
    if not force and live.get("state") == "running" and _driver_alive(live):
        raise GridError(f"run {run_id} has a live driver ({live.get('driver')}); wait for it to finish, or --force")
    result = compact_run(root, run_id)
    output.show(
        result.to_dict(),
        as_json,
        lambda r: output.line(
            f"run {run_id}: nothing to merge ({r['files_before']} files)"
            if r["skipped"]
            else f"run {run_id}: {r['files_before']} files -> {len(r['parts'])} part files, {r['rows']} rows"
        ),
    )
