"""Molmo2 twin (allenai/Molmo2-8B layout: a SigLIP-style ViT whose tapped layers (`vit_layers`) are concatenated,
2x2 attention pooling over patches and a SwiGLU projector, feeding a qwen3-style text model with QK-norm, a fused
QKV and an additional vocabulary; config keys `vit_config` / `adapter_config` / `text_config` as the released
config.json, parsed by transformers' own Molmo2Config). mlx-vlm's Molmo2Processor emits a low-res crop plus
overlapping high-res crops, each framed by `<low_res_im_start>` / `<im_start>` ... `<im_end>` with `<im_col>` per
row. mlx-vlm's load() replaces the processor's image processor with a default one (378 px crops, up to 8), so the
twin keeps the real crop size. The real checkpoint keeps its image tokens in the additional vocabulary (ids
151936+); the twin's sit at low ids of a 512 vocab (the ids come from config.json, nothing hardcodes them), so the
128 additional rows exist but are unused."""

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

SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<im_start>",
    "<im_end>",
    "<im_patch>",
    "<im_col>",
    "<low_res_im_start>",
    "<im_low>",
    "<frame_start>",
    "<frame_end>",
    "<|image|>",
)


def molmo2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>"},
    )
    # mlx-vlm's load() swaps in a default Molmo2ImageProcessor (378 px crops, up to 8 of them), whatever
    # preprocessor_config.json says: the tiny ViT still sees 27 x 27 patches per crop (pooled 2 x 2 to 14 x 14)
    crop, patch = 378, 14
    base = {
        "architectures": ["Molmo2ForConditionalGeneration"],
        "model_type": "molmo2",
        "image_start_token_id": tok.id("<im_start>"),
        "low_res_image_start_token_id": tok.id("<low_res_im_start>"),
        "image_end_token_id": tok.id("<im_end>"),
        "image_low_res_id": tok.id("<im_low>"),
        "image_patch_id": tok.id("<im_patch>"),
        "image_col_id": tok.id("<im_col>"),
        "frame_start_token_id": tok.id("<frame_start>"),
        "frame_end_token_id": tok.id("<frame_end>"),
        "use_frame_special_tokens": False,
        "tie_word_embeddings": False,
        "eos_token_id": [tok.id("<|im_end|>"), tok.id("<|endoftext|>")],
        "vit_config": {
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "num_key_value_heads": VISION_HEADS,
            "head_dim": VISION_HIDDEN // VISION_HEADS,
            "image_patch_size": patch,
            "image_num_pos": (crop // patch) ** 2,
            "image_default_input_size": [crop, crop],
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
        },
        "adapter_config": {
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": TINY_FFN,
            "text_hidden_size": TINY_HIDDEN,
            "num_attention_heads": VISION_HEADS,
            "num_key_value_heads": VISION_HEADS,
            "head_dim": VISION_HIDDEN // VISION_HEADS,
            "hidden_act": "silu",
            "vit_layers": [-1, -2],  # the real model taps two layers (-3, -9) of its 25-layer ViT
            "pooling_attention_mask": True,
        },
        "text_config": {
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "vocab_size": vocab,
            "additional_vocab_size": 128,
            "hidden_act": "silu",
            "layer_norm_eps": 1e-6,
            "max_position_embeddings": 36864,
            "rope_theta": 5000000.0,
            "use_qk_norm": True,
            "qk_norm_type": "qwen3",
            "qkv_bias": False,
            "norm_after": False,
        },
    }
    cfg = deep_merge(base, over)
    vit = cfg["vit_config"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "Molmo2ImageProcessor",
            "processor_class": "Molmo2Processor",
            "size": {"height": vit["image_default_input_size"][0], "width": vit["image_default_input_size"][1]},
            "patch_size": vit["image_patch_size"],
            "max_crops": 8,
            "overlap_margins": [4, 4],
            "pooling_size": [2, 2],
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<|image|>"),
    )
