"""Molmo2 twin (allenai/Molmo2-8B layout: a SigLIP-style ViT whose tapped layers (`vit_layers`) are concatenated,
2x2 attention pooling over patches and a SwiGLU projector, feeding a qwen3-style text model with QK-norm, a fused
QKV and an additional vocabulary; config keys `vit_config` / `adapter_config` / `text_config` as the released
config.json, parsed by transformers' own Molmo2Config). mlx-vlm's Molmo2Processor emits a low-res crop plus
overlapping high-res crops, each framed by `<low_res_im_start>` / `<im_start>` ... `<im_end>` with `<im_col>` per
row. mlx-vlm's load() replaces the processor's image processor with a default one (378 px crops, up to 8), so the
twin keeps the real crop size. The real checkpoint keeps its image tokens in the additional vocabulary (ids
151936+); the twin's sit at low ids of a 512 vocab (the ids come from config.json, nothing hardcodes them), so the
128 additional rows exist but are unused.

MolmoPoint twin (allenai/MolmoPoint-8B layout): the same Molmo2 vision/adapter/text stack plus a point predictor
(patch / subpatch / 3x3 location heads over the image tokens) that extends the logits past the vocabulary at every
generated step. transformers 5.24 has no molmo_point config, so the config resolves through a shipped remote-code
stand-in (configuration_molmo_point.py + auto_map). mlx-vlm's MolmoPointProcessor ignores preprocessor_config.json
and load() swaps in a default MolmoPointImageProcessor (378 px crops, up to 24); the low-res crop is framed by
`<low_res_im_start>` and filled with `<im_low>` (the non-indexable patch id), the high-res crops with `<im_patch>`.
The `<point_*>` token names are the twin's (nothing in mlx-vlm reads them by name; their ids come from config)."""

from __future__ import annotations

from dataclasses import replace

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
from agent.twins.remote import remote_file
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


# MolmoPoint's pointing tokens (patch, subpatch, location), in the additional vocabulary of the real checkpoint
POINT_SPECIALS = ("<point_patch>", "<point_subpatch>", "<point_location>")


def _tokenizer(vocab: int, specials: tuple[str, ...]) -> TokenizerSpec:
    return TokenizerSpec(
        vocab_size=vocab,
        specials=specials,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>"},
    )


def _base(tok: TokenizerSpec, vocab: int) -> dict:
    """The Molmo2 config.json (vit_config / adapter_config / text_config), tiny; MolmoPoint extends it."""
    # mlx-vlm's load() swaps in a default image processor (378 px crops, up to 8 of them for Molmo2, 24 for
    # MolmoPoint), whatever preprocessor_config.json says: the tiny ViT sees 27 x 27 patches per crop (pooled to 14 x 14)
    crop, patch = 378, 14
    return {
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


def molmo2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab, SPECIALS)
    cfg = deep_merge(_base(tok, vocab), over)
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
        tokenizer=replace(tok, vocab_size=vocab_of(cfg)),  # the additional vocabulary too
        preprocessor_config=preprocessor,
        chat_template=chat_template("<|image|>"),
    )


def molmo_point(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab, SPECIALS + POINT_SPECIALS)
    base = _base(tok, vocab)
    base.pop("image_low_res_id")  # a Molmo2 key; MolmoPoint names the low-res patch the non-indexable one
    base.update(
        {
            "architectures": ["MolmoPointForConditionalGeneration"],
            "model_type": "molmo_point",
            "auto_map": {"AutoConfig": "configuration_molmo_point.MolmoPointConfig"},
            "image_high_res_id": tok.id("<im_patch>"),
            "image_non_indexable_patch_id": tok.id("<im_low>"),
            "patch_token_id": tok.id("<point_patch>"),
            "subpatch_token_id": tok.id("<point_subpatch>"),
            "location_token_id": tok.id("<point_location>"),
            # the point predictor, as the released config (only the key/query width is tiny: 512 there)
            "patch_location": "3x3",
            "no_more_points_class": True,
            "patch_embed_dim": 32,
            "patch_embedding_kind": "image_feature0",
            "embed_selected_vit_patch": "linear",
            "embed_location": False,
            "layer_norm_x": True,
            "norm_logits": True,
            "mask_patches": "always",
            "mask_subpatches": "inference",
            "mask_repeats": "inference",
            "token_prediction_rotary": "one_d",
            "token_prediction_rotary_theta": 50000.0,
        }
    )
    cfg = deep_merge(base, over)
    # mlx-vlm's load() parses vit_config, then overwrites it with VisionConfig defaults (the real 27-layer so400m ViT:
    # update_module_configs reads `vision_config`, which load_model defaults to {}); harmless for the real checkpoint,
    # but a tiny twin needs the same dict under vision_config too
    cfg["vision_config"] = cfg["vit_config"]
    vit = cfg["vit_config"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "MolmoPointImageProcessor",
            "processor_class": "MolmoPointProcessor",
            "base_image_input_size": vit["image_default_input_size"],
            "image_patch_size": vit["image_patch_size"],
            "max_crops": 24,
            "overlap_margins": [4, 4],
            "pooling_size": [2, 2],
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=replace(tok, vocab_size=vocab_of(cfg)),  # the additional vocabulary too
        preprocessor_config=preprocessor,
        chat_template=chat_template("<|image|>"),
        extra_files={"configuration_molmo_point.py": remote_file("configuration_molmo_point.py")},
        trust_remote_code=True,
    )
