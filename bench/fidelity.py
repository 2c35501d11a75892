"""P1 fidelity: grid's decode tok/s ÷ standalone `mlx_vlm.generate` decode tok/s, same models, same run. Goal ≥ 0.99.

Per model, two processes are loaded side by side and asked for single trials in alternation (ABBA order), so drift
and neighbours on a shared machine hit both sides alike:
  grid       — grid's real agent child (agent.runner.ChildProcess -> agent.child -> adapter.generate_timed: the
               processor run apart, stage timers, exact-token stopping criteria), its trial decode tok/s — exactly the
               value that lands in a row's trial_decode_tps
  standalone — bench/standalone.py --serve: mlx_vlm.load + mlx_vlm.generate in a plain interpreter, its generation_tps
Same prompt, image, seed, max tokens, exact token count; each side gets the same warmup runs first.
Per model: the median over pairs of (grid trial ÷ the adjacent standalone trial); overall: the geometric mean.

    python bench/fidelity.py --out bench-results/ [--models twin:qwen2_vl,twin:qwen2_vl@2b-q4] [--pairs 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import common  # noqa: F401 — sets sys.path and env first
from common import REPO, geomean, machine, median, standalone_plan, suite_dict, write_json

DEFAULT_MODELS = "twin:qwen2_vl,twin:smolvlm,twin:gemma3,twin:qwen3_vl"


class Standalone:
    def __init__(self, model_path: str):
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "standalone.py"), "--serve"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.ask({"load": model_path})

    def ask(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("standalone process died")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


class GridChild:
    """grid's own child process, spoken to through the typed protocol (agent.child requests, grid.core.measurements
    replies), exactly as agent.runner does."""

    def __init__(self, model: str):
        from agent.child import FetchRequest, LoadRequest
        from agent.runner import ChildProcess

        self.child = ChildProcess()
        fetched = self._ok(self.child.request(FetchRequest(model=model), 1800))
        self.load = self._ok(self.child.request(LoadRequest(path=fetched.path), 1800))

    @staticmethod
    def _ok(reply):
        from grid.core.measurements import ChildError

        if isinstance(reply, ChildError):
            raise RuntimeError(f"{reply.exc_type}: {reply.message}")
        return reply

    def trial(self, cell: dict) -> dict:
        from agent.child import RunRequest

        fields = {k: cell[k] for k in ("prompt", "image", "max_tokens", "temperature", "exact_tokens", "seed")}
        # warmup_runs=0 makes the child's "cold" run None; a warmup is asked for as a discarded trial instead
        reply = self._ok(self.child.request(RunRequest(**fields, warmup_runs=0, trials=1), 1800))
        return reply.trials[0].to_dict()


def measure_model(model: str, args) -> dict:
    cell = standalone_plan(suite_dict("fidelity", [model], args.max_tokens, 1))["cells"][0]
    grid, alone = GridChild(model), Standalone(cell["model_path"])
    try:
        for _ in range(args.warmup):
            grid.trial(cell)
            alone.ask({"generate": cell})
        g_tps, s_tps, pairs = [], [], []
        for i in range(args.pairs):
            order = ("grid", "alone") if i % 2 == 0 else ("alone", "grid")  # ABBA: a linear drift cancels
            got = {}
            for side in order:
                got[side] = grid.trial(cell) if side == "grid" else alone.ask({"generate": cell})
            if got["grid"]["generation_tokens"] != got["alone"]["generation_tokens"]:
                raise RuntimeError(f"{model}: token counts differ: {got}")
            g_tps.append(got["grid"]["decode_tps"])
            s_tps.append(got["alone"]["generation_tps"])
            pairs.append(g_tps[-1] / s_tps[-1])
    finally:
        grid.child.close()
        alone.close()
    # best trial ÷ best trial: on a shared machine the fastest trial of each side is the one least disturbed
    return {
        "paired_ratio_median": median(pairs),
        "ratio_of_medians": median(g_tps) / median(s_tps),
        "ratio_of_best": max(g_tps) / max(s_tps),
        "grid_decode_tps_median": median(g_tps),
        "standalone_decode_tps_median": median(s_tps),
        "generation_tokens": args.max_tokens,
        "grid_trials": g_tps,
        "standalone_trials": s_tps,
        "decode_weight_bytes": grid.load.decode_weight_bytes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    info = machine()
    per_model = {}
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        per_model[model] = r = measure_model(model, args)
        print(
            f"{model}: grid {r['grid_decode_tps_median']:.2f} tok/s, standalone "
            f"{r['standalone_decode_tps_median']:.2f} tok/s, paired ratio {r['paired_ratio_median']:.4f}, "
            f"ratio of medians {r['ratio_of_medians']:.4f}, ratio of best trials {r['ratio_of_best']:.4f}",
            flush=True,
        )
    overall = geomean(r["paired_ratio_median"] for r in per_model.values())
    best = geomean(r["ratio_of_best"] for r in per_model.values())
    print(f"ratio of best trials (geometric mean): {best:.4f}")
    print(
        f"P1 fidelity (geometric mean over {len(per_model)} models of the paired median): {overall:.4f} (goal >= 0.99)"
    )
    info["loadavg_1m_end"] = __import__("os").getloadavg()[0]
    write_json(
        args.out,
        "p1_fidelity.json",
        {
            "machine": info,
            "settings": vars(args) | {"out": str(args.out)},
            "per_model": per_model,
            "p1_fidelity": overall,
            "p1_ratio_of_best": best,
            "goal": ">= 0.99",
        },
    )


if __name__ == "__main__":
    main()
