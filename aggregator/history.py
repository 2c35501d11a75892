"""History across runs: per model × hardware class, decode tok/s and status run after run, the package versions of
each run, and the first run where a model broke or got slower.

"Slower" is compare's noise rule (aggregator.compare.RULE) applied to the model × class's pooled raw trials of two
consecutive runs: flagged when |m_b − m_a| > max(k × √(s_a² + s_b²), min_relative × |m_a|), s = 1.4826 × MAD (0 with
fewer than 3 trials). Runs are ordered by their first cell's start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aggregator.dataset import ResultsDataset
from aggregator.statuses import OK, PROBLEM_SQL

VERSIONS = {
    "mlx": "mlx_version",
    "mlx-vlm": "mlx_vlm_version",
    "mlx-lm": "mlx_lm_version",
    "transformers": "transformers_version",
}


@dataclass
class RunInfo:
    run_id: str
    started_at: str | None
    versions: dict[str, str]  # package -> version(s) of the run, "a/b" when mixed

    @property
    def label(self) -> str:
        v = ", ".join(f"{k} {x}" for k, x in self.versions.items() if x)
        return f"{self.run_id} ({v})" if v else self.run_id


@dataclass
class Point:
    run_id: str
    status: str  # ok | partial | failed (a problem on every cell) | the single problem status
    ok: int
    problems: int
    decode_tps: float | None
    spread: float
    trials: int


@dataclass
class Series:
    model: str
    hw_class: str
    points: list[Point]
    broke_in: str | None = None  # first run with a problem where the previous run was all ok
    slower_in: str | None = None  # first run whose decode tok/s fell beyond the noise rule


@dataclass
class History:
    runs: list[RunInfo] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    k: float = 3.0
    min_relative: float = 0.05

    def to_dict(self) -> dict:
        """dataclasses.asdict's result, built directly: asdict deep-copies every field of 10^5 points (1.3 s of
        `grid history --json` over 100 runs)."""
        return {
            "runs": [vars(r) | {"versions": dict(r.versions)} for r in self.runs],
            "series": [vars(s) | {"points": [vars(p).copy() for p in s.points]} for s in self.series],
            "k": self.k,
            "min_relative": self.min_relative,
        }


def point_records(ds: ResultsDataset, where: str, params: list) -> list[dict]:
    return ds.records(
        f"""WITH last AS (SELECT * FROM raw WHERE {where} QUALIFY row_number() OVER
                (PARTITION BY run_id, model, prompt_id, image_id, hw_class ORDER BY attempt DESC, finished_at DESC) = 1),
             trials AS (SELECT run_id, model, hw_class, unnest(coalesce(nullif(trial_decode_tps, []),
                               [decode_tps])) AS t FROM last WHERE status = '{OK}' AND decode_tps IS NOT NULL)
        SELECT s.run_id, s.model, s.hw_class, s.ok, s.problems, s.problem_status, t.m, t.mad, t.n
        FROM (SELECT run_id, model, hw_class, count(*) FILTER (WHERE status = '{OK}') AS ok,
                     count(*) FILTER (WHERE status IN {PROBLEM_SQL}) AS problems,
                     mode(status) FILTER (WHERE status IN {PROBLEM_SQL}) AS problem_status
              FROM last GROUP BY ALL) s
        LEFT JOIN (SELECT run_id, model, hw_class, median(t) AS m, mad(t) AS mad, count(*) AS n
                   FROM trials GROUP BY ALL) t USING (run_id, model, hw_class)
        ORDER BY s.model, s.hw_class""",
        params,
    )


def run_infos(ds: ResultsDataset) -> list[RunInfo]:
    cols = ", ".join(f"string_agg(DISTINCT nullif({c}, ''), '/') AS \"{p}\"" for p, c in VERSIONS.items())
    rows = ds.records(f"SELECT run_id, min(started_at) AS started, {cols} FROM raw GROUP BY run_id ORDER BY 2, 1")
    return [RunInfo(r["run_id"], r["started"], {p: r[p] or "" for p in VERSIONS}) for r in rows]


def _status(r: dict) -> str:
    if r["problems"] and r["ok"]:
        return "partial"
    if r["problems"]:
        return r["problem_status"] or "failed"
    return OK if r["ok"] else "skipped"


def slower(a: Point, b: Point, k: float, min_relative: float) -> bool:
    """Compare's noise rule on two points' decode tok/s (a regression only: b lower than a)."""
    if a.decode_tps is None or b.decode_tps is None:
        return False
    threshold = max(k * math.sqrt(a.spread**2 + b.spread**2), min_relative * abs(a.decode_tps))
    return a.decode_tps - b.decode_tps > threshold


def history(
    ds: ResultsDataset,
    model: str | None = None,
    hw_class: str | None = None,
    *,
    k: float = 3.0,
    min_relative: float = 0.05,
) -> History:
    """Every run of the dataset, oldest first; `model` / `hw_class` narrow the series."""
    where, params = ["TRUE"], []
    for col, value in (("model", model), ("hw_class", hw_class)):
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    return assemble(run_infos(ds), point_records(ds, " AND ".join(where), params), k=k, min_relative=min_relative)


def assemble(runs: list[RunInfo], records: list[dict], *, k: float = 3.0, min_relative: float = 0.05) -> History:
    """The history from its two queries' results: the runs (oldest first) and the per-run points (`point_records`' rows,
    ordered by model and class), wherever they were read from (aggregator.history_cache keeps them per run)."""
    order = {r.run_id: i for i, r in enumerate(runs)}
    series: dict[tuple[str, str], Series] = {}
    for r in records:
        spread = 1.4826 * r["mad"] if r["n"] and r["n"] >= 3 and r["mad"] is not None else 0.0
        p = Point(r["run_id"], _status(r), r["ok"], r["problems"], r["m"], spread, r["n"] or 0)
        series.setdefault((r["model"], r["hw_class"]), Series(r["model"], r["hw_class"], [])).points.append(p)
    for s in series.values():
        s.points.sort(key=lambda p: order.get(p.run_id, 0))
        for a, b in zip(s.points, s.points[1:]):
            if s.broke_in is None and a.status == OK and b.problems:
                s.broke_in = b.run_id
            if s.slower_in is None and a.status == OK and b.ok and slower(a, b, k, min_relative):
                s.slower_in = b.run_id
    return History(runs, list(series.values()), k, min_relative)


def run_prompts(ds: ResultsDataset) -> dict[str, str]:
    """Prompt id -> text from the runs' manifests (`_run.json`), for repro commands; {} where none can be read."""
    from grid.store import read_manifest

    out: dict[str, str] = {}
    for run in getattr(ds, "run_ids", None) or []:
        try:
            suite = read_manifest(str(ds.root), run).get("suite") or {}
        except Exception:  # noqa: BLE001 - a manifest missing or unreadable only costs the repro its prompt text
            continue
        for p in suite.get("prompts") or []:
            if isinstance(p, dict) and p.get("id") and p.get("text"):
                out.setdefault(p["id"], p["text"])
    return out
