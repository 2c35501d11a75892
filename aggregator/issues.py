"""Failures grouped by root cause, quality flags of successful cells, actionable items by package, tracebacks.

A root cause is (error class, owning package) as classified by grid.core.failures on the worker; rows whose class is
missing (a crash or timeout seen only by the parent) get one from their status. Every list that can grow with the run
is capped here (with the true total kept) so a report over a million rows stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aggregator.dataset import ResultsDataset, execute
from aggregator.rootcause import RootCause, analyze, scrub, timeout_phase
from aggregator.statuses import OK, PROBLEM_SQL
from grid.core.quality import PIPELINE_KINDS, PIPELINE_SQL, Flag, flags
from grid.core.status import Status

PACKAGE_ORDER = ("mlx", "mlx-vlm", "mlx-lm", "transformers", "huggingface-hub", "model files", "grid", "python")
# The error class of a problem row that has none (a crash or timeout seen only by the parent), from its status.
STATUS_ERROR_CLASS = {
    Status.TIMEOUT: "Timeout",
    Status.CRASHED: "Crash",
    Status.OOM: "OOM",
    Status.NODE_LOST: "Node Lost",
}
ERROR_CLASS_SQL = (
    "coalesce(nullif(error_class, ''), CASE status "
    + " ".join(f"WHEN '{s}' THEN '{c}'" for s, c in STATUS_ERROR_CLASS.items())
    + " ELSE 'Unclassified' END)"
)
PACKAGE_SQL = "coalesce(nullif(error_package, ''), 'unknown')"
TAGS = {
    Status.TIMEOUT: "TIMEOUT",
    Status.CRASHED: "CRASH",
    Status.OOM: "OOM",
    Status.NODE_LOST: "INFRA",
    Status.FAILED: "BUG",
}


@dataclass
class AffectedModel:
    model: str
    hw_classes: list[str]
    cells: int
    unusable: bool  # no ok cell anywhere in the report


@dataclass
class ErrorGroup:
    error_class: str
    package: str
    statuses: list[str]
    cells: int
    message: str | None
    fix: str | None
    models: list[AffectedModel]
    per_class: dict[str, int]  # hw_class -> affected models
    messages: list[tuple[str, int]] = field(default_factory=list)  # every distinct message (scrubbed), cells
    messages_total: int = 0
    root: RootCause | None = None
    versions: dict[str, list[str]] = field(default_factory=dict)  # package (and os, chip) -> values on these cells
    cell_examples: list[dict] = field(default_factory=list)  # a few cells: prompt_id, image_id, max_tokens, ...

    @property
    def severity(self) -> str:
        return "high" if any(m.unusable for m in self.models) else "medium"

    @property
    def impact(self) -> str:
        """The ranking a maintainer reads: breaks a model on every class it ran on, or only on some classes."""
        return "breaks the model on every class" if self.severity == "high" else "breaks the model on some classes"

    @property
    def tag(self) -> str:
        return TAGS.get(self.statuses[0], "BUG") if len(self.statuses) == 1 else "BUG"


def error_groups(ds: ResultsDataset, ok_models: set[str]) -> list[ErrorGroup]:
    """Problem rows grouped by root cause; `ok_models`: the models with an ok cell anywhere (the others are unusable)."""
    detail = ds.records(f"""
        SELECT {ERROR_CLASS_SQL} AS error_class, {PACKAGE_SQL} AS package, model, hw_class, count(*) AS n,
               list(DISTINCT status ORDER BY status) AS statuses
        FROM rows WHERE status IN {PROBLEM_SQL} GROUP BY ALL ORDER BY model, hw_class""")
    text = {
        (r["error_class"], r["package"]): r
        for r in ds.records(f"""
        SELECT {ERROR_CLASS_SQL} AS error_class, {PACKAGE_SQL} AS package,
               mode(error_message) AS message, mode(error_fix) AS fix
        FROM rows WHERE status IN {PROBLEM_SQL} GROUP BY ALL""")
    }
    groups: dict[tuple[str, str], dict] = {}
    for r in detail:
        g = groups.setdefault((r["error_class"], r["package"]), {"models": {}, "statuses": set(), "cells": 0})
        g["statuses"].update(r["statuses"])
        g["cells"] += r["n"]
        m = g["models"].setdefault(r["model"], {"classes": [], "cells": 0})
        m["classes"].append(r["hw_class"])
        m["cells"] += r["n"]
    out = [_error_group(key, g, text[key], ok_models) for key, g in groups.items()]
    add_details(ds, out)
    # Breaking a model everywhere first, then most models affected: the order a maintainer should read them in.
    return sorted(out, key=lambda e: (e.severity != "high", -len(e.models), -e.cells, e.error_class, e.package))


def _error_group(key: tuple[str, str], g: dict, text: dict, ok_models: set[str]) -> ErrorGroup:
    models = [AffectedModel(name, m["classes"], m["cells"], name not in ok_models) for name, m in g["models"].items()]
    per_class: dict[str, int] = {}
    for m in models:
        for c in m.hw_classes:
            per_class[c] = per_class.get(c, 0) + 1
    return ErrorGroup(
        key[0],
        key[1],
        sorted(g["statuses"]),
        g["cells"],
        text["message"],
        text["fix"],
        models,
        dict(sorted(per_class.items())),
    )


DETAIL_VERSIONS = {
    "python": "python_version",
    "mlx": "mlx_version",
    "mlx-vlm": "mlx_vlm_version",
    "mlx-lm": "mlx_lm_version",
    "transformers": "transformers_version",
    "os": "concat_ws(' ', nullif(os_name, ''), nullif(os_version, ''))",
    "chip": "chip",
    "backend": "backend",
}
MAX_MESSAGES = 20


def add_details(ds: ResultsDataset, groups: list[ErrorGroup]) -> None:
    """Per root cause: every distinct message (capped, with the total), the versions on its cells, a few cells for a
    repro, and the root cause read from its most common traceback (a timeout's phase from its cells' figures)."""
    key = f"{ERROR_CLASS_SQL} AS error_class, {PACKAGE_SQL} AS package"
    where = f"FROM raw WHERE status IN {PROBLEM_SQL}"
    msgs: dict[tuple, list] = {}
    for r in ds.records(f"SELECT {key}, error_message AS m, count(*) AS n {where} GROUP BY ALL ORDER BY n DESC, m"):
        msgs.setdefault((r["error_class"], r["package"]), []).append((scrub(r["m"] or "(no message)"), r["n"]))
    vers = ", ".join(f'list(DISTINCT {col}) AS "{name}"' for name, col in DETAIL_VERSIONS.items())
    info = {
        (r["error_class"], r["package"]): r
        for r in ds.records(f"""SELECT {key}, {vers},
               mode(traceback_tail) FILTER (WHERE coalesce(traceback_tail, '') <> '') AS tb,
               list({{'run_id': run_id, 'model': model, 'hw_class': hw_class, 'prompt_id': prompt_id,
                     'image_id': image_id, 'max_tokens': max_tokens, 'temperature': temperature,
                     'message': error_message, 'load_s': load_s, 'status': status}}) [1:5] AS cells
               {where} GROUP BY ALL""")
    }
    speeds = _ok_speeds(ds)
    for g in groups:
        k = (g.error_class, g.package)
        found = msgs.get(k, [])
        g.messages, g.messages_total = found[:MAX_MESSAGES], len(found)
        r = info.get(k, {})
        g.versions = {n: sorted(v for v in (r.get(n) or []) if v) for n in DETAIL_VERSIONS}
        g.cell_examples = r.get("cells") or []
        g.root = analyze(r.get("tb"), g.package, g.versions)
        if Status.TIMEOUT in g.statuses and g.cell_examples:
            c = g.cell_examples[0]
            tps, ttft = speeds.get((c["model"], c["hw_class"]), (None, None))
            g.root.timeout = timeout_phase(c["message"], c["load_s"], c["max_tokens"], tps, ttft)


def _ok_speeds(ds: ResultsDataset) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(model, hw_class) -> median decode tok/s and TTFT of its ok cells (a timeout's expected duration)."""
    rows = ds.records(f"""SELECT model, hw_class, median(decode_tps) AS tps, median(ttft_s) AS ttft FROM raw
        WHERE status = '{OK}' AND model IN (SELECT model FROM raw WHERE status = '{Status.TIMEOUT.value}')
        GROUP BY ALL""")
    return {(r["model"], r["hw_class"]): (r["tps"], r["ttft"]) for r in rows}


def by_package(groups: list[ErrorGroup]) -> dict[str, list[ErrorGroup]]:
    packages: dict[str, list[ErrorGroup]] = {}
    for g in groups:
        packages.setdefault(g.package, []).append(g)
    order = {p: i for i, p in enumerate(PACKAGE_ORDER)}
    return dict(sorted(packages.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


@dataclass
class QualityIssue:
    model: str
    hw_classes: list[str]
    ok_cells: int
    flagged_cells: int
    kinds: dict[str, tuple[int, str | None]]  # kind -> (cells flagged, detail: largest figure as in bullets(22), or
    # the most common detail as in language-mixing(Han))

    @property
    def impact(self) -> str:
        """The lowest rank of the severity scale: the model runs, its output is flagged."""
        return "quality only"


def quality_issues(ds: ResultsDataset, source: str = "rows") -> tuple[list[QualityIssue], dict[tuple[str, str], int]]:
    """Per model: which flags, on how many ok cells. Also returns flagged cells per (model, hw_class).

    One scan: ok cells grouped by their whole flag list (a run has few distinct lists), expanded here."""
    # random weights (twins): their text flags are noise; the flags of how the model ran are kept
    flags_sql = f"CASE WHEN model LIKE 'twin%' THEN {PIPELINE_SQL} ELSE quality_flags END"
    lists = ds.records(
        f"SELECT model, hw_class, {flags_sql} AS flags, count(*) AS n FROM {source} WHERE status = '{OK}' GROUP BY ALL"
    )
    flagged: dict[tuple[str, str], int] = {}
    per_model: dict[str, dict] = {}
    for r in lists:
        m = per_model.setdefault(r["model"], {"ok": 0, "flagged": 0, "classes": set(), "kinds": {}})
        m["ok"] += r["n"]
        if not r["flags"]:
            continue
        m["flagged"] += r["n"]
        m["classes"].add(r["hw_class"])
        flagged[(r["model"], r["hw_class"])] = flagged.get((r["model"], r["hw_class"]), 0) + r["n"]
        for flag in map(Flag.parse, r["flags"]):
            cells, best = m["kinds"].get(flag.kind, (0, None))
            m["kinds"][flag.kind] = (cells + r["n"], _shown(best, flag))
    issues = [
        QualityIssue(
            model,
            sorted(m["classes"]),
            m["ok"],
            m["flagged"],
            {kind: (cells, best.figure if best else None) for kind, (cells, best) in sorted(m["kinds"].items())},
        )
        for model, m in per_model.items()
        if m["flagged"]
    ]
    return sorted(issues, key=lambda q: (-q.flagged_cells, q.model)), flagged


def _shown(best: Flag | None, flag: Flag) -> Flag | None:
    """The flag whose figure a kind shows: the larger count (bullets(22) over bullets(18)); else the first figure."""
    if flag.figure is None:
        return best
    if best is None or (best.count is not None and flag.count is not None and flag.count > best.count):
        return flag
    return best


def recompute_quality(ds: ResultsDataset, thresholds: Mapping | object) -> str:
    """Re-run grid.core.quality over every ok output with the user's thresholds into a temp table; returns its name.

    Prompt text and context are not stored in result rows, so flags that need them (context-ignored) are kept as the
    agent computed them. This is a Python pass over the outputs: opt-in, and slow on huge runs (see BENCHMARKS.md)."""
    import pyarrow as pa

    table = ds.query(
        f"SELECT model, hw_class, status, output_text, generation_tokens, quality_flags FROM raw WHERE status = '{OK}'"
    )
    new_flags = []
    for text, tokens, old in zip(
        table["output_text"].to_pylist(), table["generation_tokens"].to_pylist(), table["quality_flags"].to_pylist()
    ):
        kept = [f for f in (old or []) if Flag.parse(f).kind in ("context-ignored", *PIPELINE_KINDS)]
        fresh = flags(text, None, None, thresholds, generation_tokens=tokens)
        new_flags.append(fresh + kept)
    requality = table.select(["model", "hw_class", "status"]).append_column(
        "quality_flags", pa.array(new_flags, pa.list_(pa.string()))
    )
    ds.con.register("requality_arrow", requality)
    execute(ds.con, "CREATE OR REPLACE TEMP TABLE requality AS SELECT * FROM requality_arrow")
    ds.con.unregister("requality_arrow")
    return "requality"


@dataclass
class Traceback:
    error_class: str
    package: str
    model: str
    hw_classes: list[str]
    cells: int
    message: str | None
    traceback: str


@dataclass
class Tracebacks:
    items: list[Traceback] = field(default_factory=list)
    total: int = 0


def tracebacks(ds: ResultsDataset, limit: int = 50, total_pairs: int = 0) -> Tracebacks:
    """One traceback per (root cause, model): the appendix of the seed report."""
    base = f"""FROM raw WHERE status IN {PROBLEM_SQL} AND coalesce(traceback_tail, '') <> ''"""
    records = ds.records(f"""
        SELECT {ERROR_CLASS_SQL} AS error_class, {PACKAGE_SQL} AS package, model,
               list(DISTINCT hw_class ORDER BY hw_class) AS classes, count(*) AS n,
               mode(error_message) AS message, mode(traceback_tail) AS tb
        {base} GROUP BY ALL ORDER BY error_class, package, model LIMIT {int(limit) + 1}""")
    # total: exact up to the limit; beyond it, the (root cause, model) pairs of the error groups (an upper bound)
    total = len(records) if len(records) <= limit else max(total_pairs, len(records))
    records = records[:limit]
    return Tracebacks(
        [
            Traceback(r["error_class"], r["package"], r["model"], r["classes"], r["n"], r["message"], r["tb"])
            for r in records
        ],
        total or 0,
    )
