"""P3 scaling: makespan of a suite over N CPU-only nodes ÷ max(total group time / N, longest group). Goal ≤ 1.10.

Made for a 16-core Linux machine (e.g. the lent H200 box): for each N, a fresh Ray cluster of one head (no CPUs, no
slot) and N grid nodes, each pinned to its own `--cpus-per-node` cores. The pinning is inherited: this driver sets its
own CPU affinity to the node's cores just before `Cluster.add_node` forks the node's raylet, so the raylet, its
workers and the spawned benchmark children all stay on those cores; OMP/OpenBLAS threads are capped likewise and
GRID_MLX_DEVICE=cpu keeps MLX off any GPU. Every node is labelled with the same hw_class, so grid's scheduler spreads
the suite's model groups (one Ray task each) over the N nodes by their one `grid_slot`.

Figures per N, written as JSON to --out:
  makespan_s   — wall time of grid.driver.scheduler.run_suite (cluster already up; planning, scheduling, runs, Parquet)
  group_s      — per model group, the sum of its rows' wall_s (child start, load, warmup, trials), as the runner saw it
  p3           — makespan_s ÷ max(sum(group_s) / N, max(group_s))
Before the timed runs, one untimed pass builds the twins and warms MLX's CPU kernel cache ($TMPDIR/mlx), and the node
bandwidth is measured once, so no node compiles or measures inside the timing.

    python bench/scaling.py --nodes 1,2,4,8 --cpus-per-node 2 --out bench-results/   # 16 cores (~7 min on the H200 box)
    python bench/scaling.py --nodes 1,2 --cpus-per-node 1 --out /tmp/p3 --max-tokens 16 --trials 2   # smoke, 2 cores
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 — sets sys.path and env first
from common import machine, suite_dict, write_json

HW_CLASS = "cpu-bench"
# 6 architectures × (bf16, 4-bit): 12 groups, more than 8 nodes. qwen2_5_vl is left out: its twin dies with SIGFPE on
# the H200 box's MLX CPU backend (BENCHMARKS.md P3). This default fits one 10-minute device call (407 s there).
DEFAULT_MODELS = ",".join(
    f"twin:{a}{q}" for q in ("", "-q4") for a in ("qwen2_vl", "qwen3_vl", "smolvlm", "idefics3", "gemma3", "paligemma")
)
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def start_cluster(n_nodes: int, cpus_per_node: int, tmp_root: Path):
    from ray.cluster_utils import Cluster

    from grid.driver.connect import NODE_ROLE, SLOT

    os.environ["RAY_TMPDIR"] = str(tmp_root)  # Cluster() writes $RAY_TMPDIR/ray/ray_current_cluster
    (tmp_root / "ray").mkdir(parents=True, exist_ok=True)
    all_cpus = sorted(os.sched_getaffinity(0))
    if n_nodes * cpus_per_node > len(all_cpus):
        raise SystemExit(f"{n_nodes} nodes × {cpus_per_node} cores > {len(all_cpus)} usable cores")
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "labels": {"role": "head"},
            "object_store_memory": 80 * 2**20,
        },
    )
    saved_env = {k: os.environ.get(k) for k in THREAD_ENV}
    try:
        for i in range(n_nodes):
            cores = set(all_cpus[i * cpus_per_node : (i + 1) * cpus_per_node])
            os.sched_setaffinity(0, cores)  # the node's raylet (forked now) and everything under it inherit this
            for k in THREAD_ENV:
                os.environ[k] = str(cpus_per_node)
            cluster.add_node(
                num_cpus=cpus_per_node,
                object_store_memory=80 * 2**20,
                resources={SLOT: 1},
                labels={"hw_class": HW_CLASS, "role": NODE_ROLE, "bench_node": str(i)},
                env_vars={"GRID_MLX_DEVICE": "cpu", "GRID_MEASURE_BANDWIDTH": "0"},
            )
    finally:
        os.sched_setaffinity(0, set(all_cpus))
        for k, v in saved_env.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    cluster.wait_for_nodes()
    return cluster


def warm_up(models: list[str], max_tokens: int) -> list[str]:
    """Untimed: build every twin and compile MLX's CPU kernels once (shared by all nodes through $TMPDIR/mlx).
    Returns the models that ran; one that fails here (e.g. qwen2_5_vl's SIGFPE on the H200 box's CPU backend) is left
    out of the timed runs, with a line saying so."""
    from agent.hardware import probe
    from agent.runner import close_spare, run_group
    from grid.core.plan import group_cells, plan_cells
    from grid.core.suite import parse_suite

    suite = parse_suite(suite_dict("warmup", models, min(max_tokens, 8), 1, warmup_runs=0), "warmup.yaml")
    hw = probe(device_info=False)
    ok = []
    for group in group_cells(plan_cells(suite, "warmup", [(HW_CLASS, "")])):
        for row in run_group(group, hw):
            if row.status == "ok":
                ok.append(row.model)
            else:
                print(f"warm-up: {row.model} left out: {row.status} {row.error_message}", flush=True)
    close_spare()
    return ok


def one_size(n: int, args, suite, work: Path, spares: int | None = None) -> dict:
    import ray

    from grid.driver.scheduler import run_suite

    t0 = time.perf_counter()
    cluster = start_cluster(n, args.cpus_per_node, work / f"ray-{n}")
    start_s = time.perf_counter() - t0
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        t0 = time.perf_counter()
        from grid.core.options import RunOptions

        trace = str(work / f"trace-{n}-{spares}.jsonl")
        options = RunOptions(mlx_device="cpu", measure_bandwidth=False, trace_path=trace, spare_children=spares)
        result = run_suite(suite, work / "results", address=cluster.address, options=options)
        makespan = time.perf_counter() - t0
    finally:
        ray.shutdown()
        cluster.shutdown()
    groups: dict[str, float] = {}
    nodes: dict[str, int] = {}
    for row in result.rows:
        groups[row.model] = groups.get(row.model, 0.0) + (row.wall_s or 0.0)
        nodes[row.node_id[:8]] = nodes.get(row.node_id[:8], 0) + 1
    ideal = max(sum(groups.values()) / n, max(groups.values()))
    starts = sorted(r.child_start_s for r in result.rows if r.child_start_s is not None)
    spare_counts: dict[str, int] = {}
    for row in result.rows:
        spare_counts[str(row.spare_children)] = spare_counts.get(str(row.spare_children), 0) + 1
    not_ok = [(r.model, r.status, r.error_message) for r in result.rows if r.status != "ok"]
    return {
        "nodes": n,
        "spares": "auto" if spares is None else spares,
        "spare_children_rows": spare_counts,  # rows per spare count the node kept (auto: sized per group)
        "child_start_s_median": starts[len(starts) // 2] if starts else None,
        "cluster_start_s": start_s,
        "makespan_s": makespan,
        "sum_group_s": sum(groups.values()),
        "longest_group_s": max(groups.values()),
        "ideal_s": ideal,
        "p3": makespan / ideal,
        "group_s": groups,
        "cells_per_node": nodes,
        "not_ok": not_ok,
        "run_id": result.run_id,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--nodes", default="1,2,4,8")
    ap.add_argument("--cpus-per-node", type=int, default=2)
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--spares", default="auto", help="spare settings to run per N, in order: auto (sized) or a count")
    args = ap.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no token file games on a throwaway cluster
    os.environ["GRID_MLX_DEVICE"] = "cpu"
    info = machine()
    from grid.core.suite import parse_suite

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    work = Path(tempfile.mkdtemp(prefix="grid-scaling-"))
    t0 = time.perf_counter()
    models = warm_up(models, args.max_tokens)
    from agent.bandwidth import node_bandwidth_gbps

    bw = node_bandwidth_gbps(socket.gethostname(), HW_CLASS, None)
    print(f"warm-up (twins, kernels) {time.perf_counter() - t0:.1f} s; node bandwidth {bw}", flush=True)
    suite = parse_suite(suite_dict("p3-scaling", models, args.max_tokens, args.trials), "p3-scaling.yaml")
    sizes = []
    settings = [None if s.strip() == "auto" else int(s) for s in args.spares.split(",")]
    for n, spares in [(int(x), s) for x in args.nodes.split(",") for s in settings]:
        r = one_size(n, args, suite, work, spares)
        sizes.append(r)
        print(
            f"N={n} spares {r['spares']} (rows per count {r['spare_children_rows']}, child start "
            f"{r['child_start_s_median']} s): makespan {r['makespan_s']:.2f} s, sum of groups {r['sum_group_s']:.2f} s, longest "
            f"{r['longest_group_s']:.2f} s, ideal {r['ideal_s']:.2f} s -> P3 {r['p3']:.3f} "
            f"(cells per node {sorted(r['cells_per_node'].values())}, not ok {len(r['not_ok'])})",
            flush=True,
        )
        info["loadavg_1m_end"] = os.getloadavg()[0]
        # written after every size: a run cut short by a time limit still leaves its figures
        write_json(
            args.out,
            "p3_scaling.json",
            {
                "machine": info,
                "settings": vars(args) | {"out": str(args.out)},
                "models": models,
                "sizes": sizes,
                "goal": "<= 1.10",
                "p3_worst": max(s["p3"] for s in sizes),
            },
        )


if __name__ == "__main__":
    main()
