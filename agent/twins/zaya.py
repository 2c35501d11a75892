"""ZAYA1-VL twin (Zyphra/ZAYA1-VL-8B layout: a flat config.json with the ZAYA1 text keys at the root (mlx-vlm copies
them into text_config) and a Qwen2.5-VL vision_config with temporal_patch_size 1; the text model is ZAYA1's
compressed convolutional attention (CCA) and a top-1 MoE with a "mixture of depths" skip expert and a router MLP,
plus vision LoRA adapters on attention and experts applied at image positions). mlx-vlm's Zaya1VLProcessor builds
its own numpy Qwen3VLImageProcessor (patch 14, merge 2) and takes the image token id from the tokenizer, so a 512
vocab serves (the real `<image>` id is 262147).

Gotchas: transformers 5.24 has no `zaya1_vl` config (only the text `zaya`), so the config is not linted; mlx-vlm
never asks transformers for one. Generation fails on every backend, quantized too (registry.EXPECTED_FAILURES):
mlx-vlm 0.7.10's chunked prefill calls language_model(inputs=...), this LanguageModel wants `input_ids`. Past that
(prefill_step_size=None) the q4 twin generates, and bf16 meets mlx's float32-only CPU GatherMM in the experts."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    TINY_LAYERS,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

PAD, EOS, BOS = "<pad>", "<eos>", "<bos>"
SPECIALS = (PAD, EOS, BOS, "<unk>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<image>")


def zaya1_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos=BOS,
        eos="<|im_end|>",
        pad=PAD,
        unk="<unk>",
        extra_special_tokens={"image_token": "<image>"},
        config_extra={"add_bos_token": False},  # the template writes <bos>
    )
    patch, merge = 14, 2
    unit = patch * merge
    base = {
        "architectures": ["Zaya1VLForConditionalGeneration"],
        "model_type": "zaya1_vl",
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "ffn_hidden_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "num_query_groups": TINY_KV_HEADS,  # must equal num_key_value_heads
        "head_dim": TINY_HEAD_DIM,
        "cca": True,
        "cca_time0": 2,
        "cca_time1": 2,
        "num_experts": 4,  # the real model: 16
        "moe_router_topk": 1,
        # router width (the real model: 256); (experts + 1) x width must be a multiple of 64, or mlx-vlm's load
        # skips quantizing the router head that its convert quantized
        "zaya_mlp_expansion": 64,
        "zaya_use_mod": True,
        "zaya_use_eda": True,
        "zaya_high_prec": True,
        "activation_func": "swiglu",
        "gated_linear_unit": True,
        "add_bias_linear": False,
        "scale_residual_merge": True,
        "normalization": "RMSNorm",
        "norm_epsilon": 1e-5,
        "rope_theta": 1000000.0,
        "partial_rotary_factor": 0.5,
        "max_position_embeddings": 32768,
        "vision_lora": True,
        "vision_lora_rank_attn": 8,
        "vision_lora_rank_mlp": 32,
        "tie_word_embeddings": True,
        "image_token_id": tok.id("<image>"),
        "vision_start_token_id": tok.id("<|vision_start|>"),
        "vision_end_token_id": tok.id("<|vision_end|>"),
        "bos_token_id": tok.id(BOS),
        "eos_token_id": tok.id("<|im_end|>"),
        "pad_token_id": tok.id(PAD),
        "projector_hidden_act": "gelu",
        "vision_config": {
            "model_type": "qwen2_5_vl",
            "depth": 2,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "out_hidden_size": TINY_HIDDEN,
            "num_heads": VISION_HEADS,
            "in_chans": 3,
            "spatial_patch_size": patch,
            "spatial_merge_size": merge,
            "temporal_patch_size": 1,  # still images only, as the real tower
            "window_size": 112,
            "fullatt_block_indexes": [1],
            "tokens_per_second": 2,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    preprocessor = {
        "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Zaya1VLProcessor",
        "patch_size": vision["spatial_patch_size"],
        "temporal_patch_size": vision["temporal_patch_size"],
        "merge_size": vision["spatial_merge_size"],
        # tiny: 2 x 2 .. 4 x 4 merged tokens per image
        "min_pixels": (2 * unit) ** 2,
        "max_pixels": (4 * unit) ** 2,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, pre),
        chat_template=chat_template("<|vision_start|><image><|vision_end|>", bos=BOS),
        lint_config=False,  # transformers 5.24 has no zaya1_vl config class
    )
