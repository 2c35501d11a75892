"""`grid twins`: list the synthetic twins, build one into a folder, check that twins load and generate.

Building needs mlx (random weights), so make/check run `python -m agent.twins` in a child process: the grid
driver itself never imports mlx.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from grid.cli.common import JsonOpt, UserError, handle_errors

app = typer.Typer(
    name="twins",
    help="Synthetic twins: tiny / real-size random-weight models of mlx-vlm architectures, built offline.\n\n"
    "Example: grid twins make qwen2_vl --out ./qwen2_vl-twin",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.command("list")
@handle_errors
def list_command(as_json: bool = JsonOpt) -> None:
    """Every twin: architecture, sizes, whether it builds (and why not).

    Example: grid twins list --json
    """
    from dataclasses import asdict

    from agent.twins import list_twins

    twins = list_twins()
    if as_json:
        print(json.dumps([asdict(t) for t in twins], indent=2))
        return
    archs = [t for t in twins if t.name.startswith("twin:")]
    table = Table(
        title=f"{sum(t.buildable for t in archs)} of {len(archs)} architectures buildable, "
        f"{len(twins) - len(archs)} broken twins"
    )
    table.add_column("name", no_wrap=True)
    table.add_column("arch", no_wrap=True)
    for col in ("sizes", "buildable", "note"):
        table.add_column(col)
    for t in twins:
        table.add_row(t.name, t.arch, ", ".join(t.sizes), "yes" if t.buildable else "[red]no[/]", t.reason or "")
    console.print(table)


def _agent_twins(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.twins", *args], capture_output=True, text=True)


@app.command("make")
@handle_errors
def make_command(
    arch: str = typer.Argument(
        ..., help="An architecture (qwen2_vl) or a full spec (twin:qwen2_vl@2b-q4, twin-broken:oom)."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Copy the twin here (default: leave it in $GRID_CACHE/twins)."),
    as_json: bool = JsonOpt,
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
        print(json.dumps(result))
    else:
        console.print(f"{result['spec']} -> {result['path']} ({result['bytes'] / 1e6:.2f} MB)")


@app.command("check")
@handle_errors
def check_command(
    specs: list[str] = typer.Argument(None, help="Twin specs (default: every buildable twin:<arch>)."),
    as_json: bool = JsonOpt,
) -> None:
    """Build, load (mlx_vlm.load, strict) and generate a few tokens with an image, for each twin.

    Example: grid twins check twin:qwen2_vl twin:gemma3-q4
    """
    from agent.twins import list_twins

    specs = specs or [t.name for t in list_twins() if t.buildable and t.name.startswith("twin:")]
    specs = [s if s.startswith("twin") else f"twin:{s}" for s in specs]
    proc = _agent_twins("check", *specs)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        table = Table(title=f"{sum(r['ok'] for r in rows)}/{len(rows)} twins load and generate")
        for col in ("spec", "ok", "processor", "prompt tok", "text / error"):
            table.add_column(col)
        for r in rows:
            detail = repr(r.get("text", ""))[:40] if r["ok"] else r["error"][:120]
            table.add_row(
                r["spec"],
                "yes" if r["ok"] else "[red]no[/]",
                r.get("processor", ""),
                str(r.get("prompt_tokens", "")),
                detail,
            )
        console.print(table)
    if len(rows) < len(specs) or not all(r["ok"] for r in rows):
        raise typer.Exit(1)
