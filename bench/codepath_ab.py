"""Diagnostic for P1: grid's generation code path vs mlx_vlm.generate in ONE process, on the same loaded model.

No process, pipe or machine difference is left: trials alternate between agent.adapter.generate_timed (grid's path:
processor apart, vision timer, empty stopping criteria, mx.clear_cache before each trial), the same with
mx.clear_cache disabled, and bench/standalone.py's mlx_vlm.generate. If bench/fidelity.py shows a ratio away from 1,
this says whether the code path is the cause (a script, not a grid module: it imports mlx / mlx_vlm directly).

    chrt -f 5 taskset -c 1 python bench/codepath_ab.py twin:qwen2_vl --rounds 25
"""

from __future__ import annotations

import argparse
import statistics

import common  # noqa: F401 — sets sys.path and env first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="twin:qwen2_vl")
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()

    import mlx.core as mx
    from standalone import generate_once

    from agent import adapter
    from agent.images import image_path
    from agent.twins import materialize

    model, processor, _ = adapter.load_model(str(materialize(args.model)))
    image, prompt = image_path(builtin="chart"), "Describe this image in one sentence."
    cell = {
        "prompt": prompt,
        "image": image,
        "max_tokens": args.max_tokens,
        "temperature": 0.0,
        "exact_tokens": True,
        "seed": 0,
    }
    real_clear = mx.clear_cache

    def grid(clear: bool) -> float:
        mx.clear_cache = real_clear if clear else (lambda: None)
        try:
            return adapter.generate_timed(model, processor, prompt, image, args.max_tokens, 0.0, True, 0).decode_tps
        finally:
            mx.clear_cache = real_clear

    sides = {
        "grid": lambda: grid(True),
        "grid_no_clear_cache": lambda: grid(False),
        "mlx_vlm_generate": lambda: generate_once(model, processor, cell)["generation_tps"],
    }
    for f in list(sides.values()) * 3:  # warmup
        f()
    res = {k: [] for k in sides}
    for i in range(args.rounds):
        for name in list(sides) if i % 2 == 0 else list(reversed(sides)):
            res[name].append(sides[name]())
    base = res["mlx_vlm_generate"]
    for name, values in res.items():
        paired = statistics.median(a / b for a, b in zip(values, base))
        print(
            f"{name}: median {statistics.median(values):.0f} tok/s, best {max(values):.0f}; vs mlx_vlm.generate: "
            f"medians {statistics.median(values) / statistics.median(base):.3f}, paired {paired:.3f}, "
            f"best {max(values) / max(base):.3f}"
        )


if __name__ == "__main__":
    main()
