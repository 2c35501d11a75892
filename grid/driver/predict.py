"""How long a model group will take, from what is known: the history in the results root (the same model on the same
hardware class with the same generation settings in earlier runs), else the model's size over the class's memory
bandwidth. The dispatch order is longest predicted first (placement.longest_first); every run records predicted vs
actual per group in `<results>/run_id=<id>/_groups.json`, so the prediction's error is visible.

History: per (model, hw_class, max_tokens, trials, warmup_runs, exact_tokens), the median over earlier rows of a
cell's wall_s (status ok) and the median load_s; a group of n cells is predicted load + n x cell. Without history:
each token reads the weights once, so a cell is about (warmup + trials) x max_tokens x weight_bytes / bandwidth, and
the load about weight_bytes / (bandwidth / 4) (disk and conversion, a guess kept explicit as LOAD_BANDWIDTH_SHARE).
"""

from __future__ import annotations

import json
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.dataset as ds

from grid import store
from grid.core.plan import Cell
from grid.core.schema import RESULT_SCHEMA

GROUPS_FILE = "_groups.json"
SETTINGS = ("max_tokens", "trials", "warmup_runs", "exact_tokens")
HISTORY_COLUMNS = ("model", "hw_class", *SETTINGS, "status", "wall_s", "load_s", "child_start_s")
DEFAULT_BANDWIDTH_GBPS = 100.0  # a class that does not say its bandwidth (an M4 has 120 GB/s)
LOAD_BANDWIDTH_SHARE = 0.25


def cell_key(model: str, hw_class: str, max_tokens, trials, warmup_runs, exact_tokens) -> tuple:
    return (model, hw_class, max_tokens, trials, warmup_runs, bool(exact_tokens))


def _cell_key(cell: Cell) -> tuple:
    g = cell.generation
    return cell_key(cell.model.id, cell.hw_class, g.max_tokens, g.trials, g.warmup_runs, g.exact_tokens)


@dataclass
class History:
    """Median cell wall_s and load_s per settings key, and median child start-up per class, from earlier runs."""

    cell_s: dict[tuple, float]
    load_s: dict[tuple, float]
    rows: int = 0
    start_s: dict[str, float] = field(default_factory=dict)  # hw_class -> median child_start_s (grid.driver.spares)

    @classmethod
    def read(cls, root, exclude_run: str | None = None) -> History:
        """Every earlier run under the root (compacted or not), only the columns needed."""
        r = store.ResultsRoot.parse(root)
        runs = [x for x in store.list_runs(r) if x != exclude_run]
        files = store.result_files(r, runs) if runs else []
        if not files:
            return cls({}, {})
        schema = pa.schema([RESULT_SCHEMA.field(n) for n in HISTORY_COLUMNS])
        table = ds.dataset(files, schema=schema, format="parquet", filesystem=r.fs).to_table(
            columns=list(HISTORY_COLUMNS)
        )
        return cls.from_rows(table.to_pylist())

    @classmethod
    def from_rows(cls, rows: list[dict]) -> History:
        walls, loads, starts = defaultdict(list), defaultdict(list), defaultdict(list)
        for row in rows:
            if row.get("child_start_s") is not None:  # a child started, whatever became of the cell
                starts[row["hw_class"]].append(row["child_start_s"])
            if row["status"] != "ok" or row["wall_s"] is None:
                continue
            key = cell_key(*(row[k] for k in ("model", "hw_class", *SETTINGS)))
            walls[key].append(row["wall_s"])
            if row["load_s"] is not None:
                loads[key].append(row["load_s"])
        return cls(
            {k: statistics.median(v) for k, v in walls.items()},
            {k: statistics.median(v) for k, v in loads.items()},
            sum(map(len, walls.values())),
            {c: statistics.median(v) for c, v in starts.items()},
        )


def predict_group(
    group: list[Cell], history: History, estimates: dict, bandwidth_gbps: dict[str, float]
) -> tuple[float | None, str]:
    """(predicted seconds, basis: "history" | "size" | "unknown") of one model group on its class."""
    key = _cell_key(group[0])
    if key in history.cell_s:
        return history.load_s.get(key, 0.0) + len(group) * history.cell_s[key], "history"
    est = estimates.get(group[0].model.id)
    if est is None or not est.weight_bytes:
        return None, "unknown"
    bw = (bandwidth_gbps.get(group[0].hw_class) or DEFAULT_BANDWIDTH_GBPS) * 1e9
    g = group[0].generation
    per_cell = (max(0, g.warmup_runs) + max(1, g.trials)) * g.max_tokens * est.weight_bytes / bw
    return est.weight_bytes / (bw * LOAD_BANDWIDTH_SHARE) + len(group) * per_cell, "size"


def predict_groups(
    groups: list[list[Cell]], history: History, estimates: dict, bandwidth_gbps: dict[str, float] | None = None
) -> dict[tuple, tuple[float | None, str]]:
    """(model, hw_class) -> (predicted seconds, basis) for every group."""
    return {(g[0].model.id, g[0].hw_class): predict_group(g, history, estimates, bandwidth_gbps or {}) for g in groups}


def class_bandwidth(nodes: list[dict]) -> dict[str, float]:
    """Per hw_class, the smallest `bandwidth_gbps` label among its nodes (where the nodes carry one)."""
    out: dict[str, float] = {}
    for n in nodes:
        labels = n.get("Labels") or {}
        try:
            bw = float(labels.get("bandwidth_gbps") or 0)
        except ValueError:
            continue
        if bw and labels.get("hw_class"):
            out[labels["hw_class"]] = min(bw, out.get(labels["hw_class"], bw))
    return out


def longest_predicted_first(
    groups: list[list[Cell]], predicted: dict[tuple, tuple[float | None, str]]
) -> list[list[Cell]]:
    """Longest predicted first. Ray queues a class's tasks in submission order and a free node of the class takes the
    next, so one global order is the order within every class. Groups without a prediction go last, biggest first."""

    def key(g):
        s, _ = predicted.get((g[0].model.id, g[0].hw_class), (None, "unknown"))
        return (s is not None, s or 0.0, len(g))

    return sorted(groups, key=key, reverse=True)


def predict_for_run(
    root, run_id: str, groups: list[list[Cell]], estimates: dict, calls=None
) -> tuple[dict, dict[str, float]]:
    """The run's predictions, and each class's median child start-up in earlier runs; a history that cannot be read
    only costs the history (sizes still order the run)."""
    try:
        history = History.read(root, exclude_run=run_id)
    except Exception:
        history = History({}, {})
    try:
        if calls is not None:
            nodes = calls.nodes()
        else:
            from grid.driver.connect import grid_nodes_safe

            nodes = grid_nodes_safe(True)
    except Exception:
        nodes = []
    return predict_groups(groups, history, estimates, class_bandwidth(nodes)), history.start_s


def write_group_times(root, run_id: str, records: list[dict]) -> None:
    """Predicted vs actual per group, appended to the run's `_groups.json` (a resume adds its own)."""
    r = store.ResultsRoot.parse(root)
    folder = r.run_dir(run_id)
    path = f"{folder}/{GROUPS_FILE}"
    try:
        with r.fs.open_input_stream(path) as f:
            old = json.loads(f.read())
    except (FileNotFoundError, ValueError):
        old = []
    for rec in records:
        p, a = rec.get("predicted_s"), rec.get("actual_s")
        rec["error"] = round(p / a - 1, 3) if p and a else None
    tmp = f"{folder}/.{GROUPS_FILE}.{uuid.uuid4().hex[:8]}.tmp"
    with r.fs.open_output_stream(tmp) as f:
        f.write(json.dumps(old + records, indent=1).encode())
    r.fs.move(tmp, path)


def error_summary(records: list[dict]) -> dict:
    """Median and worst |predicted / actual - 1| over the groups with both."""
    errs = [abs(r["predicted_s"] / r["actual_s"] - 1) for r in records if r.get("predicted_s") and r.get("actual_s")]
    return {"groups": len(errs), "median_abs_error": statistics.median(errs) if errs else None,
            "max_abs_error": max(errs) if errs else None}  # fmt: skip
