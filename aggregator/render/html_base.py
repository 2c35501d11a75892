"""HTML building blocks for the report page: every piece of data reaches the page through `esc` (html.escape) or is a
number we formatted; `Raw` marks the only markup, ours."""

from __future__ import annotations

import html as _html
import re
from importlib import resources

MATRIX_MODELS = 500  # rows per table of models; the JSON and CSV carry every model


class Raw(str):
    """Markup we built ourselves; everything else is escaped."""


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # terminal colours in tracebacks, NULs in outputs


def esc(value) -> str:
    if isinstance(value, Raw):
        return value
    return _html.escape(_CONTROL.sub("\ufffd", "" if value is None else str(value)), quote=True)


def asset(name: str) -> str:
    """A file of aggregator/assets (the page's CSS and script)."""
    return resources.files("aggregator").joinpath("assets", name).read_text(encoding="utf-8")


def td(value, sort=None, cls: str = "") -> Raw:
    attrs = (f' data-v="{esc(sort)}"' if sort is not None else "") + (f' class="{esc(cls)}"' if cls else "")
    return Raw(f"<td{attrs}>{esc(value)}</td>")


def num_td(value: float | None, text: str) -> Raw:
    return td(text, "" if value is None else f"{value:.6g}", "num")


def table(headers: list, rows: list[list], table_id: str = "", sortable: bool = True, head_cls=None) -> Raw:
    ths = "".join(
        f"<th{f' class={chr(34)}{head_cls(i)}{chr(34)}' if head_cls and head_cls(i) else ''}>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>" + "".join(c if isinstance(c, Raw) and c.startswith("<td") else td(c) for c in r) + "</tr>" for r in rows
    )
    attrs = (f' id="{esc(table_id)}"' if table_id else "") + (' class="sortable"' if sortable else "")
    return Raw(f'<div class="scroll"><table{attrs}><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>')


def section(anchor: str, title: str, *parts) -> Raw:
    return Raw(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>' + "".join(esc(p) for p in parts) + "</section>")


def p(text, cls: str = "") -> Raw:
    return Raw(f"<p{f' class={chr(34)}{cls}{chr(34)}' if cls else ''}>{esc(text)}</p>")
