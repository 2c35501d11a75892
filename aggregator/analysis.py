"""Performance and per-hardware analysis: one DuckDB group-by per figure, then small Python over the aggregates.

The unit of the per-hardware tables is a *group*: one model on one hardware class, pooling its cells (prompts ×
images) and, when several runs are read, every run. A group's decode speed is the median over its raw timed trials
(`trial_decode_tps`; a row without trials contributes its `decode_tps`), with the interquartile range of the same pool;
its peak memory is the largest per-cell peak. Only measured figures are shown; an unknown is `None` and renders "—".
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from aggregator.dataset import ReportError, ResultsDataset
from aggregator.group import Group
from aggregator.rankings import ModelPick, best_balance, suggest_test_matrix, top_speed, top_speed_by_kind
from aggregator.statuses import OK, PROBLEM_SQL, STATUS_ORDER
from aggregator.synthetic import KINDS, model_kind
from grid.core.quality import IMAGE_DROPPED

VERSION_COLUMNS = {
    "mlx": "mlx_version",
    "mlx-vlm": "mlx_vlm_version",
    "mlx-lm": "mlx_lm_version",
    "transformers": "transformers_version",
    "python": "python_version",
    "grid": "grid_version",
}


@dataclass
class HardwareClass:
    hw_class: str
    chip: str
    ram_gb: float | None
    gpu_cores: int | None
    backend: str
    os: str
    nodes: int
    bandwidth_gbps: float | None
    cells: int
    ok: int
    median_decode_tps: float | None = None
    gpu_memory_gb: float | None = None  # CUDA classes: the GPU's memory, from the class label (agent: `H200-141GB`)


@dataclass
class Summary:
    runs: list[str]
    cells: int
    status_counts: dict[str, int]
    models: int
    models_all_ok: int
    hw_classes: int
    success_rate: float | None  # ok ÷ cells that ran (skipped, fixture and expected-failure cells excluded)
    mean_decode_tps: float | None  # mean over ok cells
    fastest: Group | None
    least_memory: Group | None
    versions: dict[str, dict[str, int]]  # package -> version -> cells
    started_at: str | None
    finished_at: str | None
    total_wall_s: float | None
    excluded_cells: int = 0  # fixture / expected-failure cells kept out of the success rate


_GROUP_SQL = f"""
    SELECT model, hw_class, any_value(arch) AS arch,
           {", ".join(f"count(*) FILTER (status = '{s}') AS n_{s}" for s in STATUS_ORDER)},
           mode(error_class) FILTER (status IN {PROBLEM_SQL}) AS error_class,
           quantile_cont(decode_tps, [0.25, 0.5, 0.75]) FILTER (status = '{OK}') AS q,
           coalesce(sum(trials) FILTER (status = '{OK}'), 0) AS trials,
           max(peak_memory_gb) FILTER (status = '{OK}') AS peak_memory_gb,
           median(ttft_s) FILTER (status = '{OK}') AS ttft_s,
           median(bandwidth_fraction) FILTER (status = '{OK}') AS bw_measured,
           median(weight_bytes * decode_tps / (bandwidth_gbps * 1e9))
               FILTER (status = '{OK}' AND bandwidth_gbps > 0) AS bw_derived,
           coalesce(sum(len(outlier_trials)) FILTER (status = '{OK}'), 0) AS outliers,
           count(*) FILTER (status = '{OK}' AND list_contains(quality_flags, '{IMAGE_DROPPED}')) AS image_dropped,
           sum(decode_tps) FILTER (status = '{OK}') AS tps_sum, count(decode_tps) FILTER (status = '{OK}') AS tps_n,
           min(nullif(started_at, '')) AS started, max(nullif(finished_at, '')) AS finished, sum(wall_s) AS wall
    FROM rows GROUP BY model, hw_class ORDER BY model, hw_class"""


def _groups(ds: ResultsDataset) -> list[Group]:
    """One scan for every per-group figure. The spread is the IQR of the raw trials when a group has one ok cell, and
    of the cells' medians when it has several (across prompts and images that spread dominates the trial noise);
    pooling every raw trial of a million rows would cost seconds and say little more."""
    records = ds.records(_GROUP_SQL)
    trials = _single_cell_trials(ds, [(r["model"], r["hw_class"]) for r in records if r[f"n_{OK}"] == 1])
    return [_group(r, trials.get((r["model"], r["hw_class"]), [])) for r in records]


def _single_cell_trials(ds: ResultsDataset, single: list[tuple[str, str]]) -> dict[tuple[str, str], list[float]]:
    """Raw trial lists are the costliest column to read: fetched only for the groups with a single ok cell."""
    trials: dict[tuple[str, str], list[float]] = {}
    if not single:
        return trials
    import pyarrow as pa

    ds.con.register(
        "single_cell_groups", pa.table({"model": [m for m, _ in single], "hw_class": [h for _, h in single]})
    )
    for t in ds.records(
        "SELECT model, hw_class, trial_decode_tps AS t FROM rows JOIN single_cell_groups "
        f"USING (model, hw_class) WHERE status = '{OK}'"
    ):
        trials[(t["model"], t["hw_class"])] = t["t"] or []
    ds.con.unregister("single_cell_groups")
    return trials


def _group(r: dict, one_cell_trials: list[float]) -> Group:
    """A Group from its aggregate record; `one_cell_trials`: the raw trials when the group has a single ok cell."""
    q = r["q"] or [None, None, None]
    spread = None
    if r[f"n_{OK}"] == 1 and len(one_cell_trials) >= 2:
        t = sorted(one_cell_trials)
        q = [_quantile(t, 0.25), q[1], _quantile(t, 0.75)]
        spread = "trials"
    elif r[f"n_{OK}"] >= 2 and q[1] is not None:
        spread = "cells"
    measured, derived = r["bw_measured"], r["bw_derived"]
    return Group(
        model=r["model"],
        hw_class=r["hw_class"],
        arch=r["arch"],
        counts={s.value: r[f"n_{s}"] for s in STATUS_ORDER if r[f"n_{s}"]},
        error_class=r["error_class"],
        decode_tps=q[1],
        decode_q1=q[0] if spread else None,
        decode_q3=q[2] if spread else None,
        spread_over=spread,
        trials=int(r["trials"]),
        outliers=int(r["outliers"]),
        peak_memory_gb=r["peak_memory_gb"],
        ttft_s=r["ttft_s"],
        bandwidth_fraction=measured if measured is not None else derived,
        bandwidth_source="measured" if measured is not None else "derived" if derived is not None else None,
        wall_s=r["wall"],
        tps_sum=r["tps_sum"] or 0.0,
        tps_n=r["tps_n"],
        image_dropped=r["image_dropped"],
        started_at=r["started"],
        finished_at=r["finished"],
    )


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation, as DuckDB's quantile_cont and numpy's default."""
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _hardware(ds: ResultsDataset) -> list[HardwareClass]:
    records = ds.records(f"""
        SELECT hw_class, any_value(chip) AS chip, max(ram_gb) AS ram_gb, max(gpu_cores) AS gpu_cores,
               any_value(backend) AS backend, trim(any_value(os_name) || ' ' || any_value(os_version)) AS os,
               count(DISTINCT coalesce(nullif(hostname, ''), nullif(node_id, ''))) AS nodes,
               max(bandwidth_gbps) AS bandwidth_gbps, count(*) AS cells,
               count(*) FILTER (status = '{OK}') AS ok, median(decode_tps) FILTER (status = '{OK}') AS med
        FROM rows GROUP BY hw_class ORDER BY hw_class""")
    return [
        HardwareClass(
            r["hw_class"],
            r["chip"] or "",
            r["ram_gb"],
            r["gpu_cores"],
            r["backend"] or "",
            r["os"] or "",
            r["nodes"],
            r["bandwidth_gbps"],
            r["cells"],
            r["ok"],
            r["med"],
            _gpu_memory(r["hw_class"], r["backend"]),
        )
        for r in records
    ]


def _gpu_memory(hw_class: str, backend: str | None) -> float | None:
    m = re.search(r"-(\d+)GB$", hw_class) if backend == "cuda" else None
    return float(m.group(1)) if m else None


def _fastest(speed: list[Group]) -> Group | None:
    """The fastest group of the most real kind present: a real model, else a real-size twin, else a tiny twin."""
    for kind in KINDS:
        of_kind = [g for g in speed if model_kind(g.model) == kind]
        if of_kind:
            return max(of_kind, key=lambda g: g.decode_tps)
    return None


def _summary(ds: ResultsDataset, groups: list[Group], exclude: set[str] = frozenset()) -> Summary:
    counts: dict[str, int] = {}
    for g in groups:  # every figure that adds up comes from the groups: no extra scan of the rows
        for k, v in g.counts.items():
            counts[k] = counts.get(k, 0) + v
    cells = sum(counts.values())
    judged = [g for g in groups if g.model not in exclude]
    ran = sum(g.ran for g in judged)
    ok = sum(g.ok for g in judged)
    tps_n = sum(g.tps_n for g in groups)
    walls = [g.wall_s for g in groups if g.wall_s is not None]
    by_model: dict[str, list[Group]] = {}
    for g in groups:
        by_model.setdefault(g.model, []).append(g)
    all_ok = sum(1 for gs in by_model.values() if sum(g.problems for g in gs) == 0 and sum(g.ran for g in gs) > 0)
    speed = [g for g in judged if g.decode_tps is not None]
    memory = [g for g in judged if g.peak_memory_gb is not None]
    return Summary(
        runs=list(ds.run_ids),
        cells=cells,
        status_counts={s.value: counts[s] for s in STATUS_ORDER if s in counts},
        models=len(by_model),
        models_all_ok=all_ok,
        hw_classes=len({g.hw_class for g in groups}),
        success_rate=ok / ran if ran else None,
        mean_decode_tps=sum(g.tps_sum for g in groups) / tps_n if tps_n else None,
        fastest=_fastest(speed),
        least_memory=min(memory, key=lambda g: (model_kind(g.model) != "real model", g.peak_memory_gb))
        if memory
        else None,
        versions=_versions(ds),
        started_at=min((g.started_at for g in groups if g.started_at), default=None),
        finished_at=max((g.finished_at for g in groups if g.finished_at), default=None),
        total_wall_s=sum(walls) if walls else None,
        excluded_cells=sum(g.ran for g in groups if g.model in exclude),
    )


def _versions(ds: ResultsDataset) -> dict[str, dict[str, int]]:
    """package -> version -> cells, most cells first."""
    sel = ", ".join(f'"{c}"' for c in VERSION_COLUMNS.values())
    versions: dict[str, dict[str, int]] = {k: {} for k in VERSION_COLUMNS}
    for r in ds.records(f"SELECT {sel}, count(*) AS n FROM rows GROUP BY ALL"):
        for pkg, col in VERSION_COLUMNS.items():
            if r[col]:
                versions[pkg][r[col]] = versions[pkg].get(r[col], 0) + r["n"]
    return {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in versions.items()}


def _norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower())


def pick_reference(classes: list[HardwareClass], groups: list[Group], override: str | None = None) -> str | None:
    """The class speeds are compared to: `override` if given, else an M4 Max class (the seed's machine; the one with
    most ok cells if several), else the class with the highest median decode speed."""
    names = [c.hw_class for c in classes]
    if override:
        if override not in names:
            raise ReportError(f"reference class {override!r} is not in this report; classes: {', '.join(names)}")
        return override
    m4max = [c for c in classes if "m4max" in _norm(c.hw_class) or "m4max" in _norm(c.chip)]
    if m4max:
        return max(m4max, key=lambda c: (c.ok, c.hw_class)).hw_class
    medians = {}
    for c in classes:
        speeds = [g.decode_tps for g in groups if g.hw_class == c.hw_class and g.decode_tps is not None]
        if speeds:
            medians[c.hw_class] = statistics.median(speeds)
    return max(medians, key=medians.get) if medians else None


def apply_reference(groups: list[Group], reference: str | None) -> None:
    ref = {g.model: g.decode_tps for g in groups if g.hw_class == reference and g.decode_tps}
    for g in groups:
        base = ref.get(g.model)
        g.ratio_to_reference = g.decode_tps / base if base and g.decode_tps is not None else None


@dataclass
class Performance:
    groups: list[Group]
    hardware: list[HardwareClass]
    summary: Summary
    reference_class: str | None
    test_matrix: list[ModelPick] = field(default_factory=list)
    top_speed: list[Group] = field(default_factory=list)  # the 10 fastest groups
    best_balance: list[tuple[Group, float]] = field(default_factory=list)  # the 10 best (group, tok/s per GB)
    top_speed_by_kind: dict[str, list[Group]] = field(default_factory=dict)  # kind -> its 10 fastest groups


def analyze_performance(
    ds: ResultsDataset,
    flagged: dict[tuple[str, str], int],
    reference_class: str | None = None,
    exclude: set[str] = frozenset(),
) -> Performance:
    groups = _groups(ds)
    for g in groups:
        g.flagged_rows = flagged.get((g.model, g.hw_class), 0)
    hardware = _hardware(ds)
    reference = pick_reference(hardware, groups, reference_class)
    apply_reference(groups, reference)
    return Performance(
        groups,
        hardware,
        _summary(ds, groups, exclude),
        reference,
        suggest_test_matrix(groups),
        top_speed(groups),
        best_balance(groups),
        top_speed_by_kind(groups),
    )
