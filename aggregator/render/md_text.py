"""Markdown building blocks that keep untrusted text inert: table cells, code spans, fenced blocks, tables.

Untrusted text (model names from suites, error messages, tracebacks, flags) goes into table cells through `cell`, into
code spans through `code`, into fenced blocks through `fence`: none of it can open HTML, break a table or end a
fence early.
"""

from __future__ import annotations

import html
import re

from aggregator.render.fmt import DASH


def cell(text) -> str:
    s = "" if text is None else str(text)
    s = html.escape(" ".join(s.split()), quote=False)
    return s.replace("|", "\\|").replace("`", "\\`") or DASH


def code(text) -> str:
    s = " ".join(str(text).split()).replace("|", "\\|")
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{ticks}{pad}{s}{pad}{ticks}"


def fence(text, lang: str = "text") -> str:
    s = (text or "").rstrip()
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    return f"{ticks}{lang}\n{s}\n{ticks}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
