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


WIDTH = 80  # `grid twins list` reads in an 80-column terminal: long notes wrap under their row, indented


def _entry(name: str, detail: str, note: str = "") -> list[str]:
    """One row: name and a short detail on the first line, the note wrapped below it (indented)."""
    import textwrap

    head = f"  {name:<28} {detail}".rstrip() if len(name) <= 28 else f"  {name}\n  {'':<28} {detail}".rstrip()
    body = textwrap.wrap(note, WIDTH - 6, initial_indent="      ", subsequent_indent="      ") if note else []
    return [head, *body]


def _section(title: str, entries: list[list[str]]) -> str:
    return "\n".join([f"{title}:", *(line for entry in entries for line in entry)]) if entries else ""


def _render_twins(twins: list) -> None:
    archs = [t for t in twins if t.name.startswith("twin:") and t.buildable]
    broken = [t for t in twins if t.name.startswith("twin-broken:")]
    unbuilt = [t for t in twins if not t.buildable]
    parts = [
        _section(
            f"{len(archs)} twins (name, sizes)", [_entry(t.name, ", ".join(t.sizes), t.reason or "") for t in archs]
        ),
        _section(f"{len(unbuilt)} not buildable", [_entry(t.name, "", t.reason or "") for t in unbuilt]),
        _section(f"{len(broken)} broken twins (reproduce)", [_entry(t.name, "", t.reason or "") for t in broken]),
    ]
    output.text("\n\n".join(p for p in parts if p))


def _render_coverage(rows: list) -> None:
    from agent.twins import coverage

    order = (coverage.TWIN, coverage.NOT_YET, coverage.NOT_GENERATIVE, coverage.UNCLASSIFIED)
    parts = [coverage.summary(rows)]
    for status in order:
        group = [r for r in rows if r.status == status]
        parts.append(_section(f"{status} ({len(group)})", [_entry(r.folder, "", r.reason) for r in group]))
    output.text("\n\n".join(p for p in parts if p))


@app.command("list")
def list_command(
    by_folder: Annotated[
        bool, typer.Option("--coverage", help="Each mlx-vlm model folder with a vision tower, classified.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Every twin: name, sizes, notes; --coverage: every mlx-vlm vision folder as twin / not a generative VLM /
    not yet buildable, with why.

    Example: grid twins list --coverage
    """
    from dataclasses import asdict

    from agent.twins import coverage, list_twins

    if by_folder:
        rows = coverage.coverage()
        output.show([asdict(r) for r in rows], as_json, lambda _: _render_coverage(rows))
        return
    twins = list_twins()
    output.show([asdict(t) for t in twins], as_json, lambda _: _render_twins(twins))


@app.command("coverage")
def coverage_command(as_json: Json = False) -> None:
    """How many of the installed mlx-vlm's generative VLM architectures have twins (one line).

    Example: grid twins coverage
    """
    from agent.twins import coverage

    rows = coverage.coverage()
    statuses = (coverage.TWIN, coverage.NOT_GENERATIVE, coverage.NOT_YET, coverage.UNCLASSIFIED)
    counts = {s: sum(r.status == s for r in rows) for s in statuses}  # zeros too: a key is always there
    result = {"summary": coverage.summary(rows), "mlx_vlm": coverage.mlx_vlm_version(), "folders": len(rows), **counts}
    output.show(result, as_json, lambda r: output.text(r["summary"]))


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
