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
    """The vocab size a twin's tokenizer must have: the largest the config declares anywhere.

    A text config's `additional_vocab_size` (Molmo's extra embedding rows) counts too: the real tokenizers keep their
    special tokens there, and a head over both (MolmoPoint's) emits those ids, which the detokenizer must know."""
    sizes = [config.get("vocab_size") or 0]
    for sub in ("text_config", "llm_config"):
        if isinstance(config.get(sub), dict):
            text = config[sub]
            sizes.append((text.get("vocab_size") or 0) + (text.get("additional_vocab_size") or 0))
    return max(sizes) or TINY_VOCAB
