"""HTML sections of issue 12 (items 4, 6, 7): a root cause's actionable lines, the output gallery, the history across
runs. Everything untrusted (model output, messages, code lines) is escaped with html_base.esc."""

from __future__ import annotations

from aggregator.issues import ErrorGroup
from aggregator.render.html_base import Raw, esc, p, section, table
from aggregator.rootcause import clip

GALLERY_MODELS = 200


def root_cause_html(e: ErrorGroup) -> Raw:
    r = e.root
    bits = [f"<p><b>Impact</b>: {esc(e.impact)}</p>"]
    if r and r.frame:
        code = f"<pre>{esc(r.frame.code)}</pre>" if r.frame.code else ""
        bits.append(
            f"<p><b>Decisive frame</b> ({esc(r.frame.package)}): <code>{esc(r.frame.location)}</code></p>{code}"
        )
    if r and r.exception:
        bits.append(f"<p><b>Exception</b>: <code>{esc(clip(r.exception, 300))}</code></p>")
    if r and r.version_change:
        bits.append(f"<p><b>Version change</b>: {esc(r.version_change)}</p>")
    if r and r.timeout:
        t = r.timeout
        bits.append(f"<p><b>Timeout phase</b>: {esc(t.phase)} — owner: {esc(t.owner)}; {esc(t.note)}</p>")
    if e.messages:
        items = "".join(f"<li>{n:,}× <code>{esc(clip(m, 300))}</code></li>" for m, n in e.messages)
        more = e.messages_total - len(e.messages)
        items += f"<li>… {more} more in results.csv</li>" if more > 0 else ""
        bits.append(f"<p><b>Every distinct message</b> ({e.messages_total}):</p><ul>{items}</ul>")
    return Raw("".join(bits))


def gallery_html(d) -> Raw:
    g = d.gallery
    if g is None or not g.entries:
        return section("gallery", "Output Gallery", p("No successful cell recorded an output."))
    parts = [
        p(
            "Each model's output per prompt × image (one hardware class), whitespace collapsed, with its quality "
            "flags. synthetic = a random-weight twin: its output and flags are noise."
        )
    ]
    for model, entries in list(g.by_model().items())[:GALLERY_MODELS]:
        rows = [
            [
                x.prompt_id,
                x.image_id,
                x.output or "(empty)",
                (", ".join(x.flags) + (" (noise)" if x.synthetic else "")) if x.flags else "—",
            ]
            for x in entries
        ]
        mark = " <small>synthetic</small>" if entries[0].synthetic else ""
        parts.append(Raw(f"<h3><code>{esc(model)}</code>{mark}</h3>"))
        parts.append(table(["Prompt", "Image", "Output", "Quality flags"], rows, sortable=False))
    if g.total > len(g.entries):
        parts.append(p(f"{len(g.entries):,} of {g.total:,} outputs shown; results.csv has every output."))
    return section("gallery", "Output Gallery", *parts)


def history_html(d) -> Raw:
    h = d.history
    if h is None:
        return Raw("")
    header = ["Model", "Hardware"] + [r.label for r in h.runs] + ["First broke", "First slower"]
    rows = []
    for s in h.series[:500]:
        by = {pt.run_id: pt for pt in s.points}
        cells = [
            (f"{by[r.run_id].decode_tps:.4g} tok/s · " if by.get(r.run_id) and by[r.run_id].decode_tps else "")
            + (by[r.run_id].status if r.run_id in by else "—")
            for r in h.runs
        ]
        rows.append([s.model, s.hw_class, *cells, s.broke_in or "—", s.slower_in or "—"])
    note = p(f"Decode tok/s · status per run, oldest first. Slower: compare's noise rule (k = {h.k:g}).")
    return section("history", "History Across Runs", note, table(header, rows))
