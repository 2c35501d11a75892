"""Mistral vision family twins: pixtral (Pixtral-12B layout) and mistral3 (Mistral-Small-3.1 / Ministral-3 layout:
pixtral vision tower + patch merger + mistral text). mlx_vlm's numpy PixtralImageProcessor serves both."""

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

SPECIALS = ("<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]")
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def _tokenizer(vocab: int) -> TokenizerSpec:
    return TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<s>",
        eos="</s>",
        pad="<unk>",
        unk="<unk>",
        extra_special_tokens={"image_token": "[IMG]"},
        config_extra={"add_bos_token": True},
    )


def _text(vocab: int) -> dict:
    return {
        "model_type": "mistral",
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "head_dim": TINY_HEAD_DIM,
        "rms_norm_eps": 1e-5,
        "rope_theta": 1000000000.0,  # mlx-vlm's default is None: it must be set
        "max_position_embeddings": 8192,
        "vocab_size": vocab,
        "tie_word_embeddings": False,
        "sliding_window": None,
    }


def _vision(patch: int, image_size: int) -> dict:
    return {
        "model_type": "pixtral",
        "hidden_size": VISION_HIDDEN,
        "intermediate_size": VISION_FFN,
        "num_hidden_layers": 1,
        "num_attention_heads": VISION_HEADS,
        "head_dim": VISION_HIDDEN // VISION_HEADS,
        "image_size": image_size,
        "patch_size": patch,
        "num_channels": 3,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
    }


def _files(cfg: dict, tok: TokenizerSpec, processor_class: str, merge: int, pre: dict | None) -> TwinFiles:
    vision = cfg["vision_config"]
    patch = vision["patch_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "PixtralImageProcessor",
            "processor_class": processor_class,
            "size": {"longest_edge": vision["image_size"]},
            "patch_size": {"height": patch, "width": patch},
            "do_resize": True,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "do_convert_rgb": True,
            "image_mean": CLIP_MEAN,
            "image_std": CLIP_STD,
            "resample": 3,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={
            "processor_class": processor_class,
            "patch_size": patch,
            "spatial_merge_size": merge,
            "image_token": "[IMG]",
            "image_break_token": "[IMG_BREAK]",
            "image_end_token": "[IMG_END]",
        },
        chat_template=chat_template("[IMG]", bos="<s>", start="[INST] ", end=" [/INST]"),
    )


def pixtral(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    base = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "pixtral",
        "image_token_index": tok.id("[IMG]"),
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "projector_hidden_act": "gelu",
        "vocab_size": vocab,
        "eos_token_id": tok.id("</s>"),
        "text_config": _text(vocab),
        "vision_config": _vision(16, 64),
    }
    cfg = deep_merge(base, over)
    return _files(cfg, tok, "PixtralProcessor", 1, pre)


def mistral3(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    base = {
        "architectures": ["Mistral3ForConditionalGeneration"],
        "model_type": "mistral3",
        "image_token_index": tok.id("[IMG]"),
        "spatial_merge_size": 2,
        "multimodal_projector_bias": False,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -1,
        "vocab_size": vocab,
        "eos_token_id": tok.id("</s>"),
        "text_config": _text(vocab),
        "vision_config": _vision(16, 64),
    }
    cfg = deep_merge(base, over)
    return _files(cfg, tok, "Mistral3Processor", cfg["spatial_merge_size"], pre)
