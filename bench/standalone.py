"""The baseline grid is measured against: plain mlx-vlm in one process, the check_models way.

One interpreter imports mlx_vlm once, then for each model: load, and for each cell warmup + timed trials with
`mlx_vlm.generate` (its own processor path, its own timers), then the next model. No isolation, no Ray, no Parquet.
A bench script, not a grid module: it imports mlx / mlx_vlm directly, as a user's script would.

    python bench/standalone.py --plan plan.json --out standalone.json

plan.json: {"cells": [{"model_path", "prompt", "image", "max_tokens", "temperature", "warmup_runs", "trials",
"exact_tokens", "seed"}, ...]}. Cells of one model must be adjacent (loaded once). Output: per cell the trials'
generation_tps / prompt_tps / generation_tokens, plus the process's own timings.
"""

from __future__ import annotations

import argparse
import json
import time

T_START = time.perf_counter()

import mlx.core as mx  # noqa: E402
import mlx_vlm  # noqa: E402
from mlx_vlm.prompt_utils import apply_chat_template  # noqa: E402
from mlx_vlm.utils import StoppingCriteria  # noqa: E402

IMPORT_S = time.perf_counter() - T_START


def generate_once(model, processor, cell: dict) -> dict:
    formatted = apply_chat_template(processor, model.config, cell["prompt"], num_images=1 if cell["image"] else 0)
    kwargs = {}
    if cell["exact_tokens"]:
        tokenizer = processor.tokenizer if hasattr(processor, "tokenizer") else processor
        criteria = StoppingCriteria([], tokenizer)
        criteria.eos_token_ids = []  # __init__ adds the tokenizer's EOS back: clear it (notes/synthetic-twins.md)
        kwargs["stopping_criteria"] = criteria
    mx.random.seed(cell["seed"])
    mx.reset_peak_memory()
    t0 = time.perf_counter()
    r = mlx_vlm.generate(
        model,
        processor,
        formatted,
        image=[cell["image"]] if cell["image"] else None,
        max_tokens=cell["max_tokens"],
        temperature=cell["temperature"],
        verbose=False,
        **kwargs,
    )
    return {
        "generation_tps": r.generation_tps,
        "prompt_tps": r.prompt_tps,
        "generation_tokens": r.generation_tokens,
        "prompt_tokens": r.prompt_tokens,
        "wall_s": time.perf_counter() - t0,
    }


def run(cells: list[dict]) -> dict:
    out, loaded_path, model, processor, load_s = [], None, None, None, None
    for cell in cells:
        if cell["model_path"] != loaded_path:
            model = processor = None
            t0 = time.perf_counter()
            model, processor = mlx_vlm.load(cell["model_path"])
            load_s, loaded_path = time.perf_counter() - t0, cell["model_path"]
        t0 = time.perf_counter()
        for _ in range(cell["warmup_runs"]):
            generate_once(model, processor, cell)
        trials = [generate_once(model, processor, cell) for _ in range(cell["trials"])]
        out.append(
            {"model_path": cell["model_path"], "load_s": load_s, "cell_s": time.perf_counter() - t0, "trials": trials}
        )
    return {"import_s": IMPORT_S, "cells": out, "process_s": time.perf_counter() - T_START}


def serve() -> None:
    """--serve: JSON lines on stdin ({"load": path} or {"generate": cell}), one JSON line back per request. Lets
    bench/fidelity.py alternate single trials between this process and grid's child, so both see the same machine."""
    import os
    import sys

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # model code prints; keep stdout for the protocol only
    model = processor = None
    for line in sys.stdin:
        req = json.loads(line)
        if "load" in req:
            t0 = time.perf_counter()
            model, processor = mlx_vlm.load(req["load"])
            reply = {"load_s": time.perf_counter() - t0}
        else:
            reply = generate_once(model, processor, req["generate"])
        proto.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan")
    ap.add_argument("--out")
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    if args.serve:
        serve()
        raise SystemExit(0)
    with open(args.plan) as f:
        plan = json.load(f)
    result = run(plan["cells"])
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
