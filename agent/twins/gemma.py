"""Gemma vision family twins: gemma3 (SigLIP + avg-pool projector) and paligemma (SigLIP + linear projector).

gemma3n (MobileNet-style vision + audio) lives in its own module; it shares nothing but the tokenizer style.
"""

from __future__ import annotations

from agent.twins.common import (
    IMAGE_MEAN,
    IMAGE_STD,
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_LAYERS,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
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


GEMMA3N_SPECIALS = GEMMA3_SPECIALS + ("<start_of_audio>", "<end_of_audio>", "<audio_soft_token>")


def gemma3n(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Gemma 3n layout (gemma-3n-E4B): MobileNetV5 vision (hardcoded in mlx-vlm: ~300M parameters, 2048 wide, 256
    tokens per image, so this twin is heavy) + conformer audio + altup/laurel text. Tiny text and audio towers; the
    text vocabulary is followed by the vision and audio soft-token ranges, as in the real checkpoint."""
    text_vocab, extra = 512, 128
    vocab = text_vocab + 2 * extra
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=GEMMA3N_SPECIALS,
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
            "boa_token": "<start_of_audio>",
            "eoa_token": "<end_of_audio>",
            "audio_token": "<audio_soft_token>",
        },
        config_extra={"add_bos_token": True},
    )
    base = {
        "architectures": ["Gemma3nForConditionalGeneration"],
        "model_type": "gemma3n",
        "boi_token_id": tok.id("<start_of_image>"),
        "eoi_token_id": tok.id("<end_of_image>"),
        "image_token_id": tok.id("<image_soft_token>"),
        "boa_token_id": tok.id("<start_of_audio>"),
        "eoa_token_id": tok.id("<end_of_audio>"),
        "audio_token_id": tok.id("<audio_soft_token>"),
        "vision_soft_tokens_per_image": 256,
        "audio_soft_tokens_per_image": 8,
        "eos_token_id": [tok.id("<eos>"), tok.id("<end_of_turn>")],
        "text_config": {
            "model_type": "gemma3n_text",
            "vocab_size": vocab,
            "vocab_size_per_layer_input": text_vocab,
            "hidden_size": TINY_HIDDEN,
            "hidden_size_per_layer_input": 16,
            "intermediate_size": [TINY_FFN, TINY_FFN],  # per layer, as gemma-3n's config has it
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "laurel_rank": 8,
            "altup_num_inputs": 4,
            "altup_active_idx": 0,
            "altup_correct_scale": True,
            "num_kv_shared_layers": 0,
            "sliding_window": 64,
            "layer_types": ["sliding_attention", "full_attention"],
            "activation_sparsity_pattern": [0.0, 0.0],
            "final_logit_softcapping": 30.0,
            "max_position_embeddings": 8192,
            "rms_norm_eps": 1e-6,
        },
        "vision_config": {
            "model_type": "gemma3n_vision",
            "architecture": "mobilenetv5_300m_enc",
            "hidden_size": 2048,  # fixed by mlx-vlm's MobileNetV5
            "vocab_size": extra,
            "vocab_offset": text_vocab,
            "rms_norm_eps": 1e-6,
        },
        "audio_config": {
            "model_type": "gemma3n_audio",
            "input_feat_size": 128,
            "hidden_size": 32,
            "conf_num_attention_heads": 2,
            "conf_num_hidden_layers": 1,
            "conf_attention_chunk_size": 12,
            "conf_attention_context_left": 13,
            "conf_attention_context_right": 0,
            "conf_conv_kernel_size": 5,
            "conf_reduction_factor": 4,
            "sscp_conv_channel_size": [8, 4],
            "vocab_size": extra,
            "vocab_offset": text_vocab + extra,
            "rms_norm_eps": 1e-6,
        },
    }
    cfg = deep_merge(base, over)
    preprocessor = deep_merge(
        _siglip_preprocessor(512, "Gemma3nProcessor", "SiglipImageProcessor", {}),  # 512 px -> 16 x 16 tokens
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={"processor_class": "Gemma3nProcessor", "image_seq_length": 256, "audio_seq_length": 8},
        # Gemma3nProcessor expands the image soft token itself (gemma3 expands <start_of_image>)
        chat_template=chat_template("<image_soft_token>", bos="<bos>", start="<start_of_turn>", end="<end_of_turn>\n"),
        tie_embeddings=True,
    )
