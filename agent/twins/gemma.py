"""Gemma vision family twins: gemma3 (SigLIP + avg-pool projector) and paligemma (SigLIP + linear projector).

gemma3n (MobileNet-style vision + audio) lives in its own module; it shares nothing but the tokenizer style.
"""

from __future__ import annotations

from agent.twins.common import IMAGE_MEAN, IMAGE_STD, TINY_FFN, TINY_HEAD_DIM, TINY_HEADS, TINY_HIDDEN, TINY_LAYERS
from agent.twins.common import VISION_FFN, VISION_HEADS, VISION_HIDDEN, deep_merge, vocab_of
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

GEMMA3_SPECIALS = (
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",
    "<image_soft_token>",
)


def _siglip_vision(image_size: int = 32, patch: int = 8, layers: int = 1) -> dict:
    return {
        "model_type": "siglip_vision_model",
        "hidden_size": VISION_HIDDEN,
        "intermediate_size": VISION_FFN,
        "num_hidden_layers": layers,
        "num_attention_heads": VISION_HEADS,
        "patch_size": patch,
        "image_size": image_size,
        "num_channels": 3,
        "layer_norm_eps": 1e-6,
        "vision_use_head": False,
    }


def _siglip_preprocessor(image_size: int, processor_class: str, image_processor: str, extra: dict) -> dict:
    return {
        "image_processor_type": image_processor,
        "processor_class": processor_class,
        "do_convert_rgb": True,
        "do_resize": True,
        "size": {"height": image_size, "width": image_size},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": IMAGE_MEAN,
        "image_std": IMAGE_STD,
        **extra,
    }


def gemma3(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=GEMMA3_SPECIALS,
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        # Gemma3Processor reads tokenizer.boi_token / eoi_token / image_token(_id)
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
        },
        config_extra={"add_bos_token": True},
    )
    base = {
        "architectures": ["Gemma3ForConditionalGeneration"],
        "model_type": "gemma3",
        "boi_token_index": tok.id("<start_of_image>"),
        "eoi_token_index": tok.id("<end_of_image>"),
        "image_token_index": tok.id("<image_soft_token>"),
        "mm_tokens_per_image": 4,
        "pad_token_id": tok.id("<pad>"),
        "eos_token_id": [tok.id("<eos>"), tok.id("<end_of_turn>")],
        "text_config": {
            "model_type": "gemma3_text",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": 1,
            "head_dim": TINY_HEAD_DIM,
            "query_pre_attn_scalar": TINY_HEAD_DIM,
            "rms_norm_eps": 1e-6,
            "vocab_size": vocab,
            "sliding_window": 64,
            "sliding_window_pattern": 2,
            "rope_theta": 1000000.0,
            "rope_local_base_freq": 10000.0,
            "max_position_embeddings": 8192,
            "mm_tokens_per_image": 4,
        },
        # 32 px / patch 8 = 4x4 patches, avg-pooled to 2x2 = mm_tokens_per_image
        "vision_config": _siglip_vision(image_size=32, patch=8),
    }
    cfg = deep_merge(base, over)
    cfg["text_config"]["mm_tokens_per_image"] = cfg["mm_tokens_per_image"]
    image_size = cfg["vision_config"]["image_size"]
    preprocessor = deep_merge(
        _siglip_preprocessor(
            image_size,
            "Gemma3Processor",
            "Gemma3ImageProcessor",
            {"do_pan_and_scan": False, "image_seq_length": cfg["mm_tokens_per_image"]},
        ),
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={"processor_class": "Gemma3Processor", "image_seq_length": cfg["mm_tokens_per_image"]},
        chat_template=chat_template("<start_of_image>", bos="<bos>", start="<start_of_turn>", end="<end_of_turn>\n"),
        # gemma3's sanitize always overwrites lm_head with embed_tokens: save them tied so the round trip is exact
        tie_embeddings=True,
    )


def paligemma(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=("<pad>", "<eos>", "<bos>", "<unk>", "<image>"),
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        extra_special_tokens={"image_token": "<image>"},
        config_extra={"add_bos_token": True},
    )
    base = {
        "architectures": ["PaliGemmaForConditionalGeneration"],
        "model_type": "paligemma",
        "image_token_index": tok.id("<image>"),
        "hidden_size": TINY_HIDDEN,
        "projection_dim": TINY_HIDDEN,
        "pad_token_id": tok.id("<pad>"),
        "bos_token_id": tok.id("<bos>"),
        "eos_token_id": tok.id("<eos>"),
        "vocab_size": vocab,
        "text_config": {
            "model_type": "gemma2",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": 1,
            "head_dim": TINY_HEAD_DIM,
            "query_pre_attn_scalar": TINY_HEAD_DIM,
            "vocab_size": vocab,
            "sliding_window": 64,
            "final_logit_softcapping": 30.0,
            "attn_logit_softcapping": 50.0,
            "hidden_activation": "gelu_pytorch_tanh",
        },
        "vision_config": {**_siglip_vision(image_size=32, patch=8), "projection_dim": TINY_HIDDEN},
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    image_seq_length = (vision["image_size"] // vision["patch_size"]) ** 2
    cfg["text_config"]["num_image_tokens"] = image_seq_length
    preprocessor = deep_merge(
        _siglip_preprocessor(
            vision["image_size"], "PaliGemmaProcessor", "SiglipImageProcessor", {"image_seq_length": image_seq_length}
        ),
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        # no chat template: mlx_vlm prompts paligemma with "<image>" * n + text
    )
