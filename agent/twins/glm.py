"""GLM-4V twin (GLM-4.1V / GLM-4.5V / GLM-4.6V layout: qwen-style patch ViT + merger, GLM-4 text with partial mrope).
The image processor is HF's Glm4vImageProcessor (PIL backend without torch)."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
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
    "[gMASK]",
    "<sop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|begin_of_image|>",
    "<|end_of_image|>",
    "<|image|>",
    "<|begin_of_video|>",
    "<|end_of_video|>",
    "<|video|>",
)


def glm4v(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|user|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>", "video_token": "<|video|>"},
    )
    eos = [tok.id("<|endoftext|>"), tok.id("<|user|>"), tok.id("<|observation|>")]
    base = {
        "architectures": ["Glm4vForConditionalGeneration"],
        "model_type": "glm4v",
        "image_token_id": tok.id("<|image|>"),
        "video_token_id": tok.id("<|video|>"),
        "image_start_token_id": tok.id("<|begin_of_image|>"),
        "image_end_token_id": tok.id("<|end_of_image|>"),
        "video_start_token_id": tok.id("<|begin_of_video|>"),
        "video_end_token_id": tok.id("<|end_of_video|>"),
        "vision_start_token_id": tok.id("<|begin_of_image|>"),
        "vision_end_token_id": tok.id("<|end_of_image|>"),
        "eos_token_id": eos,
        "text_config": {
            "model_type": "glm4v_text",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "max_position_embeddings": 8192,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "attention_bias": True,
            "partial_rotary_factor": 0.5,
            # head_dim 16, rotary half of it: the sections sum to 16 * 0.5 / 2
            "rope_parameters": {
                "rope_type": "default",
                "mrope_section": [2, 1, 1],
                "rope_theta": 10000.0,
                "partial_rotary_factor": 0.5,
            },
            "rope_scaling": {"rope_type": "default", "mrope_section": [2, 1, 1]},
            "eos_token_id": eos,
            "pad_token_id": tok.id("<|endoftext|>"),
            "tie_word_embeddings": False,
        },
        "vision_config": {
            "model_type": "glm4v",
            "depth": 2,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": TINY_FFN,  # the merger MLP width (GLM uses text-side widths here)
            "num_heads": VISION_HEADS,
            "patch_size": 14,
            "image_size": 56,
            "in_channels": 3,
            "out_hidden_size": TINY_HIDDEN,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "rms_norm_eps": 1e-5,
            "hidden_act": "silu",
            "attention_bias": False,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    unit = vision["patch_size"] * vision["spatial_merge_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "Glm4vImageProcessor",
            "processor_class": "Glm46VProcessor",
            "size": {"shortest_edge": (2 * unit) ** 2, "longest_edge": (4 * unit) ** 2},
            "patch_size": vision["patch_size"],
            "temporal_patch_size": vision["temporal_patch_size"],
            "merge_size": vision["spatial_merge_size"],
            "do_resize": True,
            "do_rescale": True,
            "do_normalize": True,
            "do_convert_rgb": True,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template(
            "<|begin_of_image|><|image|><|end_of_image|>", bos="[gMASK]<sop>", start="<|", end="", role_end="|>\n"
        ),
    )


def glm4v_moe(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """GLM-4.5V layout: the glm4v twin with a DeepSeek-style MoE text model (layer 0 dense, layer 1 MoE)."""
    moe = {
        "architectures": ["Glm4vMoeForConditionalGeneration"],
        "model_type": "glm4v_moe",
        "text_config": {
            "model_type": "glm4v_moe_text",
            "moe_intermediate_size": 32,
            "norm_topk_prob": True,
            "n_group": 1,
            "topk_group": 1,
            "n_shared_experts": 1,
            "n_routed_experts": 4,
            "routed_scaling_factor": 1.0,
            "num_experts_per_tok": 2,
            "first_k_dense_replace": 1,
            "head_dim": 16,
            "use_qk_norm": False,
        },
        "vision_config": {"model_type": "glm4v_moe"},
    }
    return glm4v(deep_merge(moe, over), pre)


def glm_ocr(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """GLM-OCR layout: the glm4v twin's vision tower and tokens with GLM-OCR's text model (explicit head_dim, full
    rotary mrope in rope_parameters, no attention bias); mlx-vlm's own GlmOcrProcessor (numpy image processor)."""
    ocr = {
        "architectures": ["GlmOcrForConditionalGeneration"],
        "model_type": "glm_ocr",
        "text_config": {
            "model_type": "glm_ocr_text",
            "head_dim": 16,
            "attention_bias": False,
            "num_nextn_predict_layers": 0,
            # head_dim 16, full rotary: the sections sum to 16 / 2
            "rope_parameters": {
                "rope_type": "default",
                "mrope_section": [2, 3, 3],
                "partial_rotary_factor": 1.0,
                "rope_theta": 10000.0,
            },
        },
        "vision_config": {"model_type": "glm_ocr_vision", "attention_bias": True},
    }
    files = glm4v(deep_merge(ocr, over), pre)
    for key in ("rope_scaling", "partial_rotary_factor", "rope_theta"):
        files.config["text_config"].pop(key, None)
    files.preprocessor_config["processor_class"] = "GlmOcrProcessor"
    return files
