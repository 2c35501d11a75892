"""Small helpers shared by the family modules: dict merging and the tiny default dimensions."""

from __future__ import annotations

import copy

# Tiny twin dimensions (see docs in shared notes): build in milliseconds, run in tens of milliseconds on a CPU.
TINY_VOCAB = 512
TINY_HIDDEN = 64
TINY_LAYERS = 2
TINY_HEADS = 4
TINY_KV_HEADS = 2
TINY_HEAD_DIM = 16
TINY_FFN = 128
VISION_HIDDEN = 32
VISION_HEADS = 2
VISION_FFN = 64

IMAGE_MEAN = [0.5, 0.5, 0.5]
IMAGE_STD = [0.5, 0.5, 0.5]


def deep_merge(base: dict, override: dict | None) -> dict:
    """A copy of `base` with `override` merged in; nested dicts merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def vocab_of(config: dict) -> int:
    """The vocab size a twin's tokenizer must have: the largest the config declares anywhere."""
    sizes = [config.get("vocab_size") or 0]
    for sub in ("text_config", "llm_config"):
        if isinstance(config.get(sub), dict):
            sizes.append(config[sub].get("vocab_size") or 0)
    return max(sizes) or TINY_VOCAB
