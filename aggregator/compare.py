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

from aggregator.analysis import VERSION_COLUMNS
from aggregator.dataset import ReportError, ResultsDataset, open_results
from aggregator.statuses import OK, PROBLEM_SQL

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
_KEYS = ", ".join(KEY)


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
    mismatches: list[str] = field(default_factory=list)  # why the runs are not like for like (settings, hardware)
    rule: str = RULE
    k: float = 3.0
    min_relative: float = 0.05

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, allow_nan=False)


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
        f"SELECT {', '.join(KEY)}, status, error_class, CASE WHEN status <> '{OK}' THEN error_message END AS "
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
                    FROM a JOIN b USING ({", ".join(KEY)}) WHERE a.status = '{OK}' AND b.status = '{OK}'))
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
        for name, run in (("a", run_a), ("b", run_b)):
            ds.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {_latest('?')}", [run]).fetchall()
        counts = ds.records(f"""SELECT (SELECT count(*) FROM a JOIN b USING ({_KEYS})) AS matched,
                                       (SELECT count(*) FROM a ANTI JOIN b USING ({_KEYS})) AS only_a,
                                       (SELECT count(*) FROM b ANTI JOIN a USING ({_KEYS})) AS only_b""")[0]
        newly, n_newly = _cell_changes(ds, f"a.status = '{OK}' AND b.status IN {PROBLEM_SQL}", "b", limit)
        fixed, n_fixed = _cell_changes(ds, f"a.status IN {PROBLEM_SQL} AND b.status = '{OK}'", "a", limit)
        union = " UNION ALL ".join(_metric_sql(m, hb, k, min_relative) for m, (_, hb) in METRICS.items())
        ds.con.execute(f"CREATE OR REPLACE TEMP TABLE changes AS {union}").fetchall()
        regressions, n_reg = _metric_changes(ds, True, limit)
        improvements, n_imp = _metric_changes(ds, False, limit)
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
            _version_changes(ds, run_a, run_b),
            totals={"newly_failing": n_newly, "fixed": n_fixed, "regressions": n_reg, "improvements": n_imp},
            mismatches=_mismatches(ds, run_a, run_b),
            k=k,
            min_relative=min_relative,
        )
    finally:
        ds.close()


def _cell_changes(ds: ResultsDataset, where: str, side: str, limit: int) -> tuple[list[CellChange], int]:
    """Matched cells whose status changed as `where` says; the error is the failing `side`'s."""
    sql = f"""SELECT {", ".join(f"a.{c}" for c in KEY)}, a.status AS status_a, b.status AS status_b,
                     {side}.error_class AS error_class, {side}.error_message AS error_message
              FROM a JOIN b USING ({_KEYS}) WHERE {where}"""
    total = ds.scalar(f"SELECT count(*) FROM ({sql})")
    rows = ds.records(f"{sql} ORDER BY {_KEYS} LIMIT {int(limit)}")
    return [CellChange(**r) for r in rows], total


def _metric_changes(ds: ResultsDataset, regression: bool, limit: int) -> tuple[list[MetricChange], int]:
    """Regressions (or improvements) from the `changes` table, largest relative change first."""
    where = f"WHERE regression = {str(regression).upper()}"
    order = f"ORDER BY abs(relative_change) DESC NULLS LAST, {_KEYS}, metric LIMIT {int(limit)}"
    fields = [f.name for f in MetricChange.__dataclass_fields__.values()]
    total = ds.scalar(f"SELECT count(*) FROM changes {where}")
    rows = ds.records(f"SELECT * FROM changes {where} {order}")
    return [MetricChange(**{f: r[f] for f in fields}) for r in rows], total


def _version_changes(ds: ResultsDataset, run_a: str, run_b: str) -> list[VersionChange]:
    versions = []
    combos = ds.records(f"SELECT run_id, {', '.join(VERSION_COLUMNS.values())} FROM rows GROUP BY ALL")
    for pkg, col in VERSION_COLUMNS.items():
        va, vb = ({r[col] for r in combos if r["run_id"] == run and r[col]} for run in (run_a, run_b))
        if va != vb:
            versions.append(VersionChange(pkg, sorted(va), sorted(vb)))
    return versions


# what must match for a like-for-like comparison: (label, SQL expression per row)
SETTINGS = {
    "suite": "suite_hash",
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "trials": "trials",
    "warmup_runs": "warmup_runs",
    "exact_tokens": "exact_tokens",
    "seed": "seed",
    "mlx_device": "mlx_device",
}
HARDWARE = {"chip": "chip", "backend": "backend", "ram_gb": "ram_gb", "simulated": "simulated"}


def _mismatches(ds: ResultsDataset, run_a: str, run_b: str) -> list[str]:
    """Each difference between the runs that makes a speed comparison not like for like: suite settings, the
    hardware behind a hardware class the two share, package versions."""
    out = []
    cols = {**SETTINGS, **{f"hw:{k}": v for k, v in HARDWARE.items()}}
    sel = ", ".join(
        f"list(DISTINCT CAST({c} AS VARCHAR) ORDER BY CAST({c} AS VARCHAR)) FILTER (WHERE {c} IS NOT NULL "
        f"AND CAST({c} AS VARCHAR) <> '') AS \"{k}\""
        for k, c in cols.items()
    )
    shared = "hw_class IN (SELECT hw_class FROM a INTERSECT SELECT hw_class FROM b)"
    rows = ds.records(
        f"SELECT run_id, hw_class, {sel} FROM raw WHERE {shared} AND run_id IN (?, ?) GROUP BY ALL", [run_a, run_b]
    )
    for key in cols:
        per_class: dict[str, dict[str, list]] = {}
        for r in rows:
            per_class.setdefault(r["hw_class"] if key.startswith("hw:") else "", {})[r["run_id"]] = r[key] or []
        for hw_class, by_run in sorted(per_class.items()):
            va, vb = by_run.get(run_a, []), by_run.get(run_b, [])
            va_all = sorted({v for r in rows if r["run_id"] == run_a for v in (r[key] or [])}) if not hw_class else va
            vb_all = sorted({v for r in rows if r["run_id"] == run_b for v in (r[key] or [])}) if not hw_class else vb
            if va_all and vb_all and va_all != vb_all:
                label = f"{key[3:]} of {hw_class}" if hw_class else f"suite setting {key}"
                out.append(f"{label}: {', '.join(va_all)} → {', '.join(vb_all)}")
            if not hw_class:
                break
    for v in _version_changes(ds, run_a, run_b):
        out.append(f"{v.package} version: {', '.join(v.a) or '—'} → {', '.join(v.b) or '—'}")
    return out
