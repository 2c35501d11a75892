"""P2 overhead: wall time of `grid run` over a suite of ≥ 10 twins on one node ÷ wall time of a plain in-process
sequential loop over the same cells (bench/standalone.py: one interpreter, import mlx_vlm once, load, generate, next).
Goal ≤ 1.05 while every model keeps its own process. Also the repeatability figures (decode tok/s CV over the trials of
a cell, and over the grid runs of this script).

Each round runs both sides back to back, in alternating order, each as a fresh command measured from outside:
  grid  — `grid run SUITE --no-report --json` (CLI start, embedded Ray start, one spawned child per model, Parquet)
  loop  — `python bench/standalone.py --plan PLAN` (same cells: prompt, image, warmup, trials, exact tokens)
The figure is median(grid) ÷ median(loop). The breakdown splits grid's wall into Ray/CLI start and the per-model time.

    python bench/overhead.py --out bench-results/ [--rounds 3] [--max-tokens 64] [--trials 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 — sets sys.path and env first
from common import (
    P2_MODELS,
    REPO,
    machine,
    median,
    run_standalone,
    standalone_plan,
    suite_dict,
    with_prompts,
    write_json,
    write_suite_yaml,
)


def grid_command() -> list[str]:
    script = Path(sys.executable).parent / "grid"
    if script.exists():
        return [str(script)]
    # no console script (e.g. PYTHONPATH-only installs on a lent machine): the same entry point
    return [sys.executable, "-c", "import sys; from grid.cli import main; sys.argv[0] = 'grid'; main()"]


def run_grid_cli(
    suite_path: Path, results: Path, trace: Path, mlx_device: str = "cpu", address: str = ""
) -> tuple[dict, float]:
    """One `grid run` as a fresh command. `mlx_device` "" is the backend's default device (the GPU on a GPU box, as
    the loop uses); `address` runs on a lab cluster started beforehand instead of an embedded Ray."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [
            *grid_command(),
            "run",
            str(suite_path),
            "--results",
            str(results),
            "--no-report",
            "--json",
            "--trace",
            str(trace),
            "--no-measure-bandwidth",
            *(["--mlx-device", mlx_device] if mlx_device else []),
            *(["--address", address] if address else []),
        ],  # fmt: skip
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    return json.loads(out.stdout[out.stdout.index("{") :]), wall


def trace_breakdown(trace: Path) -> dict:
    """Where the runner's time went (agent.runner.trace events): child hand-over, fetch, pre-import wait, load, run."""
    events = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    out = {
        "groups": 0,
        "spare_hits": 0,
        "fetch_s": 0.0,
        "preimport_wait_s": 0.0,
        "load_s": 0.0,
        "run_s": 0.0,
        "between_groups_s": 0.0,
        "sentinel_s": 0.0,  # every drift-sentinel reading, as the runner waited for it
        "span_s": (events[-1]["t"] - events[0]["t"]) if events else 0.0,
    }
    last = {}
    for e in events:
        kind = e["event"]
        if kind == "group_start":
            out["groups"] += 1
            if "group_end" in last:
                out["between_groups_s"] += e["t"] - last["group_end"]
        elif kind == "child_taken":
            out["spare_hits"] += bool(e.get("spare_hit"))
        elif kind == "fetched":
            out["fetch_s"] += e["t"] - last["child_taken"]
        elif kind == "loaded":
            out["preimport_wait_s"] += e.get("preimport_wait_s") or 0.0
            out["load_s"] += e.get("load_s") or 0.0
        elif kind == "sentinel":
            out["sentinel_s"] += (e.get("cost_ms") or 0.0) / 1e3
        elif kind == "cell_done":
            out["run_s"] += e["t"] - max(last.get("loaded", 0.0), last.get("cell_done", 0.0))
        last[kind] = e["t"]
    return out


def grid_breakdown(results: Path, run_id: str) -> dict:
    from grid import store

    rows = store.read_rows(results, run_id)
    trial_s = sum(sum(r.trial_wall_s) for r in rows)
    return {
        "cells": len(rows),
        "ok": sum(r.status == "ok" for r in rows),
        "sum_cell_wall_s": sum(r.wall_s or 0 for r in rows),
        "sum_load_s": sum(r.load_s or 0 for r in rows),
        "sum_timed_trial_s": trial_s,
        "cv_over_trials": {r.model: r.decode_tps_cv for r in rows},
        "decode_tps": {r.model: r.decode_tps for r in rows},
    }


def loop_breakdown(result: dict) -> dict:
    return {
        "import_s": result["import_s"],
        "process_s": result["process_s"],
        "sum_load_s": sum(c["load_s"] for c in result["cells"]),
        "sum_timed_trial_s": sum(t["wall_s"] for c in result["cells"] for t in c["trials"]),
        "sum_cell_s": sum(c["cell_s"] for c in result["cells"]),
    }


def repeatability(grid_rounds: list[dict]) -> dict:
    """CV of decode tok/s over the trials of a cell (median over cells and runs), and over runs (per cell, the CV of
    the run medians; median over cells)."""
    from grid.core.methodology import coefficient_of_variation

    over_trials = [cv for g in grid_rounds for cv in g["cv_over_trials"].values() if cv is not None]
    models = grid_rounds[0]["decode_tps"].keys()
    over_runs = {m: coefficient_of_variation([g["decode_tps"][m] for g in grid_rounds]) for m in models}
    return {
        "cv_over_trials_median": median(over_trials),
        "cv_over_runs_median": median(over_runs.values()),
        "cv_over_runs_per_model": over_runs,
        "runs": len(grid_rounds),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", default=",".join(P2_MODELS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--prompts", type=int, default=1, help="prompts per model: cells per model group")
    ap.add_argument("--mlx-device", default="cpu", help="'' = the default device (GPU box); the loop uses it too")
    ap.add_argument("--address", default="", help="grid runs on this lab cluster instead of an embedded Ray")
    args = ap.parse_args()
    info = machine()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    work = Path(tempfile.mkdtemp(prefix="grid-overhead-"))
    suite = with_prompts(suite_dict("p2-overhead", models, args.max_tokens, args.trials), args.prompts)
    suite_path = write_suite_yaml(work / "p2-overhead.yaml", suite)
    plan = standalone_plan(suite)  # builds every twin first: no build inside either timing
    rounds = []
    for rnd in range(args.rounds):
        entry = {}
        for side in ("grid", "loop") if rnd % 2 == 0 else ("loop", "grid"):
            if side == "grid":
                trace = work / f"trace-{rnd}.jsonl"
                summary, wall = run_grid_cli(suite_path, work / "results", trace, args.mlx_device, args.address)
                entry["grid_wall_s"] = wall
                entry["grid"] = grid_breakdown(work / "results", summary["run_id"]) | {
                    "by_status": summary["by_status"],
                    "runner_trace": trace_breakdown(trace),
                }
            else:
                result, wall = run_standalone(plan, work, f"r{rnd}")
                entry["loop_wall_s"], entry["loop"] = wall, loop_breakdown(result)
        entry["ratio"] = entry["grid_wall_s"] / entry["loop_wall_s"]
        print(
            f"round {rnd + 1}: grid {entry['grid_wall_s']:.2f} s, loop {entry['loop_wall_s']:.2f} s, "
            f"ratio {entry['ratio']:.3f}; grid cells' own wall {entry['grid']['sum_cell_wall_s']:.2f} s, "
            f"timed trials grid {entry['grid']['sum_timed_trial_s']:.2f} s vs loop "
            f"{entry['loop']['sum_timed_trial_s']:.2f} s; runner trace {entry['grid']['runner_trace']}",
            flush=True,
        )
        rounds.append(entry)
    p2 = median(r["grid_wall_s"] for r in rounds) / median(r["loop_wall_s"] for r in rounds)
    rep = repeatability([r["grid"] for r in rounds])
    print(
        f"P2 overhead: {p2:.3f} (goal <= 1.05) over {len(models)} models; repeatability: CV over trials "
        f"{rep['cv_over_trials_median']}, over runs {rep['cv_over_runs_median']} (needs >= 2 rounds)"
    )
    info["loadavg_1m_end"] = os.getloadavg()[0]
    write_json(
        args.out,
        "p2_overhead.json",
        {
            "machine": info,
            "settings": vars(args) | {"out": str(args.out)},
            "models": models,
            "rounds": rounds,
            "p2_overhead": p2,
            "goal": "<= 1.05",
            "repeatability": rep,
        },
    )


if __name__ == "__main__":
    main()
