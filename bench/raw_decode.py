"""Raw MLX decode speed of a random-weight Qwen2 decoder, with no mlx-vlm and no grid in the way.

The reference for "how fast can this machine decode a model of these dimensions": grid's decode tok/s on a real-size
twin of the same text dimensions is compared with it (BENCHMARKS.md, H200 section). Prefill of a 128-token prompt,
then 128 greedy tokens with mlx-lm's KV cache, the decode loop pipelined with async_eval as mlx-lm does.

    python bench/raw_decode.py --dims 7b --bits 16 --bits 4 --out raw.json
"""

from __future__ import annotations

import argparse
import json
import time

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten, tree_map
from mlx_lm.models import cache as kv_cache
from mlx_lm.models import qwen2

# Text dimensions of Qwen2-1.5B / Qwen2-7B (their public config.json), the language models of Qwen2-VL-2B / 7B.
DIMS = {
    "tiny": dict(
        hidden_size=64,
        num_hidden_layers=2,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=512,
        tie_word_embeddings=True,
    ),  # a check that the script runs
    "1.5b": dict(
        hidden_size=1536,
        num_hidden_layers=28,
        intermediate_size=8960,
        num_attention_heads=12,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "7b": dict(
        hidden_size=3584,
        num_hidden_layers=28,
        intermediate_size=18944,
        num_attention_heads=28,
        num_key_value_heads=4,
        vocab_size=152064,
        tie_word_embeddings=False,
    ),
}


def build(dims: str, bits: int) -> nn.Module:
    args = qwen2.ModelArgs(model_type="qwen2", rms_norm_eps=1e-6, rope_theta=1e6, **DIMS[dims])
    model = qwen2.Model(args)
    model.update(tree_map(lambda p: (mx.random.normal(p.shape) * 0.02).astype(mx.bfloat16), model.parameters()))
    if bits < 16:
        nn.quantize(model, group_size=64, bits=bits)
    mx.eval(model.parameters())
    return model


def measure(model: nn.Module, prompt_tokens: int = 128, new_tokens: int = 128) -> dict:
    prompt = mx.random.randint(0, 1000, (1, prompt_tokens))
    cache = kv_cache.make_prompt_cache(model)
    t0 = time.perf_counter()
    logits = model(prompt, cache=cache)
    y = mx.argmax(logits[:, -1, :], axis=-1)
    mx.eval(y)
    prefill_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    for _ in range(new_tokens):
        next_y = mx.argmax(model(y[:, None], cache=cache)[:, -1, :], axis=-1)
        mx.async_eval(next_y)
        y = next_y
    mx.eval(y)
    decode_s = time.perf_counter() - t1
    weight_bytes = sum(v.nbytes for _, v in tree_flatten(model.parameters()))
    return {
        "prefill_tps": prompt_tokens / prefill_s,
        "decode_tps": new_tokens / decode_s,
        "weight_gb": weight_bytes / 1e9,
        "weight_read_tbps": weight_bytes * new_tokens / decode_s / 1e12,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default="1.5b", choices=sorted(DIMS))
    ap.add_argument("--bits", type=int, action="append", help="16 (bf16), 8 or 4; repeatable")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128, help="fewer on a CPU, where mlx's bf16/4-bit kernels crawl")
    ap.add_argument("--out")
    args = ap.parse_args()
    results = []
    for bits in args.bits or [16]:
        model = build(args.dims, bits)
        measure(model, min(16, args.prompt_tokens), min(8, args.new_tokens))  # warm up kernels
        runs = [measure(model, args.prompt_tokens, args.new_tokens) for _ in range(args.repeat)]
        best = sorted(runs, key=lambda r: r["decode_tps"])[len(runs) // 2]  # the median run
        results.append(
            {
                "dims": args.dims,
                "bits": bits,
                "device": str(mx.default_device()),
                "prompt_tokens": args.prompt_tokens,
                "new_tokens": args.new_tokens,
                **best,
                "decode_tps_runs": [r["decode_tps"] for r in runs],
            }
        )
        print(json.dumps(results[-1]))
        del model
        mx.clear_cache()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
