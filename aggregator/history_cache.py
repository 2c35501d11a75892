"""`grid history` over a whole results root without re-reading finished runs: each compacted run keeps its history
points in `run_id=<id>/_history.json`, so only runs that changed since are read again.

A compacted run with no cell file beside its parts cannot change without its files changing: a resume writes a cell
file (the run is read again, and cached after its next compaction), a compaction writes parts with new names. So the
cache is keyed by the names of the files the run reads as (grid.store.visible_result_files) and used only while they
are all compaction parts with exactly those names. Readers of results skip `_`-prefixed files; a root that cannot be
written (read-only storage) just goes uncached. The points are those of aggregator.history's queries, unfiltered
(a --model / --class filter applies after), so a cached and a fresh history are the same (tests/test_history.py).
"""

from __future__ import annotations

import json
import uuid

from aggregator import dataset
from aggregator.history import History, RunInfo, assemble, point_records, run_infos
from grid import store

CACHE = "_history.json"
CACHE_VERSION = 1  # bump when the points' query changes: older caches are then read again


def _sealed_key(files: list[str]) -> list[str] | None:
    """The cache key of a run read as these files: their names when every one is a compaction part, else None."""
    names = sorted(f.rsplit("/", 1)[-1] for f in files)
    return names if names and all(n.startswith(store.COMPACT_PREFIX) for n in names) else None


def _read(r: store.ResultsRoot, run: str, key: list[str]) -> dict | None:
    try:
        with r.fs.open_input_stream(f"{r.run_dir(run)}/{CACHE}") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return data if data.get("version") == CACHE_VERSION and data.get("key") == key else None


def _write(r: store.ResultsRoot, run: str, key: list[str], info: RunInfo, points: list[dict]) -> None:
    folder = r.run_dir(run)
    tmp = f"{folder}/.{CACHE}.{uuid.uuid4().hex[:8]}.tmp"
    data = {"version": CACHE_VERSION, "key": key, "run": vars(info), "points": points}
    try:
        with r.fs.open_output_stream(tmp) as f:
            f.write(json.dumps(data).encode())
        r.fs.move(tmp, f"{folder}/{CACHE}")
    except OSError:  # a read-only root: the history is still right, only not cached
        try:
            r.fs.delete_file(tmp)
        except OSError:
            pass


def history_of_root(
    root, model: str | None = None, hw_class: str | None = None, *, k: float = 3.0, min_relative: float = 0.05
) -> History:
    """aggregator.history.history over every run under the root, finished runs read from their cache."""
    r = store.ResultsRoot.parse(root)
    runs = dataset.resolve_runs(root, None)
    keys = {run: _sealed_key(dataset.result_files(root, [run])) for run in runs}
    cached = {run: c for run, key in keys.items() if key and (c := _read(r, run, key)) is not None}
    infos = [RunInfo(c["run"]["run_id"], c["run"]["started_at"], c["run"]["versions"]) for c in cached.values()]
    records = [p for c in cached.values() for p in c["points"]]
    fresh = [run for run in runs if run not in cached]
    if fresh:
        ds = dataset.open_results(root, fresh)
        try:
            new_infos, new_records = run_infos(ds), point_records(ds, "TRUE", [])
        finally:
            ds.close()
        infos += new_infos
        records += new_records
        for info in new_infos:
            if keys.get(info.run_id):
                points = [p for p in new_records if p["run_id"] == info.run_id]
                _write(r, info.run_id, keys[info.run_id], info, points)
    infos.sort(key=lambda i: (i.started_at is None, i.started_at or "", i.run_id))  # as _runs orders: NULLs last
    records = [p for p in records if (not model or p["model"] == model) and (not hw_class or p["hw_class"] == hw_class)]
    records.sort(key=lambda p: (p["model"], p["hw_class"]))
    return assemble(infos, records, k=k, min_relative=min_relative)
