"""`grid bisect MODEL --package mlx-vlm --good 0.7.0 --bad 0.6.16`: the first release that changed one cell.

Exit codes: 0 the first bad version was found; 1 the two ends behave alike (nothing to bisect); 2 bad input (unknown
package or version, an index that cannot be reached, an unknown metric or class).
"""

from __future__ import annotations

from typing import Annotated

import typer

from grid.cli import output
from grid.cli.common import Address, Json, Results, UserError, new_app, ray_address, results_root

app = new_app()


def parse_threshold(text: str) -> float:
    """`10%` or `0.1` -> 0.1."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UserError(f"--threshold: expected a share such as 10% or 0.1, got {text!r}") from None
    if not 0 < value < 10:
        raise UserError(f"--threshold: expected a share such as 10% or 0.1, got {text!r}")
    return value


def _suite(model: str, suite_path: str | None, prompt: str | None, max_tokens: int):
    from grid.core.suite import Generation, ImageSpec, ModelSpec, PromptSpec, Suite, load_suite

    if suite_path:
        s = load_suite(suite_path)
        models = tuple(m for m in s.models if m.id == model) or (ModelSpec(model),)
        prompts = tuple(p for p in s.prompts if p.id == prompt) if prompt else s.prompts
        if not prompts:
            raise UserError(f"--prompt: no prompt {prompt!r} in {suite_path}")
        return Suite(f"bisect-{s.name}", models, prompts, s.images, s.generation)
    gen = Generation(max_tokens=max_tokens, warmup_runs=1, trials=3)
    text = prompt or "Describe this image."
    return Suite("bisect", (ModelSpec(model),), (PromptSpec("bisect", text),), (ImageSpec("chart", "chart"),), gen)


def _target(hw_class: str | None) -> tuple[tuple[str, str], int]:
    from grid.driver.connect import grid_nodes, live_targets

    classes = sorted({c for c, _ in live_targets()})
    if hw_class is None and len(classes) == 1:
        hw_class = classes[0]
    if hw_class not in classes:
        raise UserError(f"--class: choose one of the live classes: {', '.join(classes) or 'none'}")
    nodes = [n for n in grid_nodes() if n["Labels"].get("hw_class") == hw_class]
    return (hw_class, ""), max(len(nodes), 1)


@app.command("bisect")
def bisect_command(
    model: Annotated[str, typer.Argument(help="The model (a twin, an HF repo, a folder).")],
    package: Annotated[str, typer.Option("--package", help="The package whose versions to search.")] = "mlx-vlm",
    good: Annotated[str, typer.Option("--good", help="A version where the cell behaves well.")] = "",
    bad: Annotated[str, typer.Option("--bad", help="A version where it does not (may be older than --good).")] = "",
    hw_class: Annotated[str | None, typer.Option("--class", help="Hardware class (default: the only one).")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Prompt id (with --suite) or text.")] = None,
    suite: Annotated[str | None, typer.Option("--suite", help="Take prompt, image, settings from a suite.")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Bisect a slowdown of this metric.")] = None,
    threshold: Annotated[str, typer.Option("--threshold", help="Worse than --good by more than this.")] = "10%",
    pre: Annotated[bool, typer.Option("--pre", help="Include pre-releases (rc, beta) in the search.")] = False,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Tokens per probe (without --suite).")] = 16,
    results: Results = "results",
    address: Address = None,
    as_json: Json = False,
) -> None:
    """Find the first version of a package between --good and --bad where the cell changes, in ~log2(N) rounds.

    Example: grid bisect twin:llava_onevision --package mlx-vlm --good 0.7.0 --bad 0.6.16
    """
    from grid import store
    from grid.driver import bisect as b
    from grid.driver.connect import connect, ray_module
    from grid.driver.scheduler import execute

    if not good or not bad:
        raise UserError("give both --good VERSION and --bad VERSION")
    share = parse_threshold(threshold)
    versions = b.versions_between(b.index_versions(package), good, bad, pre=pre)
    s, root = _suite(model, suite, prompt, max_tokens), results_root(results)
    started = connect(ray_address(address))
    try:
        target, parallel = _target(hw_class)
        run_id = store.new_run_id(f"bisect-{package}")
        result = b.bisect(
            s,
            package,
            versions,
            lambda cells: execute(cells, root, run_id=run_id),
            run_id,
            target,
            parallel=parallel,
            metric=metric,
            threshold=share,
        )
    finally:
        if started:
            ray_module().shutdown()
    output.show(result.to_dict() | {"run_id": run_id}, as_json, lambda _: _print(result))
    if result.first_bad is None:
        raise typer.Exit(1)


def _print(r) -> None:
    for p in r.probes:
        output.text(f"  {r.package}=={p.version}: {'BAD ' if p.bad else 'good'}  {p.describe()}")
    if r.first_bad is None:
        output.text(f"nothing to bisect: {r.note}")
        return
    output.text(f"first bad version: {r.package}=={r.first_bad} (last good: {r.last_good}; {r.rounds} rounds)")
