"""Mage-VL twin (Mage-VL layout: Mage-ViT, a pre-norm ViT with a 4:6:6 split 3D rotary and a 2x2 patch merger,
feeding qwen3 text under text_config; config via shipped remote code). mlx-vlm's MageVLProcessor builds its own
numpy Qwen3VLImageProcessor from preprocessor_config.json (patch 16, merge 2, temporal patch 1) and expands
`<|image_pad|>` by string, so the token ids come from config.json alone."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    TINY_LAYERS,
    VISION_FFN,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles, chat_template
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)


def mage_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
    )
    base = {
        "architectures": ["MageVLForConditionalGeneration"],
        "model_type": "mage_vl",
        "auto_map": {"AutoConfig": "configuration_mage_vl.MageVLConfig"},
        "image_token_id": tok.id("<|image_pad|>"),
        "video_token_id": tok.id("<|video_pad|>"),
        "vision_start_token_id": tok.id("<|vision_start|>"),
        "vision_end_token_id": tok.id("<|vision_end|>"),
        "eos_token_id": tok.id("<|im_end|>"),
        "tie_word_embeddings": False,
        "text_config": {
            "model_type": "qwen3",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "rms_norm_eps": 1e-6,
            "max_position_embeddings": 32768,
            "rope_theta": 5000000.0,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
        },
        "vision_config": {
            "model_type": "mage_vl_vision",
            "hidden_size": VISION_HIDDEN,
            "num_hidden_layers": 2,
            "num_attention_heads": 1,  # the 4:6:6 rotary split needs head_dim // 2 divisible by 16
            "intermediate_size": VISION_FFN,
            "patch_size": 16,
            "image_size": 64,
            "num_channels": 3,
            "spatial_merge_size": 2,
            "temporal_patch_size": 1,
            "out_hidden_size": TINY_HIDDEN,
            "text_hidden_size": TINY_HIDDEN,
            "use_head": False,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    unit = vision["patch_size"] * vision["spatial_merge_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": "MageVLProcessor",
            "patch_size": vision["patch_size"],
            "temporal_patch_size": vision["temporal_patch_size"],
            "merge_size": vision["spatial_merge_size"],
            # Tiny: every image becomes 2x2 .. 4x4 merged tokens (4-16 image tokens).
            "min_pixels": (2 * unit) ** 2,
            "max_pixels": (4 * unit) ** 2,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<|vision_start|><|image_pad|><|vision_end|>"),
        extra_files={"configuration_mage_vl.py": remote_file("configuration_mage_vl.py")},
        trust_remote_code=True,
    )
