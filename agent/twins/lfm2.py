"""LFM2-VL twin (LiquidAI LFM2-VL / LFM2.5-VL layout: SigLIP2 NaFlex vision + pixel-unshuffle projector + LFM2
hybrid conv/attention text model). mlx_vlm patches HF's Lfm2VlProcessor with a numpy image processor."""

from __future__ import annotations

from agent.twins.common import (
    IMAGE_MEAN,
    IMAGE_STD,
    TINY_FFN,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|pad|>",
    "<|startoftext|>",
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<image>",
    "<|image_start|>",
    "<|image_end|>",
    "<|img_thumbnail|>",
)


def lfm2_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<|startoftext|>",
        eos="<|im_end|>",
        pad="<|pad|>",
        extra_special_tokens={
            "image_token": "<image>",
            "image_start_token": "<|image_start|>",
            "image_end_token": "<|image_end|>",
            "image_thumbnail_token": "<|img_thumbnail|>",
        },
    )
    patch = 8
    base = {
        "architectures": ["Lfm2VlForConditionalGeneration"],
        "model_type": "lfm2_vl",
        "image_token_id": tok.id("<image>"),
        "downsample_factor": 2,
        "encoder_patch_size": patch,
        "min_image_tokens": 4,
        "max_image_tokens": 16,
        "max_num_patches": 64,
        "tile_size": 32,
        "min_tiles": 2,
        "max_tiles": 4,
        "do_image_splitting": True,
        "use_thumbnail": True,
        "projector_hidden_size": 64,
        "projector_hidden_act": "gelu",
        "projector_bias": True,
        "vision_feature_layer": -1,
        "eos_token_id": tok.id("<|im_end|>"),
        "text_config": {
            "model_type": "lfm2",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "block_ff_dim": TINY_FFN,
            "block_dim": TINY_HIDDEN,
            "conv_dim": TINY_HIDDEN,
            "conv_dim_out": TINY_HIDDEN,
            "block_multiple_of": 32,  # the default 256 rounds the tiny FFN up to 256
            "block_auto_adjust_ff_dim": True,
            "block_ffn_dim_multiplier": 1.0,
            "num_hidden_layers": 2,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "layer_types": ["conv", "full_attention"],
            "conv_L_cache": 3,
            "conv_bias": False,
            "norm_eps": 1e-5,
            "max_position_embeddings": 32768,
            "rope_theta": 1000000.0,
            "vocab_size": vocab,
            "tie_word_embeddings": True,
            "eos_token_id": tok.id("<|im_end|>"),
        },
        "vision_config": {
            "model_type": "siglip2_vision_model",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 1,
            "num_attention_heads": VISION_HEADS,
            "num_channels": 3,
            "patch_size": patch,
            "num_patches": 64,  # position-embedding grid 8x8
            "layer_norm_eps": 1e-6,
            "hidden_act": "gelu_pytorch_tanh",
            "vision_use_head": False,
        },
    }
    cfg = deep_merge(base, over)
    keys = (
        "downsample_factor",
        "encoder_patch_size",
        "min_image_tokens",
        "max_image_tokens",
        "max_num_patches",
        "tile_size",
        "min_tiles",
        "max_tiles",
        "do_image_splitting",
        "use_thumbnail",
    )
    preprocessor = deep_merge(
        {
            "image_processor_type": "Lfm2VlImageProcessor",
            "processor_class": "Lfm2VlProcessor",
            **{k: cfg[k] for k in keys},
            "max_pixels_tolerance": 2.0,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": IMAGE_MEAN,
            "image_std": IMAGE_STD,
            "resample": 2,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={"processor_class": "Lfm2VlProcessor", "use_image_special_tokens": True},
        chat_template=chat_template("<image>", bos="<|startoftext|>"),
    )
