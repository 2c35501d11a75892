"""What a report covers: per run, how many of the cells its manifest planned have rows and which are missing, and the
data problems met (files quarantined by grid/store_damage.py, a damaged manifest). A partial run never looks complete:
every report says "n of N planned cells have rows".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from aggregator.dataset import ResultsDataset
from grid import store
from grid import store_damage as damage

MAX_MISSING_LISTED = 50  # the report lists this many missing cells; the count is always whole


@dataclass
class RunCoverage:
    run_id: str
    planned: int | None  # None: no plan to count against (a manifest older than the plan record, or damaged)
    have: int  # cells with a row (of the planned ones, when there is a plan)
    missing: list[dict] = field(default_factory=list)  # planned cells without a row: model, hw_class, prompt, image
    missing_total: int = 0
    manifest_problem: str = ""  # one line, when the manifest could not be read


@dataclass
class Coverage:
    runs: list[RunCoverage]
    problems: list[dict]  # grid.store_damage.Problem.to_dict(): run_id, path, reason, moved_to

    @property
    def complete(self) -> bool:
        return all(r.planned is not None and r.have >= r.planned for r in self.runs) and not self.problems

    def lines(self) -> list[str]:
        """One plain sentence per run ("n of N planned cells have rows ...")."""
        out = []
        for r in self.runs:
            if r.planned is None:
                why = f" ({r.manifest_problem})" if r.manifest_problem else " (its manifest records no plan)"
                out.append(f"run {r.run_id}: {r.have} cells have rows; the planned count is unknown{why}")
            else:
                tail = "complete" if r.missing_total == 0 else f"{r.missing_total} missing"
                out.append(f"run {r.run_id}: {r.have} of {r.planned} planned cells have rows ({tail})")
        return out


def _manifest_plan(root: str, run_id: str) -> tuple[list[dict] | None, str]:
    try:
        planned = store.read_manifest(root, run_id).get("planned")
    except store.StoreError as e:
        return None, e.message
    return (list(planned) if isinstance(planned, list) else None), ""


def build_coverage(ds: ResultsDataset) -> Coverage:
    counts = {
        r["run_id"]: r["n"] for r in ds.records("SELECT run_id, count(DISTINCT cell_id) AS n FROM rows GROUP BY 1")
    }
    runs = []
    for run_id in ds.run_ids:
        planned, problem = _manifest_plan(ds.root, run_id)
        if planned is None:
            runs.append(RunCoverage(run_id, None, counts.get(run_id, 0), manifest_problem=problem))
            continue
        runs.append(_against_plan(ds, run_id, planned))
    return Coverage(runs, _problems(ds))


def _against_plan(ds: ResultsDataset, run_id: str, planned: list[dict]) -> RunCoverage:
    cols = ("cell_id", "model", "hw_class", "prompt_id", "image_id")
    plan = pa.table({c: pa.array([str(p.get(c, "")) for p in planned], pa.string()) for c in cols})
    ds.con.register("planned_cells", plan)
    try:
        where = "NOT EXISTS (SELECT 1 FROM rows r WHERE r.run_id = ? AND r.cell_id = p.cell_id)"
        missing_total = ds.scalar(f"SELECT count(*) FROM planned_cells p WHERE {where}", [run_id])
        missing = ds.records(
            f"SELECT model, hw_class, prompt_id, image_id FROM planned_cells p WHERE {where} "
            f"ORDER BY model, hw_class, prompt_id, image_id LIMIT {MAX_MISSING_LISTED}",
            [run_id],
        )
    finally:
        ds.con.unregister("planned_cells")
    return RunCoverage(run_id, len(planned), len(planned) - missing_total, missing, missing_total)


def _problems(ds: ResultsDataset) -> list[dict]:
    """Files quarantined in the report's runs (now or by an earlier reader), and any that could not be moved."""
    r = store.ResultsRoot.parse(ds.root)
    fs, base = r.fs, r.base
    found = {}
    for run_id in ds.run_ids:
        for p in damage.quarantined(fs, f"{base}/run_id={run_id}"):
            found[p.moved_to] = p.to_dict()
    for p in ds.problems:
        found.setdefault(p.moved_to or p.path, p.to_dict())
    return sorted(found.values(), key=lambda p: (p["run_id"], p["path"]))
