"""Moondream 3 twin (moondream3-preview layout in mlx-vlm: a SigLIP-style ViT over 378 px overlapping crops, an MLP
projector taking the global crop's features concatenated with the pooled local ones, and a text model whose
layers from `moe_start_layer` on are MoE (GeGLU experts), with prefix attention over BOS + 729 image tokens).
mlx-vlm's Moondream3Processor hardcodes 729 image placeholders (27 x 27 patches of 14 px), BOS/EOS id 0 and
answer id 3, so the tiny ViT keeps the real crop and patch size. No HF config class exists for moondream3 and
mlx-vlm never asks for one (the tokenizer declares its class), so the config is not linted."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles
from agent.twins.tokenizer import TokenizerSpec

# ids 0, 3 and 4 are what Moondream3Processor / the model hardcode (BOS = EOS, answer, thinking)
SPECIALS = ("<|endoftext|>", "<|md_reserved_1|>", "<|md_reserved_2|>", "<|md_answer|>", "<|md_thinking|>")


def _vision(model_type: str, layer_norm_eps: float) -> dict:
    """The SigLIP-style ViT both Moondreams use, tiny; the real 378 px crop and 14 px patch stay (the processors
    hardcode 729 image placeholders: (378 / 14) ** 2)."""
    return {
        "model_type": model_type,
        "hidden_size": VISION_HIDDEN,
        "intermediate_size": VISION_FFN,
        "num_hidden_layers": 2,
        "num_attention_heads": VISION_HEADS,
        "patch_size": 14,
        "crop_size": 378,
        "max_crops": 2,
        "overlap_margin": 4,
        "in_channels": 3,
        "proj_inner_dim": 128,
        "proj_out_dim": TINY_HIDDEN,
        "attention_bias": True,
        "layer_norm_eps": layer_norm_eps,
    }


def moondream3(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab, specials=SPECIALS, bos="<|endoftext|>", eos="<|endoftext|>", pad="<|endoftext|>"
    )
    base = {
        "architectures": ["HfMoondream"],
        "model_type": "moondream3",
        "bos_token_id": 0,
        "eos_token_id": 0,
        "text_config": {
            "model_type": "moondream3",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": 2,
            "vocab_size": vocab,
            "max_position_embeddings": 4096,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_HEADS,  # no GQA: the attention temperature (tau) scales values per query head
            "head_dim": TINY_HEAD_DIM,
            "rope_dim": 8,
            "rope_theta": 1500000.0,
            "rms_norm_eps": 1e-5,
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 32,
            "moe_start_layer": 1,  # one dense layer, then MoE (the real model: 4 dense of 24)
            "attention_bias": True,
            "prefix_attn": 730,  # BOS + 729 image tokens
        },
        "vision_config": _vision("moondream3_vision", layer_norm_eps=1e-6),
    }
    cfg = deep_merge(base, over)
    return TwinFiles(config=cfg, tokenizer=tok, lint_config=False)


def moondream2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Moondream 2 twin (vikhyatk/moondream2 as mlx-vlm reads it: config.json `model_type` "moondream1", which
    mlx-vlm remaps to its moondream2 folder; a SigLIP-style ViT over 378 px overlapping crops, a GELU projector over
    the global crop's features concatenated with the pooled local ones, and a Phi-style parallel-block text model with
    partial rotary and prefix attention over BOS + 729 image tokens). The real checkpoint's config.json carries no
    dims (mlx-vlm falls back to its TextConfig / VisionConfig defaults), so the twin's are under text_config and
    vision_config, which mlx-vlm's load_model reads. The ViT keeps the real 378 px crop and 14 px patch: the
    processor (Moondream3Processor's) hardcodes 729 image placeholders.

    mlx-vlm 0.7.10's Moondream2Processor.from_pretrained loads its tokenizer from the hub repo moondream/starmie-v1
    whatever the model folder holds (no argument of mlx_vlm.load changes that). Offline that raises, mlx-vlm's
    AutoProcessor patch swallows it and falls back to the folder's bare tokenizer, and generate runs text-only: the
    image is silently dropped (registry.IMAGE_DROPPED). Built on the folder's tokenizer, Moondream2Processor feeds
    this twin BOS + 729 image tokens + the text and it generates (checked by hand, not by the suite)."""
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab, specials=SPECIALS, bos="<|endoftext|>", eos="<|endoftext|>", pad="<|endoftext|>"
    )
    base = {
        "architectures": ["HfMoondream"],
        "model_type": "moondream1",
        "config": {},  # the real checkpoint's own (empty) moondream config, which mlx-vlm does not read
        "bos_token_id": 0,
        "eos_token_id": 0,
        "text_config": {
            "model_type": "moondream2",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": 2,
            "vocab_size": vocab,
            "max_position_embeddings": 2048,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_HEADS,  # the real model has no GQA (32 / 32)
            "rope_theta": 10000.0,
            "partial_rotary_factor": 0.5,
            "rms_norm_eps": 1e-5,
        },
        "vision_config": _vision("moondream2_vision", layer_norm_eps=1e-5),
    }
    cfg = deep_merge(base, over)
    return TwinFiles(config=cfg, tokenizer=tok, lint_config=False)
