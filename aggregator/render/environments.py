"""The version-axis sections of the reports (aggregator/environments.py): the compatibility matrix model ×
environment per hardware class, and what changed between environments. Empty when no row ran in an environment."""

from __future__ import annotations

from aggregator.environments import EnvReport
from aggregator.render.html_base import Raw, p, section
from aggregator.render.html_base import table as html_table
from aggregator.render.md_text import cell, code, table

INTRO = (
    "Each cell: the model's status in that package environment (the worst over its prompts and images). "
    "Environments in version order; a change is reported at the first environment where it shows, speed changes by "
    "compare's noise rule."
)
KINDS = {"broke": "🔴 broke", "fixed": "🟢 fixed", "slower": "🐢 slower", "faster": "⚡ faster"}


def _matrix_tables(r: EnvReport) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    for hw_class, models in sorted(r.matrix.items()):
        header = ["Model"] + [f"{e}" for e in r.environments]
        rows = [[m] + [by_env.get(e, "—") for e in r.environments] for m, by_env in sorted(models.items())]
        out.append((hw_class, header, rows))
    return out


def _change_rows(r: EnvReport) -> list[list[str]]:
    return [
        [
            KINDS.get(c.kind, c.kind),
            c.model,
            c.hw_class,
            f"{c.prompt_id} / {c.image_id}",
            c.env_before,
            c.env_first,
            c.detail + (f" (unreliable: {'; '.join(c.caveats)})" if c.caveats else ""),
        ]
        for c in r.changes
    ]


CHANGE_HEADER = ["Change", "Model", "Hardware", "Prompt / Image", "Before", "First changed in", "Detail"]


def env_markdown(d) -> str:
    r: EnvReport | None = getattr(d, "environments", None)
    if r is None:
        return ""
    pins = "\n".join(f"- {code(e)}: {cell(r.packages.get(e) or 'the node’s own environment')}" for e in r.environments)
    parts = ["## 📦 Compatibility by Package Environment", INTRO, pins]
    for hw_class, header, rows in _matrix_tables(r):
        parts.append(
            f"### {cell(hw_class)}\n\n" + table([cell(h) for h in header], [[cell(c) for c in x] for x in rows])
        )
    changes = _change_rows(r)
    parts.append("### What Changed Between Environments")
    parts.append(table(CHANGE_HEADER, [[cell(c) for c in x] for x in changes]) if changes else "Nothing changed.")
    return "\n\n".join(parts)


def env_html(d) -> Raw:
    r: EnvReport | None = getattr(d, "environments", None)
    if r is None:
        return Raw("")
    parts: list = [p(INTRO)]
    parts += [p(f"{e}: {r.packages.get(e) or 'the node’s own environment'}") for e in r.environments]
    for hw_class, header, rows in _matrix_tables(r):
        parts += [Raw("<h3>"), hw_class, Raw("</h3>"), html_table(header, rows)]
    parts.append(Raw("<h3>What changed between environments</h3>"))
    changes = _change_rows(r)
    parts.append(html_table(CHANGE_HEADER, changes) if changes else p("Nothing changed."))
    return section("environments", "Compatibility by package environment", *parts)
