"""Compare two runs: cells that newly fail or got fixed, speed and memory changes beyond the trials' noise, and the
version differences between the runs.

Cells are matched by (model, prompt_id, image_id, hw_class); within a run the last attempt of a cell counts.

Noise rule, per metric and matched cell (documented in BENCHMARKS.md and `RULE`):
    m_a, m_b   medians of the raw trial lists (a row without trials: its recorded median)
    s          1.4826 × MAD of a trial list (a robust standard deviation; 0 with fewer than 3 trials)
    threshold  max(k × sqrt(s_a² + s_b²), min_relative × |m_a|)            k = 3, min_relative = 5% by default
    flagged    |m_b − m_a| > threshold; a regression when the change is in the bad direction (lower decode or prefill
               tok/s, higher peak memory or TTFT), an improvement otherwise.
The per-trial spread (not the standard error of the median) is deliberately conservative: a flag means the runs'
distributions barely overlap, not merely that their medians differ.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aggregator.analysis import PROBLEM_STATUSES, VERSION_COLUMNS
from aggregator.dataset import ReportError, open_results

# metric column -> (trial column, higher is better)
METRICS = {
    "decode_tps": ("trial_decode_tps", True),
    "prefill_tps": ("trial_prefill_tps", True),
    "peak_memory_gb": ("trial_peak_memory_gb", False),
    "ttft_s": ("trial_ttft_s", False),
}
KEY = ("model", "prompt_id", "image_id", "hw_class")
RULE = (
    "flagged when |median_b − median_a| > max(k × √(s_a² + s_b²), min_relative × |median_a|), "
    "s = 1.4826 × MAD of the raw trials (0 with < 3 trials)"
)
_PROBLEM_SQL = "(" + ", ".join(f"'{s}'" for s in PROBLEM_STATUSES) + ")"


@dataclass
class CellChange:
    model: str
    prompt_id: str
    image_id: str
    hw_class: str
    status_a: str
    status_b: str
    error_class: str | None = None  # of the failing side
    error_message: str | None = None


@dataclass
class MetricChange:
    model: str
    prompt_id: str
    image_id: str
    hw_class: str
    metric: str
    a: float
    b: float
    relative_change: float | None
    threshold: float
    spread_a: float
    spread_b: float
    trials_a: int
    trials_b: int


@dataclass
class VersionChange:
    package: str
    a: list[str]
    b: list[str]


@dataclass
class Comparison:
    run_a: str
    run_b: str
    matched: int
    only_a: int
    only_b: int
    newly_failing: list[CellChange]
    fixed: list[CellChange]
    regressions: list[MetricChange]
    improvements: list[MetricChange]
    version_changes: list[VersionChange]
    totals: dict[str, int] = field(default_factory=dict)  # full counts; the lists above may be capped
    rule: str = RULE
    k: float = 3.0
    min_relative: float = 0.05

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, allow_nan=False)

    def to_markdown(self, limit: int = 200) -> str:
        from aggregator.markdown import cell, code, table

        t = self.totals
        out = [
            f"# grid compare: {code(self.run_a)} → {code(self.run_b)}",
            f"{self.matched:,} cells matched by (model, prompt, image, hardware class); {self.only_a:,} only in "
            f"{code(self.run_a)}, {self.only_b:,} only in {code(self.run_b)}.",
            table(
                ["", "Cells"],
                [
                    ["Newly failing", f"{t.get('newly_failing', 0):,}"],
                    ["Fixed", f"{t.get('fixed', 0):,}"],
                    ["Regressions", f"{t.get('regressions', 0):,}"],
                    ["Improvements", f"{t.get('improvements', 0):,}"],
                ],
            ),
            "## Version changes",
        ]
        out.append(
            table(
                ["Package", self.run_a, self.run_b],
                [[cell(v.package), cell(", ".join(v.a)), cell(", ".join(v.b))] for v in self.version_changes],
            )
            if self.version_changes
            else "No package version changed."
        )
        for title, items, key in (
            ("Newly failing", self.newly_failing, "newly_failing"),
            ("Fixed", self.fixed, "fixed"),
        ):
            out.append(f"## {title} ({t.get(key, 0):,})")
            rows = [
                [
                    code(c.model),
                    cell(c.hw_class),
                    cell(c.prompt_id),
                    cell(c.image_id),
                    f"{c.status_a} → {c.status_b}",
                    cell(c.error_class),
                    cell((c.error_message or "")[:160]),
                ]
                for c in items[:limit]
            ]
            out.append(
                table(["Model", "Hardware", "Prompt", "Image", "Status", "Error class", "Message"], rows)
                if rows
                else "None."
            )
        for title, items, key in (
            ("Regressions", self.regressions, "regressions"),
            ("Improvements", self.improvements, "improvements"),
        ):
            out.append(f"## {title} ({t.get(key, 0):,})")
            rows = [
                [
                    code(m.model),
                    cell(m.hw_class),
                    cell(m.prompt_id),
                    cell(m.image_id),
                    m.metric,
                    f"{m.a:.4g} → {m.b:.4g}",
                    "—" if m.relative_change is None else f"{m.relative_change:+.1%}",
                    f"{m.threshold:.3g}",
                    f"{m.trials_a}/{m.trials_b}",
                ]
                for m in items[:limit]
            ]
            out.append(
                table(
                    ["Model", "Hardware", "Prompt", "Image", "Metric", "Median", "Change", "Threshold", "Trials"], rows
                )
                if rows
                else "None."
            )
        if any(t.get(k, 0) > limit for k in ("newly_failing", "fixed", "regressions", "improvements")):
            out.append(f"Lists show the first {limit} of each; `--json` has up to the compare limit.")
        out.append(f"Noise rule: {self.rule}; k = {self.k:g}, min_relative = {self.min_relative:.0%}.")
        return "\n\n".join(out) + "\n"


def _latest(run_param: str) -> str:
    """The last attempt of every cell of a run, reduced to scalars: per metric the median of the raw trials (or the
    recorded median), their spread and count. Lists are never kept, so two million-row runs fit in memory."""
    stats = []
    for metric, (trials, _) in METRICS.items():
        stats.append(f"coalesce(list_aggregate({trials}, 'median'), {metric}) AS m_{metric}")
        stats.append(
            f"CASE WHEN len({trials}) >= 3 THEN 1.4826 * list_aggregate({trials}, 'mad') ELSE 0 END AS s_{metric}"
        )
        stats.append(f"len({trials}) AS n_{metric}")
    return (
        f"SELECT {', '.join(KEY)}, status, error_class, CASE WHEN status <> 'ok' THEN error_message END AS "
        f"error_message, {', '.join(stats)} FROM raw WHERE run_id = {run_param} QUALIFY row_number() OVER "
        f"(PARTITION BY {', '.join(KEY)} ORDER BY attempt DESC, finished_at DESC) = 1"
    )


def _metric_sql(metric: str, higher_better: bool, k: float, min_rel: float) -> str:
    bad = "<" if higher_better else ">"
    return f"""
        SELECT {", ".join(KEY)}, '{metric}' AS metric, ma AS a, mb AS b,
               CASE WHEN ma <> 0 THEN (mb - ma) / abs(ma) END AS relative_change, threshold,
               sa AS spread_a, sb AS spread_b, ta AS trials_a, tb AS trials_b,
               (mb - ma) {bad} 0 AS regression
        FROM (SELECT {", ".join(KEY)}, ma, mb, sa, sb, ta, tb,
                     greatest({k} * sqrt(sa * sa + sb * sb), {min_rel} * abs(ma)) AS threshold
              FROM (SELECT {", ".join(f"a.{c}" for c in KEY)}, a.m_{metric} AS ma, b.m_{metric} AS mb,
                           a.s_{metric} AS sa, b.s_{metric} AS sb, a.n_{metric} AS ta, b.n_{metric} AS tb
                    FROM a JOIN b USING ({", ".join(KEY)}) WHERE a.status = 'ok' AND b.status = 'ok'))
        WHERE ma IS NOT NULL AND mb IS NOT NULL AND abs(mb - ma) > threshold"""


def compare_runs(
    results_root: str | Path,
    run_a: str,
    run_b: str,
    *,
    k: float = 3.0,
    min_relative: float = 0.05,
    limit: int = 10_000,
    threads: int | None = None,
) -> Comparison:
    """Compare run_b against run_a (the baseline). Lists are capped at `limit` entries each; `totals` has the counts."""
    if run_a == run_b:
        raise ReportError(f"compare needs two different runs (got {run_a} twice); list them with `grid runs`")
    ds = open_results(results_root, [run_a, run_b], threads=threads)
    try:
        con = ds.con
        for name, run in (("a", run_a), ("b", run_b)):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {_latest('?')}", [run]).fetchall()
        keys = ", ".join(KEY)
        counts = ds.records(f"""SELECT (SELECT count(*) FROM a JOIN b USING ({keys})) AS matched,
                                       (SELECT count(*) FROM a ANTI JOIN b USING ({keys})) AS only_a,
                                       (SELECT count(*) FROM b ANTI JOIN a USING ({keys})) AS only_b""")[0]

        def cells(where: str, side: str) -> tuple[list[CellChange], int]:
            sql = f"""SELECT {", ".join(f"a.{c}" for c in KEY)}, a.status AS status_a, b.status AS status_b,
                             {side}.error_class AS error_class, {side}.error_message AS error_message
                      FROM a JOIN b USING ({keys}) WHERE {where}"""
            total = ds.scalar(f"SELECT count(*) FROM ({sql})")
            rows = ds.records(f"{sql} ORDER BY {keys} LIMIT {int(limit)}")
            return [CellChange(**r) for r in rows], total

        newly, n_newly = cells(f"a.status = 'ok' AND b.status IN {_PROBLEM_SQL}", "b")
        fixed, n_fixed = cells(f"a.status IN {_PROBLEM_SQL} AND b.status = 'ok'", "a")
        union = " UNION ALL ".join(_metric_sql(m, hb, k, min_relative) for m, (_, hb) in METRICS.items())
        execute_sql = f"CREATE OR REPLACE TEMP TABLE changes AS {union}"
        con.execute(execute_sql).fetchall()
        order = f"ORDER BY abs(relative_change) DESC NULLS LAST, {keys}, metric LIMIT {int(limit)}"
        fields = [f.name for f in MetricChange.__dataclass_fields__.values()]

        def changes(regression: bool) -> tuple[list[MetricChange], int]:
            where = f"WHERE regression = {str(regression).upper()}"
            total = ds.scalar(f"SELECT count(*) FROM changes {where}")
            return [
                MetricChange(**{f: r[f] for f in fields}) for r in ds.records(f"SELECT * FROM changes {where} {order}")
            ], total

        regressions, n_reg = changes(True)
        improvements, n_imp = changes(False)
        versions = []
        combos = ds.records(f"SELECT run_id, {', '.join(VERSION_COLUMNS.values())} FROM rows GROUP BY ALL")
        for pkg, col in VERSION_COLUMNS.items():
            va, vb = ({r[col] for r in combos if r["run_id"] == run and r[col]} for run in (run_a, run_b))
            if va != vb:
                versions.append(VersionChange(pkg, sorted(va), sorted(vb)))
        return Comparison(
            run_a,
            run_b,
            counts["matched"],
            counts["only_a"],
            counts["only_b"],
            newly,
            fixed,
            regressions,
            improvements,
            versions,
            totals={"newly_failing": n_newly, "fixed": n_fixed, "regressions": n_reg, "improvements": n_imp},
            k=k,
            min_relative=min_relative,
        )
    finally:
        ds.close()
