"""Aya Vision twin (CohereForAI/aya-vision layout: SigLIP2 + pixel-shuffle adapter + Cohere2 text; HF's
GotOcr2 image processor crops images into tiles plus a global thumbnail)."""

from __future__ import annotations

from agent.twins.common import (
    IMAGE_MEAN,
    IMAGE_STD,
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

SPECIALS = (
    "<PAD>",
    "<UNK>",
    "<BOS_TOKEN>",
    "<|END_OF_TURN_TOKEN|>",
    "<|START_OF_TURN_TOKEN|>",
    "<|USER_TOKEN|>",
    "<|CHATBOT_TOKEN|>",
    "<image>",
    "<|START_OF_IMG|>",
    "<|END_OF_IMG|>",
    "<|IMG_PATCH|>",
    "<|IMG_LINE_BREAK|>",
    "TILE",
    "TILE_GLOBAL",
)


def aya_vision(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<BOS_TOKEN>",
        eos="<|END_OF_TURN_TOKEN|>",
        pad="<PAD>",
        unk="<UNK>",
    )
    image_size, patch, downsample = 32, 8, 2
    base = {
        "architectures": ["AyaVisionForConditionalGeneration"],
        "model_type": "aya_vision",
        "image_token_index": tok.id("<|IMG_PATCH|>"),
        "downsample_factor": downsample,
        "max_splits_per_img": 2,
        "alignment_intermediate_size": 128,
        "adapter_layer_norm_eps": 1e-6,
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "eos_token_id": tok.id("<|END_OF_TURN_TOKEN|>"),
        "text_config": {
            "model_type": "cohere2",
            "hidden_size": TINY_HIDDEN,
            "head_dim": TINY_HEAD_DIM,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "vocab_size": vocab,
            "layer_norm_eps": 1e-5,
            "logit_scale": 0.0625,
            "rope_theta": 50000.0,
            "sliding_window": 64,
            "sliding_window_pattern": 2,
            "max_position_embeddings": 8192,
            "bos_token_id": tok.id("<BOS_TOKEN>"),
            "eos_token_id": tok.id("<|END_OF_TURN_TOKEN|>"),
            "pad_token_id": tok.id("<PAD>"),
        },
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 1,
            "num_attention_heads": VISION_HEADS,
            "patch_size": patch,
            "image_size": image_size,
            "num_channels": 3,
            "layer_norm_eps": 1e-6,
            "vision_use_head": False,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "GotOcr2ImageProcessor",
            "processor_class": "AyaVisionProcessor",
            "crop_to_patches": True,
            "min_patches": 1,
            "max_patches": cfg["max_splits_per_img"],
            "size": {"height": vision["image_size"], "width": vision["image_size"]},
            "do_resize": True,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": IMAGE_MEAN,
            "image_std": IMAGE_STD,
            "do_convert_rgb": True,
            "resample": 3,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={
            "processor_class": "AyaVisionProcessor",
            "img_size": vision["image_size"],
            "patch_size": vision["patch_size"],
            "downsample_factor": cfg["downsample_factor"],
            "image_token": "<image>",
        },
        chat_template=chat_template(
            "<image>", bos="<BOS_TOKEN>", start="<|START_OF_TURN_TOKEN|>", end="<|END_OF_TURN_TOKEN|>", role_end=""
        ),
    )
