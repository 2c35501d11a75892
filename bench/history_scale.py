"""`grid runs` and `grid history` over a results root of many runs (issue 16): N runs of R generated rows each
(bench/report_scale.py's generator, each run compacted by grid.compact as a finished run is, started_at spread one
day apart so history has an order), then each command in a child process under /usr/bin/time: wall, CPU seconds, peak
RSS. `grid history` runs twice: the first reads every run and caches each compacted run's points
(aggregator.history_cache), the second reads the caches.

    .venv/bin/python bench/history_scale.py --runs 100 --rows 10000 --root /tmp/grid-history [--out FILE.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_scale import build_table  # noqa: E402

from grid.compact import compact_run  # noqa: E402

GRID = str(Path(sys.executable).parent / "grid")


def generate(root: Path, runs: int, rows: int) -> float:
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for i in range(runs):
        run_id = f"h{i:03d}"
        table = build_table(rows, 8, 5, 5, run_id, seed=i)
        day = (base + datetime.timedelta(days=i)).isoformat()
        for col in ("started_at", "finished_at"):
            if col in table.column_names:
                table = table.set_column(table.schema.get_field_index(col), col, pa.array([day] * table.num_rows))
        if "run_id" in table.column_names:
            table = table.drop(["run_id"])
        folder = root / f"run_id={run_id}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "all-cells.parquet")
        compact_run(root, run_id, min_files=1)  # the layout of a finished run (grid.compact, at a run's end)
    return time.perf_counter() - t0


def timed(args: list[str]) -> dict:
    proc = subprocess.run(["/usr/bin/time", "-v", GRID, *args], capture_output=True, text=True)
    err = proc.stderr

    def field(name: str) -> float:
        m = re.search(rf"{re.escape(name)}: ([\d.:]+)", err)
        return float(m.group(1)) if m and ":" not in m.group(1) else 0.0

    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", err).group(1).split(":")
    return {
        "command": "grid " + " ".join(args),
        "exit": proc.returncode,
        "wall_s": round(sum(float(x) * 60**i for i, x in enumerate(reversed(wall))), 2),
        "cpu_s": round(field("User time (seconds)") + field("System time (seconds)"), 2),
        "peak_rss_mb": round(field("Maximum resident set size (kbytes)") / 1024),
        "stdout_bytes": len(proc.stdout),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--root", type=Path, default=Path("/tmp/grid-history"))
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    out = {
        "runs": args.runs,
        "rows_per_run": args.rows,
        "generate_s": round(generate(args.root, args.runs, args.rows), 1),
    }
    root = str(args.root)
    part = next((args.root / "run_id=h000").glob("compact-*.parquet"))
    model = pq.read_table(part, columns=["model"]).column("model")[0]
    out["measure"] = [
        timed(["runs", "--results", root, "--json"]),
        timed(["history", "--results", root, "--json"]) | {"cache": "cold: reads every run, writes the caches"},
        timed(["history", "--results", root, "--json"]) | {"cache": "warm"},
        timed(["history", "--results", root, "--model", model.as_py(), "--json"]) | {"cache": "warm"},
    ]
    out["load_avg"] = os.getloadavg()[:3]
    print(json.dumps(out, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
