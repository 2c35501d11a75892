"""Where P5's per-cell cost goes (2026-12-07): bench/dispatch.py's 11 tiny twins executed twice on an embedded Ray
with GRID_TRACE on, the driver's row arrival times beside the worker's trace events.

    .venv/bin/python bench/results/2026-12-07/p5/p5trace.py     (from the repo root; writes /tmp/p5trace.jsonl)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, "bench")
import common  # noqa: E402,F401 — sets sys.path and env first
from common import P2_MODELS, suite_dict  # noqa: E402

from grid import store  # noqa: E402
from grid.core.options import RunOptions  # noqa: E402
from grid.core.plan import plan_cells  # noqa: E402
from grid.core.suite import parse_suite  # noqa: E402
from grid.driver.connect import connect, live_targets  # noqa: E402
from grid.driver.scheduler import execute  # noqa: E402

TRACE = Path("/tmp/p5trace.jsonl")


def main() -> None:
    connect(None)
    suite = parse_suite(suite_dict("p5", list(P2_MODELS), 16, 2), "p5.yaml")
    results = Path(tempfile.mkdtemp())
    for label in ("cold", "warm"):  # the warm run's trace is the one kept
        TRACE.unlink(missing_ok=True)
        got: list[tuple[float, object]] = []
        cells = plan_cells(suite, store.new_run_id(label), live_targets())
        t0 = time.time()
        rows = execute(cells, results, on_row=lambda r, got=got: got.append((time.time(), r)),
                       options=RunOptions(trace_path=str(TRACE)))  # fmt: skip
        t1 = time.time()
    events = sorted((json.loads(line) for line in TRACE.read_text().splitlines()), key=lambda e: e["t"])
    starts = [e["t"] for e in events if e["event"] == "group_start"]
    dones = [e["t"] for e in events if e["event"] == "cell_done"]
    arrive = [t for t, _ in got]
    walls = sum(r.wall_s for _, r in got)
    sentinel = []
    for i, e in enumerate(events):
        if e["event"] == "cell_done":
            nxt = next((x for x in events[i + 1 :] if x["event"] in ("sentinel", "group_end")), None)
            if nxt is not None and nxt["event"] == "sentinel":
                sentinel.append((nxt["t"] - e["t"]) * 1e3)
    print("per cell ms", round((t1 - t0 - walls) / len(rows) * 1e3, 1))
    print(
        "cell end -> row written at the driver, ms",
        round(statistics.median(a - d for a, d in zip(arrive, dones)) * 1e3, 1),
    )
    print("cell end -> after-cell sentinel done, ms", round(statistics.median(sentinel), 1))
    print(
        "row written -> next group start, ms",
        round(statistics.median(s - a for a, s in zip(arrive, starts[1:])) * 1e3, 1),
    )


if __name__ == "__main__":
    main()
