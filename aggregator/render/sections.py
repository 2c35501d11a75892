"""Markdown sections of issue 12 (items 4, 6, 7): a root cause's actionable lines, the output gallery, the history
across runs. Untrusted text (model output, messages) goes through md_text."""

from __future__ import annotations

from aggregator.issues import ErrorGroup
from aggregator.render.history import history_markdown
from aggregator.render.md_text import cell, code, table
from aggregator.rootcause import clip

GALLERY_MODELS = 200


def root_cause_md(e: ErrorGroup) -> str:
    """Impact, decisive frame (file:line in function, the code line), exception, version change, timeout phase and
    every distinct message of a group."""
    r = e.root
    lines = [f"**Impact**: {cell(e.impact)}"]
    if r and r.frame:
        lines.append(f"**Decisive frame** (`{cell(r.frame.package)}`): `{cell(r.frame.location)}`")
        if r.frame.code:
            lines.append(f"**Code**: `{cell(clip(r.frame.code, 200))}`")
    if r and r.exception:
        lines.append(f"**Exception**: {cell(clip(r.exception, 300))}")
    if r and r.version_change:
        lines.append(f"**Version change**: {cell(r.version_change)}")
    if r and r.timeout:
        t = r.timeout
        lines.append(f"**Timeout phase**: {cell(t.phase)} — owner: {cell(t.owner)}; {cell(t.note)}")
    out = "  \n".join(lines)
    if e.messages:
        msgs = "\n".join(f"- {n:,}× `{cell(clip(m, 300))}`" for m, n in e.messages)
        more = e.messages_total - len(e.messages)
        out += f"\n\n**Every distinct message** ({e.messages_total}):\n\n{msgs}" + (
            f"\n- … {more} more in results.csv" if more > 0 else ""
        )
    return out


def gallery_md(d) -> str:
    g = d.gallery
    head = "## 🖼️ Output Gallery"
    if g is None or not g.entries:
        return f"{head}\n\nNo successful cell recorded an output."
    note = (
        "Each model's output per prompt × image (one hardware class), whitespace collapsed, with its quality flags. "
        "🎲 synthetic = a random-weight twin: its output and flags are noise by construction."
    )
    parts = [head, note]
    by_model = g.by_model()
    for model, entries in list(by_model.items())[:GALLERY_MODELS]:
        rows = [
            [
                cell(x.prompt_id),
                cell(x.image_id),
                cell(x.output) or "(empty)",
                cell(", ".join(x.flags)) + (" (noise)" if x.synthetic and x.flags else "") if x.flags else "—",
            ]
            for x in entries
        ]
        mark = " 🎲 synthetic" if entries[0].synthetic else ""
        parts.append(f"### {code(model)}{mark}\n\n" + table(["Prompt", "Image", "Output", "Quality flags"], rows))
    if g.total > len(g.entries) or len(by_model) > GALLERY_MODELS:
        parts.append(f"Gallery capped ({len(g.entries):,} of {g.total:,} outputs shown); results.csv has every output.")
    return "\n\n".join(parts)


def history_md(d) -> str:
    if d.history is None:
        return ""
    return "## 📈 History Across Runs\n\n" + history_markdown(d.history)
