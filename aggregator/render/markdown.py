"""The Markdown report: the nine sections of the seed report, plus the per-hardware matrices, all from a ReportData.

Every piece of untrusted text goes through aggregator.render.md_text (`cell`, `code`, `fence`).
"""

from __future__ import annotations

from aggregator.analysis import Group
from aggregator.issues import ErrorGroup, by_package
from aggregator.model import ReportData
from aggregator.render import fmt, verdict_text
from aggregator.render.coverage_text import coverage_md
from aggregator.render.environments import env_markdown
from aggregator.render.md_appendix import errors_appendix as _errors_appendix
from aggregator.render.md_appendix import results_table as _results_table
from aggregator.render.md_text import cell, code, fence, table
from aggregator.render.md_verdict import banner as _banner
from aggregator.render.md_verdict import predicted as _predicted
from aggregator.render.md_verdict import verdict as _verdict
from aggregator.render.nodetruth import node_truth_markdown
from aggregator.render.sections import gallery_md, history_md, root_cause_md
from aggregator.statuses import SKIPPED, STATUS_ORDER
from grid.core.status import Status

MATRIX_MODELS = 500
# rows per per-hardware matrix; the JSON and CSV carry every model


def _summary(d: ReportData) -> str:
    s, p = d.perf.summary, d.perf
    versions = {k: v for k, v in s.versions.items() if v}
    stack = ", ".join(f"`{k}` {'/'.join(v)}" for k, v in versions.items() if k in ("mlx-vlm", "mlx-lm", "mlx"))
    classes = ", ".join(c.hw_class for c in p.hardware)
    intro = (
        f"This report summarizes **{s.cells:,} cells**: **{s.models} vision-language models** on **{s.hw_classes} "
        f"hardware class{'es' if s.hw_classes != 1 else ''}** ({cell(classes)}), run{'s' if len(s.runs) > 1 else ''}"
        f" {', '.join(code(r) for r in s.runs)}" + (f", against {stack}." if stack else ".")
    )
    coverage = [coverage_md(d)] if d.coverage else []  # n of N planned cells, missing cells, data problems
    return "## Executive Summary\n\n" + "\n\n".join([intro, *coverage, _summary_table(d)]) + "\n\n" + _environment(d)


def _summary_table(d: ReportData) -> str:
    s = d.perf.summary
    counts = s.status_counts
    ran = s.cells - counts.get(SKIPPED, 0)
    rows = [
        ["**Total Models Tested**", str(s.models)],
        ["**Models OK Everywhere They Ran**", f"{s.models_all_ok} ({fmt.rate(s.models_all_ok, s.models)})"],
        ["**Hardware Classes**", str(s.hw_classes)],
        ["**Cells**", f"{s.cells:,}"],
    ]
    for status in STATUS_ORDER:  # ok and failed always, the others when they occur
        if counts.get(status) or status in (Status.OK, Status.FAILED):
            n = counts.get(status, 0)
            share = "" if status == SKIPPED else f" ({fmt.rate(n, ran)})"
            rows.append([f"**{fmt.STATUS_LABEL[status]}**", f"{n:,}{share}"])
    apart = f"; {s.excluded_cells:,} fixture cells apart" if s.excluded_cells else ""
    rows.append([f"**Success Rate** (ok ÷ cells run{apart})", fmt.pct(s.success_rate)])
    rows.append(["**Mean Decode Speed** (ok cells)", f"{fmt.num(s.mean_decode_tps)} tok/s"])
    if s.fastest:
        rows.append(
            [
                "**Fastest Model**",
                f"{code(s.fastest.model)} on {cell(s.fastest.hw_class)} ({fmt.num(s.fastest.decode_tps)} tok/s)",
            ]
        )
    if s.least_memory:
        rows.append(
            [
                "**Least Peak Memory**",
                f"{code(s.least_memory.model)} on {cell(s.least_memory.hw_class)} "
                f"({fmt.gb(s.least_memory.peak_memory_gb)} peak)",
            ]
        )
    return table(["Metric", "Value"], rows)


def _environment(d: ReportData) -> str:
    s = d.perf.summary
    env = ["### Test Environment", ""]
    for pkg, vals in s.versions.items():
        shown = ", ".join(f"{cell(v)}" + (f" ({n:,} cells)" if len(vals) > 1 else "") for v, n in vals.items())
        env.append(f"- **{pkg}**: {shown or fmt.DASH}")
    for c in d.perf.hardware:
        bits = (
            [c.chip or fmt.DASH]
            + ([f"{c.gpu_cores} GPU cores"] if c.gpu_cores else [])
            + ([f"{c.ram_gb:g} GB"] if c.ram_gb else [])
            + ([f"GPU {c.gpu_memory_gb:g} GB"] if c.gpu_memory_gb else [])
            + ([c.os] if c.os else [])
            + ([c.backend] if c.backend else [])
        )
        bw = f", {c.bandwidth_gbps:g} GB/s" if c.bandwidth_gbps else ""
        env.append(
            f"- **Hardware {cell(c.hw_class)}**: {cell(', '.join(bits))}{bw}; {c.nodes} node"
            f"{'s' if c.nodes != 1 else ''}, {c.cells:,} cells"
        )
    if s.started_at:
        env.append(f"- **Run window**: {cell(s.started_at)} → {cell(s.finished_at)}")
    return "\n".join(env)


def _critical(d: ReportData) -> str:
    if not d.errors:
        return "## 🚨 Critical Issues for Framework Maintainers\n\nNo cell failed, timed out, crashed or ran out of memory."
    intro = (
        f"## 🚨 Critical Issues for Framework Maintainers\n\n{sum(e.cells for e in d.errors):,} cells did not "
        f"succeed, grouped into {len(d.errors)} root causes (error class × owning package), most affected models "
        f"first."
    )
    return "\n\n---\n\n".join([intro] + [_issue(i, e) for i, e in enumerate(d.errors, 1)])


def _issue(i: int, e: ErrorGroup) -> str:
    sev = "🔴 High (a model has no working cell)" if e.severity == "high" else "🟡 Medium"
    models = [
        f"- {code(m.model)} on {cell(', '.join(m.hw_classes))}" + (" — unusable" if m.unusable else "")
        for m in e.models[:50]
    ]
    if len(e.models) > 50:
        models.append(f"- … and {len(e.models) - 50} more (see results.csv)")
    per_class = table(["Hardware class", "Models affected"], [[cell(k), str(v)] for k, v in e.per_class.items()])
    return "\n\n".join(
        [
            f"### Issue {i}: {cell(e.error_class)} in `{cell(e.package)}`",
            f"**Package**: `{cell(e.package)}`  \n**Severity**: {sev}  \n**Status**: {cell(', '.join(e.statuses))} "
            f"({e.cells:,} cells, {len(e.models)} model{'s' if len(e.models) != 1 else ''})",
            f"**Error**: {cell(e.error_class)}",
            root_cause_md(e),
            "**Root Cause**:\n\n" + fence(e.message or "(no message recorded)"),
            f"**Suggested Fix**: {cell(e.fix)}",
            "**Affected Models**:\n\n" + "\n".join(models),
            "**Per Hardware Class**:\n\n" + per_class,
        ]
    )


def _quality(d: ReportData) -> str:
    head = "## 📊 Quality Issues in Successful Models"
    note = (
        "Flags from `grid.core.quality`"
        + (f" recomputed with thresholds {code(d.thresholds)}" if d.thresholds else " as recorded by the agent")
        + "; ×n: flagged cells."
    )
    if not d.quality:
        return f"{head}\n\nNo quality flags on successful cells. {note}"
    rows = [
        [
            code(q.model),
            cell(fmt.quality_text(q.kinds)),
            f"{q.flagged_cells:,}/{q.ok_cells:,}",
            cell(", ".join(q.hw_classes)),
        ]
        for q in d.quality[:MATRIX_MODELS]
    ]
    more = (
        f"\n\n… {len(d.quality) - MATRIX_MODELS} more models in summary.json." if len(d.quality) > MATRIX_MODELS else ""
    )
    return f"{head}\n\n{note}\n\n" + table(["Model", "Issues", "Flagged / OK cells", "Hardware"], rows) + more


def _performance(d: ReportData) -> str:
    ranked = []
    for kind, groups in verdict_text.ranked_kinds(d):
        rows = [
            [
                str(i),
                code(g.model),
                cell(g.hw_class),
                fmt.decode_with_spread(g),
                fmt.gb(g.peak_memory_gb),
                fmt.num(g.ttft_s, 2),
            ]
            for i, g in enumerate(groups, 1)
        ]
        ranked += [
            f"#### {kind.capitalize()}s",
            table(["Rank", "Model", "Hardware", "Decode tok/s", "Peak Memory", "TTFT s"], rows),
        ]
    bal = [
        [str(i), code(g.model), cell(g.hw_class), fmt.num(g.decode_tps), fmt.gb(g.peak_memory_gb), fmt.num(score)]
        for i, (g, score) in enumerate(d.perf.best_balance, 1)
    ]
    return "\n\n".join(
        [
            "## 🏆 Performance Highlights",
            "### Top 10 Fastest Models (decode tok/s)",
            "Median decode speed; [interquartile range] over the raw trials of a single cell, or over the cells' "
            "medians when a model × class pair has several cells (prompts × images).",
            "\n\n".join(ranked) if ranked else "No successful cell recorded a decode speed.",
            "### Best Quality/Speed Balance",
            "Model × hardware pairs with every cell ok and no quality flag, ranked by decode tok/s per GB of peak memory "
            "(random-weight twins are not ranked: their text has no quality).",
            table(["Rank", "Model", "Hardware", "Decode tok/s", "Peak Memory", "tok/s per GB"], bal)
            if bal
            else "No pair is both fully ok and free of quality flags.",
        ]
    )


def _matrix(d: ReportData, value) -> str:
    classes = [c.hw_class for c in d.perf.hardware]
    by = {(g.model, g.hw_class): g for g in d.perf.groups}
    models = sorted({g.model for g in d.perf.groups})
    rows = [
        [code(m)] + [value(by[(m, c)]) if (m, c) in by else fmt.DASH for c in classes] for m in models[:MATRIX_MODELS]
    ]
    note = (
        f"\n\nFirst {MATRIX_MODELS} of {len(models):,} models shown; summary.json and results.csv have all."
        if len(models) > MATRIX_MODELS
        else ""
    )
    ref = d.perf.reference_class
    return table(["Model"] + [cell(c) + (" (ref)" if c == ref else "") for c in classes], rows) + note


def _decode_cell(g: Group) -> str:
    if g.decode_tps is None:
        return fmt.DASH
    r = f" · {fmt.ratio(g.ratio_to_reference)}" if g.ratio_to_reference is not None else ""
    return fmt.decode_with_spread(g) + r


def _bandwidth_cell(g: Group) -> str:
    return fmt.pct(g.bandwidth_fraction) + ("" if g.bandwidth_source != "derived" else "*")


def _hardware(d: ReportData) -> str:
    ref = d.perf.reference_class
    return "\n\n".join(
        [
            "## 🖥️ Results per Hardware Class",
            _class_table(d),
            "### Compatibility Matrix (model × hardware class)",
            f"Each cell: the status of that model on that class ({', '.join(STATUS_ORDER)}), "
            "the error class of a problem, and counts when a pair has several cells.",
            _matrix(d, fmt.status_text),
            f"### Decode tok/s per Class (ratio to {cell(ref) if ref else 'no reference'})",
            f"Median [IQR] (over a single cell's raw trials, or over the cells' medians); `0.62×` = speed relative to the same model on the reference class "
            f"{cell(ref) if ref else fmt.DASH} (an M4 Max class where present, else the fastest class; `--reference` "
            f"overrides).",
            _matrix(d, _decode_cell),
            "### Peak Memory per Class",
            _matrix(d, lambda g: fmt.gb(g.peak_memory_gb)),
            "### Memory-Bandwidth Utilisation (% of the class's bandwidth limit)",
            "Measured `bandwidth_fraction` where the agent recorded it; `*` = derived as weight bytes × decode tok/s ÷ "
            "the class's bandwidth; — = not measurable from the rows.",
            _matrix(d, _bandwidth_cell),
            "### Trial Statistics",
            _trial_stats(d),
        ]
    )


def _class_table(d: ReportData) -> str:
    rows = [
        [
            cell(c.hw_class),
            cell(c.chip),
            fmt.ram_text(c),
            str(c.gpu_cores or fmt.DASH),
            cell(c.backend),
            cell(c.os),
            str(c.nodes),
            fmt.num(c.bandwidth_gbps, 0),
            f"{c.cells:,}",
            fmt.rate(c.ok, c.cells),
            fmt.num(c.median_decode_tps),
        ]
        for c in d.perf.hardware
    ]
    return table(fmt.CLASS_HEADER, rows)


def _trial_stats(d: ReportData) -> str:
    outliers = [g for g in d.perf.groups if g.outliers]
    if not outliers:
        return "No outlier trials were recorded."
    rows = [
        [
            code(g.model),
            cell(g.hw_class),
            str(g.trials),
            fmt.num(g.decode_tps),
            f"{fmt.num(g.decode_q1)}–{fmt.num(g.decode_q3)}",
            str(g.outliers),
        ]
        for g in outliers[:100]
    ]
    return (
        f"{len(outliers)} model × class pairs had outlier trials (kept in the raw trial lists, excluded from nothing)."
        + ("\n\n" + table(["Model", "Hardware", "Trials", "Median tok/s", "IQR", "Outliers"], rows) if rows else "")
    )


def _actionable(d: ReportData) -> str:
    if not d.errors:
        return "## 📋 Actionable Items by Package\n\nNothing to act on: no failures."
    parts = ["## 📋 Actionable Items by Package"]
    for pkg, groups in by_package(d.errors).items():
        items = []
        for i, e in enumerate(groups, 1):
            first = fmt.headline(e.error_class, e.message)
            n = len(e.models)
            items.append(
                f"{i}. **[{e.tag}]** {cell(e.error_class)}: {cell(first)} — {n} model{'s' if n != 1 else ''} "
                f"on {cell(', '.join(e.per_class))}" + (f"; fix: {cell(e.fix)}" if e.fix else "")
            )
        parts.append(f"### For `{cell(pkg)}` maintainers\n\n" + "\n".join(items))
    return "\n\n".join(parts)


def _test_matrix(d: ReportData) -> str:
    rows = [
        [cell(p.arch), code(p.model), fmt.num(p.decode_tps), fmt.gb(p.peak_memory_gb), cell(p.reason)]
        for p in d.perf.test_matrix
    ]
    body = (
        table(["Architecture", "Recommended Model", "Median tok/s", "Peak Memory", "Reason"], rows)
        if rows
        else "No architecture has a model that was ok on every cell it ran (or no row recorded its `arch`)."
    )
    return (
        "## 🔧 Suggested Test Matrix\n\nFor CI, one reliable fast model per architecture (`arch` from config.json):"
        " ok on every cell it ran, fewest quality flags, then fastest.\n\n" + body
    )


def render_markdown(d: ReportData) -> str:
    sections = [
        f"# {cell(d.title)}" + (f"\n\n{_banner(d)}" if verdict_text.notes(d) else ""),
        _verdict(d),
        _summary(d),
        _critical(d),
        _quality(d),
        _performance(d),
        _predicted(d),
        _hardware(d),
        node_truth_markdown(d),
        env_markdown(d),
        _actionable(d),
        _test_matrix(d),
        gallery_md(d),
        *([history_md(d)] if d.history else []),
        _errors_appendix(d),
        _results_table(d),
    ]
    footer = (
        f"*Report generated by grid on {d.generated_at} from {code(d.results_root)}*  \n"
        f"*Total cell wall time: {fmt.num(d.perf.summary.total_wall_s, 1)} s*"
    )
    return "\n\n---\n\n".join([x for x in sections if x] + [footer]) + "\n"
