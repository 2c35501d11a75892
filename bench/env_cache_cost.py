"""What a package environment costs per group once it is cached on a lab node (issue 13).

A real one-node lab (`grid head start`, `grid node join`, as tests/lab_cluster.py starts them). The same two twins
run first in a pinned environment (`mlx-vlm==<the node's own version>`, so the code measured is the same), which
builds it (cold), then alternately without it (the node's own interpreter) and with it (cached), A B A B. Per run:
each group's actual seconds from the run's `_groups.json` and each row's env_build_s. The cached cost is the paired
difference of group seconds, env minus node.

    python bench/env_cache_cost.py [--pairs 3] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))


def suite(path: Path, env: str | None) -> Path:
    lines = [
        f"name: envcost-{'env' if env else 'node'}",
        "models: [twin:smolvlm, twin:qwen2_vl]",
        "prompts: [{id: p0, text: Describe this image.}, {id: p1, text: Count the shapes.}]",
        "images: [{id: chart, builtin: chart}]",
        "generation: {max_tokens: 16, warmup_runs: 1, trials: 3}",
    ]
    if env:
        lines.append(f'environments: [{{id: pinned, packages: ["mlx-vlm=={env}"]}}]')
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    from lab_cluster import Lab

    from grid import store

    version = importlib.metadata.version("mlx-vlm")
    root = Path(tempfile.mkdtemp(prefix="envcost-"))
    lab = Lab(root)
    results = root / "results"
    runs: list[dict] = []
    try:
        lab.start_head()
        lab.add_node("n1", "Xeon-bench", ram_gb=24)
        plain, pinned = suite(root / "node.yaml", None), suite(root / "env.yaml", version)
        order = [("env-cold", pinned)] + [
            (k, s) for _ in range(args.pairs) for k, s in (("node", plain), ("env", pinned))
        ]
        for i, (kind, path) in enumerate(order):
            run_id = f"r{i}-{kind}"
            lab.grid("run", str(path), "--address", lab.address, "--results", str(results), "--run-id", run_id,
                     "--no-report", timeout=900)  # fmt: skip
            groups = json.loads((results / f"run_id={run_id}" / "_groups.json").read_text())
            rows = store.read_rows(results, run_id)
            runs.append({
                "run_id": run_id, "kind": kind,
                "group_s": {g["model"]: g["actual_s"] for g in groups},
                "env_build_s": sorted({r.env_build_s for r in rows if r.env_build_s is not None}),
                "statuses": sorted({r.status for r in rows}),
                "mlx_vlm_version": sorted({r.mlx_vlm_version for r in rows}),
            })  # fmt: skip
            print(json.dumps(runs[-1]), flush=True)
    finally:
        lab.teardown()
    node = [r for r in runs if r["kind"] == "node"]
    env = [r for r in runs if r["kind"] == "env"]
    diffs = [e["group_s"][m] - n["group_s"][m] for n, e in zip(node, env, strict=True) for m in n["group_s"]]
    out = {
        "mlx_vlm": version,
        "runs": runs,
        "cached_minus_node_group_s": [round(d, 3) for d in diffs],
        "cached_minus_node_group_s_median": round(statistics.median(diffs), 3),
        "cold_build_s": runs[0]["env_build_s"],
        "cached_build_s": sorted({b for r in env for b in r["env_build_s"]}),
        "load_avg": os.getloadavg()[:3],
    }
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
