"""Ready-to-file issue drafts: one Markdown file per root cause, for the owning package's tracker.

Each draft: a descriptive title, the package, the versions, the affected models × classes, the error, a trimmed
traceback (owning-package frames, no grid frames, paths relative to site-packages), a one-line repro and what grid
already ruled out. Nothing local or secret goes in: paths are scrubbed, and tokens (hf_…) are masked.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from aggregator.issues import ErrorGroup
from aggregator.rootcause import clip, scrub
from grid.core.status import Status

DEFAULT_PROMPT = "Describe this image."
_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{8,}\b")
# the builtin images' sizes are grid's; any RGB image reproduces a processor/model error
_IMAGE = "python -c \"from PIL import Image; Image.new('RGB', (448, 448), 'gray').save('grid-repro.png')\""


@dataclass
class Draft:
    slug: str  # file name without .md
    title: str
    package: str
    body: str


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "issue"


def title(g: ErrorGroup) -> str:
    r = g.root
    where = f" in {r.frame.path.rsplit('/', 1)[-1]}:{r.frame.line} ({r.frame.function})" if r and r.frame else ""
    if r and r.version_change and "keyword" in r.version_change:
        what = r.version_change.split(";")[0].split(" (passed")[0]
        return clip(f"[{g.package}] {g.error_class}{where}: {what}", 140)
    if r and r.timeout:
        return clip(f"[{r.timeout.owner}] Timeout at {r.timeout.phase}: {', '.join(m.model for m in g.models)}", 140)
    exc = (r.exception if r and r.exception else None) or (g.messages[0][0] if g.messages else g.error_class)
    return clip(f"[{g.package}] {g.error_class}{where}: {exc}", 140)


def repro(g: ErrorGroup, prompts: dict[str, str]) -> str:
    """One line a maintainer can paste: build the twin (grid's own command) or use the hub id, then mlx_vlm.generate."""
    c = g.cell_examples[0] if g.cell_examples else {}
    model = c.get("model") or (g.models[0].model if g.models else "MODEL")
    prompt = prompts.get(c.get("prompt_id") or "", DEFAULT_PROMPT)
    gen = ["python", "-m", "mlx_vlm.generate", "--model"]
    steps = []
    if model.startswith(("twin:", "twin-broken:")):
        folder = "./" + slug(model)
        steps.append(f"grid twins make {shlex.quote(model)} --out {folder}")
        gen.append(folder)
    else:
        gen.append(model)
    steps.append(_IMAGE)
    gen += ["--image", "grid-repro.png", "--prompt", prompt, "--max-tokens", str(c.get("max_tokens") or 8)]
    gen += ["--temperature", f"{c.get('temperature') or 0:g}"]
    if model.startswith("twin-broken:") or "remote" in (g.package or ""):
        gen.append("--trust-remote-code")
    steps.append(" ".join(shlex.quote(x) if x != "python" else x for x in gen))
    return " && ".join(steps)


def ruled_out(g: ErrorGroup, ok_models: int, classes: int) -> list[str]:
    out = []
    n_classes = len(g.per_class)
    if n_classes > 1:
        out.append(
            f"One machine: it fails alike on {n_classes} of {classes} hardware classes ({', '.join(g.per_class)})."
        )
    if g.messages_total == 1 and g.cells > 1:
        out.append(f"Flakiness: all {g.cells} cells failed with the same message.")
    if ok_models:
        out.append(f"The install: {_n(ok_models, 'other model')} ran ok with the same package versions.")
    if Status.FAILED in g.statuses:
        out.append("Memory and time limits: the cells raised an exception (no OOM, no timeout).")
    if g.root and g.root.timeout:
        out.append(f"Phase: {g.root.timeout.note}.")
    loads = [c.get("load_s") for c in g.cell_examples if c.get("load_s") is not None]
    if loads:
        out.append(f"Loading: the model loaded (mlx_vlm.load, {min(loads):.1f} s) before it failed.")
    return out


def _n(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _mask(text: str) -> str:
    return _TOKEN.sub("hf_***", scrub(text))


def render_draft(g: ErrorGroup, prompts: dict[str, str], ok_models: int, classes: int) -> Draft:
    r = g.root
    owner_differs = bool(r and r.owner and r.owner != g.package)
    versions = "\n".join(f"- {name}: {', '.join(v) or '—'}" for name, v in g.versions.items())
    models = "\n".join(f"- `{m.model}` on {', '.join(m.hw_classes)} ({_n(m.cells, 'cell')})" for m in g.models[:30])
    if len(g.models) > 30:
        models += f"\n- … and {len(g.models) - 30} more"
    msgs = "\n".join(f"- ({_n(n, 'cell')}) `{clip(m, 300)}`" for m, n in g.messages)
    if g.messages_total > len(g.messages):
        msgs += f"\n- … {g.messages_total - len(g.messages)} more distinct messages in results.csv"
    where = (
        f"`{r.frame.location}`" + (f"\n\n```python\n{r.frame.code}\n```" if r.frame.code else "")
        if r and r.frame
        else "—"
    )
    parts = [
        f"# {title(g)}",
        f"**Package**: {g.package}  \n"
        + (f"**Owner** (from the decisive frame or the timeout's phase): {r.owner}  \n" if owner_differs else "")
        + f"**Impact**: {g.impact} ({_n(g.cells, 'cell')}, {_n(len(g.models), 'model')})  \n"
        f"**Error class**: {g.error_class}",
        "## Versions\n\n" + versions,
        "## Affected models × hardware classes\n\n" + models,
        "## Error\n\n" + (f"`{r.exception}`" if r and r.exception else "—") + f"\n\nDecisive frame: {where}",
    ]
    if r and r.version_change:
        parts.append(f"**Version change**: {r.version_change}")
    if r and r.timeout:
        parts.append(f"**Timeout phase**: {r.timeout.phase} — owner: {r.timeout.owner}. {r.timeout.note}.")
    parts.append("### Every distinct message\n\n" + (msgs or "—"))
    if r and r.traceback:
        parts.append(
            "## Traceback (trimmed: grid frames removed, paths relative to site-packages)\n\n```text\n"
            + r.traceback
            + "\n```"
        )
    if g.fix:
        parts.append(f"## Suggested fix\n\n{g.fix}")
    parts.append("## What grid already ruled out\n\n" + "\n".join(f"- {x}" for x in ruled_out(g, ok_models, classes)))
    parts = [_mask(p) for p in parts]
    parts.insert(-2 if g.fix else -1, "## Reproduce\n\n```bash\n" + _TOKEN.sub("hf_***", repro(g, prompts)) + "\n```")
    body = "\n\n".join(parts) + "\n"
    return Draft(
        slug(f"{g.package}-{g.error_class}-{r.frame.function if r and r.frame else ''}"), title(g), g.package, body
    )


def drafts(data) -> list[Draft]:
    """`data`: a ReportData. One draft per root cause, in the report's order (file names unique)."""
    ok_models = len({g.model for g in data.perf.groups if g.counts.get("ok")}) if data.perf else 0
    classes = len(data.perf.hardware) if data.perf else 0
    prompts = getattr(data, "prompts", None) or {}
    out, seen = [], set()
    for i, g in enumerate(data.errors, 1):
        d = render_draft(g, prompts, ok_models, classes)
        d.slug = f"{i:02d}-{d.slug}"
        if d.slug not in seen:
            seen.add(d.slug)
            out.append(d)
    return out


def write_drafts(data, ds, path: Path) -> None:
    """The `issues` format: a folder with README.md (the index) and one NN-package-class.md per root cause."""
    path.mkdir(parents=True, exist_ok=True)
    items = drafts(data)
    for d in items:
        (path / f"{d.slug}.md").write_text(d.body, encoding="utf-8")
    index = ["# Issue drafts", "", "One file per root cause, ready to file with the owning package.", ""]
    index += [f"- [{d.title}]({d.slug}.md) — {d.package}" for d in items] or ["No failures: nothing to file."]
    (path / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
