"""Qwen vision family twins: qwen2_vl, qwen2_5_vl, qwen3_vl (mlx_vlm's numpy Qwen3VLImageProcessor for all three).

Layout follows the HF config.json of the Qwen2-VL / Qwen2.5-VL / Qwen3-VL checkpoints: text keys at the root for
qwen2 / qwen2.5 (mlx_vlm copies root keys into text_config), a text_config for qwen3.
"""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    TINY_LAYERS,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
IMAGE_TEXT = "<|vision_start|><|image_pad|><|vision_end|>"


def _tokenizer(vocab: int) -> TokenizerSpec:
    return TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
        config_extra={"model_max_length": 32768},
    )


def _token_ids(tok: TokenizerSpec) -> dict:
    return {
        "image_token_id": tok.id("<|image_pad|>"),
        "video_token_id": tok.id("<|video_pad|>"),
        "vision_start_token_id": tok.id("<|vision_start|>"),
        "vision_end_token_id": tok.id("<|vision_end|>"),
        "vision_token_id": tok.id("<|vision_pad|>"),
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": tok.id("<|im_end|>"),
    }


def _files(cfg: dict, tok, processor_class: str, pre: dict | None) -> TwinFiles:
    """The files of a Qwen-family twin: its preprocessor follows the vision tower's patch and merge sizes."""
    vision = cfg["vision_config"]
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=_preprocessor(vision["patch_size"], vision["spatial_merge_size"], processor_class, pre),
        chat_template=chat_template(IMAGE_TEXT),
    )


def _preprocessor(patch: int, merge: int, processor_class: str, pre_override: dict | None) -> dict:
    unit = patch * merge
    base = {
        "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": processor_class,
        "patch_size": patch,
        "temporal_patch_size": 2,
        "merge_size": merge,
        # Tiny: every image becomes 2x2 .. 4x4 merged tokens (4-16 image tokens).
        "min_pixels": (2 * unit) ** 2,
        "max_pixels": (4 * unit) ** 2,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
    }
    return deep_merge(base, pre_override)


def _text_root(vocab: int) -> dict:
    return {
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "max_position_embeddings": 32768,
        "rope_theta": 1000000.0,
        "vocab_size": vocab,
        # Untied on purpose for tiny twins: with tied random embeddings the model just echoes the last prompt token.
        "tie_word_embeddings": False,
        # mrope sections must sum to head_dim / 2
        "rope_scaling": {"type": "mrope", "rope_type": "default", "mrope_section": [2, 3, 3]},
        "torch_dtype": "bfloat16",
    }


def qwen2_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    base = {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        **_text_root(vocab),
        **_token_ids(tok),
        "vision_config": {
            "model_type": "qwen2_vl",
            "depth": 2,
            "embed_dim": VISION_HIDDEN,
            "hidden_size": TINY_HIDDEN,  # merger output = text hidden size
            "num_heads": VISION_HEADS,
            "mlp_ratio": 2,  # HF validation wants an int here
            "in_chans": 3,
            "in_channels": 3,
            "patch_size": 14,
            "spatial_patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
    }
    return _files(deep_merge(base, over), tok, "Qwen2VLProcessor", pre)


def qwen2_5_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    base = {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "model_type": "qwen2_5_vl",
        **_text_root(vocab),
        **_token_ids(tok),
        "vision_config": {
            "model_type": "qwen2_5_vl",
            "depth": 2,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": 64,
            "out_hidden_size": TINY_HIDDEN,
            "num_heads": VISION_HEADS,
            "in_chans": 3,
            "in_channels": 3,
            "patch_size": 14,
            "spatial_patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 56,
            "fullatt_block_indexes": [1],
            "tokens_per_second": 2,
            "hidden_act": "silu",
        },
    }
    return _files(deep_merge(base, over), tok, "Qwen2_5_VLProcessor", pre)


def qwen3_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    ids = _token_ids(tok)
    base = {
        "architectures": ["Qwen3VLForConditionalGeneration"],
        "model_type": "qwen3_vl",
        **{k: v for k, v in ids.items() if k not in ("bos_token_id", "eos_token_id")},
        "tie_word_embeddings": False,
        "text_config": {
            "model_type": "qwen3_vl_text",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "hidden_act": "silu",
            "rms_norm_eps": 1e-6,
            "max_position_embeddings": 32768,
            "rope_theta": 5000000.0,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "rope_scaling": {"rope_type": "default", "mrope_section": [4, 2, 2], "mrope_interleaved": True},
            "bos_token_id": ids["bos_token_id"],
            "eos_token_id": ids["eos_token_id"],
        },
        "vision_config": {
            "model_type": "qwen3_vl",
            "depth": 2,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": 64,
            "out_hidden_size": TINY_HIDDEN,
            "num_heads": VISION_HEADS,
            "in_channels": 3,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 64,  # must be a perfect square
            "deepstack_visual_indexes": [0],
            "hidden_act": "gelu_pytorch_tanh",
        },
        "eos_token_id": ids["eos_token_id"],
    }
    return _files(deep_merge(base, over), tok, "Qwen3VLProcessor", pre)


def qwen3_vl_moe(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Qwen3-VL-30B-A3B layout: the qwen3_vl twin with a sparse-MoE text model (layer 0 dense, layer 1 MoE)."""
    moe = {
        "architectures": ["Qwen3VLMoeForConditionalGeneration"],
        "model_type": "qwen3_vl_moe",
        "text_config": {
            "model_type": "qwen3_vl_moe_text",
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "decoder_sparse_step": 1,
            "mlp_only_layers": [0],
            "moe_intermediate_size": 32,
            "norm_topk_prob": True,
        },
        "vision_config": {"model_type": "qwen3_vl_moe"},
    }
    files = qwen3_vl(deep_merge(moe, over), pre)
    files.preprocessor_config["processor_class"] = "Qwen3VLProcessor"
    return files


def paddleocr_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """PaddleOCR-VL layout: NaViT-style SigLIP + 2x2 merger + ERNIE-4.5 text with mrope, text keys at the root;
    its numpy image processor works like Qwen2-VL's."""
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    ids = _token_ids(tok)
    base = {
        "architectures": ["PaddleOCRVLForConditionalGeneration"],
        "model_type": "paddleocr_vl",
        **ids,
        # mlx-vlm hardcodes the projector output (context_dim) at 1024, the real text width, so the twin keeps
        # hidden 1024 (about 5M parameters) and shrinks everything else
        "hidden_size": 1024,
        "intermediate_size": 256,
        "num_hidden_layers": 1,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "head_dim": 128,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 32768,
        "rope_theta": 500000.0,
        "vocab_size": vocab,
        "use_bias": False,
        "tie_word_embeddings": False,
        "pad_token_id": tok.id("<|endoftext|>"),
        "rope_scaling": {"type": "default", "rope_type": "default", "mrope_section": [16, 24, 24]},
        "vision_config": {
            "model_type": "paddleocr_vl",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": VISION_HEADS,
            "num_channels": 3,
            "image_size": 56,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
        },
    }
    files = _files(deep_merge(base, over), tok, "PaddleOCRVLProcessor", pre)
    files.preprocessor_config["temporal_patch_size"] = 1
    return files


def qwen3_5(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Qwen3.5 layout: the qwen3_vl vision tower (no deepstack) + hybrid text (gated-delta linear attention with a full
    attention layer every `full_attention_interval` layers; here layer 0 linear, layer 1 full)."""
    hybrid = {
        "architectures": ["Qwen3_5ForConditionalGeneration"],
        "model_type": "qwen3_5",
        "text_config": {
            "model_type": "qwen3_5_text",
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "linear_num_value_heads": 4,
            "linear_num_key_heads": 2,
            "linear_key_head_dim": 16,
            "linear_value_head_dim": 16,
            "linear_conv_kernel_dim": 4,
            "full_attention_interval": 2,
            "rope_scaling": None,
            # head_dim 32 x partial_rotary_factor 0.25 = 8 rotary dims: the mrope sections sum to 4
            "rope_parameters": {
                "rope_type": "default",
                "mrope_section": [2, 1, 1],
                "rope_theta": 10000000.0,
                "partial_rotary_factor": 0.25,
                "mrope_interleaved": True,
            },
        },
        "vision_config": {"model_type": "qwen3_5", "deepstack_visual_indexes": []},
    }
    files = qwen3_vl(deep_merge(hybrid, over), pre)
    files.config["text_config"].pop("rope_scaling", None)
    return files


def qwen3_5_moe(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Qwen3.5 MoE layout (Qwen3.5-35B-A3B / 397B-A17B): the qwen3_5 twin with sparse-MoE MLPs and a shared expert
    in every layer."""
    moe = {
        "architectures": ["Qwen3_5MoeForConditionalGeneration"],
        "model_type": "qwen3_5_moe",
        "text_config": {
            "model_type": "qwen3_5_moe_text",
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 32,
            "shared_expert_intermediate_size": 32,
            "norm_topk_prob": True,
        },
        "vision_config": {"model_type": "qwen3_5_moe"},
    }
    return qwen3_5(deep_merge(moe, over), pre)


def qwen4_exp(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Qwen4-Exp layout, derived (agent.twins.derive) from mlx-vlm's qwen4_exp dataclasses: the qwen3_vl vision
    tower without deepstack and a hybrid MoE text model (gated-delta linear layers and QSA sparse-attention layers
    with a compressed-key indexer, hyper-connections); mlx-vlm patches in Qwen3VLProcessor. Here layer 0 linear,
    layer 1 QSA; head_dim widened to 32 by derive so partial rotary 0.25 leaves one dim per mrope section."""
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    ids = _token_ids(tok)
    from agent.twins.derive import derive

    specifics = {
        "architectures": ["Qwen4ExpForConditionalGeneration"],
        "model_type": "qwen4_exp",
        **{k: v for k, v in ids.items() if k not in ("bos_token_id", "vision_token_id")},
        "tie_word_embeddings": False,
        "text_config": {
            "model_type": "qwen4_exp_text",
            "vocab_size": vocab,
            "linear_conv_kernel_dim": 4,
            "rms_norm_eps": 1e-6,
            "max_position_embeddings": 32768,
            "full_attention_interval": 2,
            "hc_lowrank": 16,
            "indexer_head_dim": 16,
            "indexer_budget": 32,
            "eos_token_id": ids["eos_token_id"],
        },
        "vision_config": {"hidden_act": "gelu_pytorch_tanh"},
    }
    return _files(derive("qwen4_exp", deep_merge(specifics, over)), tok, "Qwen3VLProcessor", pre)
