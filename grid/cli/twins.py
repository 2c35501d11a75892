"""`grid twins`: list the synthetic twins, build one into a folder, check that twins load and generate.

Building needs mlx (random weights), so make/check run `python -m agent.twins` in a child process: the grid
driver itself never imports mlx.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from grid.cli import output
from grid.cli.common import Json, UserError, new_app

app = new_app(
    name="twins",
    help="Synthetic twins: tiny / real-size random-weight models of mlx-vlm architectures, built offline.\n\n"
    "Example: grid twins make qwen2_vl --out ./qwen2_vl-twin",
    no_args_is_help=True,
)


@app.command("list")
def list_command(as_json: Json = False) -> None:
    """Every twin: architecture, sizes, whether it builds (and why not).

    Example: grid twins list --json
    """
    from dataclasses import asdict

    from agent.twins import list_twins

    twins = list_twins()
    if as_json:
        output.data([asdict(t) for t in twins])
        return
    archs = [t for t in twins if t.name.startswith("twin:")]
    output.table(
        f"{sum(t.buildable for t in archs)} of {len(archs)} architectures buildable, "
        f"{len(twins) - len(archs)} broken twins",
        [("name", {"no_wrap": True}), ("arch", {"no_wrap": True}), "sizes", "buildable", "note"],
        ((t.name, t.arch, ", ".join(t.sizes), "yes" if t.buildable else "[red]no[/]", t.reason or "") for t in twins),
    )


def _agent_twins(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.twins", *args], capture_output=True, text=True)


@app.command("make")
def make_command(
    arch: Annotated[
        str, typer.Argument(help="An architecture (qwen2_vl) or a full spec (twin:qwen2_vl@2b-q4, twin-broken:oom).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Copy the twin here (default: leave it in $GRID_CACHE/twins).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Build one twin (deterministic, cached) and print its folder; the folder loads with mlx_vlm.load.

    Example: grid twins make qwen2_vl --out ./qwen2_vl-twin
    """
    proc = _agent_twins("make", arch, *(["--out", str(out)] if out else []))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise UserError(f"building {arch} failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    result = json.loads(lines[-1])
    if not result["ok"]:
        raise UserError(result["error"])
    if as_json:
        output.data(result, indent=None)
    else:
        output.line(f"{result['spec']} -> {result['path']} ({result['bytes'] / 1e6:.2f} MB)")


@app.command("check")
def check_command(
    specs: Annotated[
        list[str] | None, typer.Argument(help="Twin specs (default: every buildable twin:<arch>).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Build, load (mlx_vlm.load, strict) and generate a few tokens with an image, for each twin.

    Example: grid twins check twin:qwen2_vl twin:gemma3-q4
    """
    from agent.twins import list_twins

    specs = specs or [t.name for t in list_twins() if t.buildable and t.name.startswith("twin:")]
    specs = [s if s.startswith("twin") else f"twin:{s}" for s in specs]
    proc = _agent_twins("check", *specs)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    output.show(rows, as_json, _print_checks)
    if len(rows) < len(specs) or not all(r["ok"] for r in rows):
        raise typer.Exit(1)


def _print_checks(rows: list[dict]) -> None:
    output.table(
        f"{sum(r['ok'] for r in rows)}/{len(rows)} twins load and generate",
        ("spec", "ok", "processor", "prompt tok", "text / error"),
        (
            (
                r["spec"],
                "yes" if r["ok"] else "[red]no[/]",
                r.get("processor", ""),
                str(r.get("prompt_tokens", "")),
                repr(r.get("text", ""))[:40] if r["ok"] else r["error"][:120],
            )
            for r in rows
        ),
    )
