"""Qwen3-Omni MoE twin (Qwen/Qwen3-Omni-30B-A3B layout: a thinker with a Qwen3-VL style vision tower (learned,
interpolated position table, 2x2 merger, deepstack), a Whisper-style audio encoder (conv downsampling, windowed
attention) and a Qwen3 MoE text model with QK-norm and interleaved 3D rope; nested thinker_config / talker_config /
code2wav_config as the released config.json, parsed by transformers' own Qwen3OmniMoeConfig). The twin is the
thinker only (`enable_audio_output: false`, as the Thinking / Captioner checkpoints run it; mlx-vlm then builds no
talker or code2wav), but keeps a tiny talker_config: mlx-vlm's ModelConfig.from_dict requires its text_config.

mlx-vlm's Qwen3OmniMoeProcessor: AutoTokenizer (needs image/video/audio tokens and their begin/end tokens as
tokenizer attributes, via extra_special_tokens), AutoFeatureExtractor (WhisperFeatureExtractor, 128 mel bins, from
preprocessor_config.json) and its own numpy Qwen3VLImageProcessor (patch 16) / Qwen3VLVideoProcessor. No id is
hardcoded (all come from config.json), so the vocab stays 512. Layer 0 dense, layer 1 MoE: bf16 MoE fails on mlx's
CPU backend (GatherMM float32 only), the -q4 twin runs."""

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
from agent.twins.qwen import _preprocessor
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<|audio_start|>",
    "<|audio_end|>",
    "<|audio_pad|>",
    "<tts_pad>",
    "<tts_text_bos>",
    "<tts_text_eod>",
)
TOKEN_ATTRS = {
    "image_token": "<|image_pad|>",
    "video_token": "<|video_pad|>",
    "audio_token": "<|audio_pad|>",
    "vision_bos_token": "<|vision_start|>",
    "vision_eos_token": "<|vision_end|>",
    "audio_bos_token": "<|audio_start|>",
    "audio_eos_token": "<|audio_end|>",
}


def _moe_text(vocab: int, tok: TokenizerSpec) -> dict:
    return {
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "head_dim": TINY_HEAD_DIM,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "moe_intermediate_size": 32,
        "decoder_sparse_step": 1,
        "mlp_only_layers": [0],  # layer 0 dense, layer 1 MoE: both code paths run
        "norm_topk_prob": True,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "max_position_embeddings": 65536,
        "rope_theta": 1000000.0,
        "vocab_size": vocab,
        # untied on purpose for tiny twins: tied random embeddings just echo the last prompt token
        "tie_word_embeddings": False,
        "use_qk_norm": True,
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": tok.id("<|im_end|>"),
    }


def qwen3_omni_moe(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of((over or {}).get("thinker_config", {}))
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens=TOKEN_ATTRS,
        config_extra={"model_max_length": 65536},
    )
    ids = {
        "image_token_id": tok.id("<|image_pad|>"),
        "video_token_id": tok.id("<|video_pad|>"),
        "audio_token_id": tok.id("<|audio_pad|>"),
        "audio_start_token_id": tok.id("<|audio_start|>"),
        "vision_start_token_id": tok.id("<|vision_start|>"),
    }
    text = _moe_text(vocab, tok)
    # head_dim 16: the 8 rotary frequencies split 4/2/2 over t/h/w (the real 24/20/20 of 64), interleaved
    text["rope_scaling"] = {
        "rope_type": "default",
        "type": "default",
        "mrope_section": [4, 2, 2],
        "interleaved": True,
        "mrope_interleaved": True,
    }
    base = {
        "architectures": ["Qwen3OmniMoeForConditionalGeneration"],
        "model_type": "qwen3_omni_moe",
        "enable_audio_output": False,
        "im_start_token_id": tok.id("<|im_start|>"),
        "im_end_token_id": tok.id("<|im_end|>"),
        "tts_pad_token_id": tok.id("<tts_pad>"),
        "tts_bos_token_id": tok.id("<tts_text_bos>"),
        "tts_eos_token_id": tok.id("<tts_text_eod>"),
        "eos_token_id": tok.id("<|im_end|>"),
        "thinker_config": {
            "model_type": "qwen3_omni_moe_thinker",
            **ids,
            "audio_end_token_id": tok.id("<|audio_end|>"),
            "vision_end_token_id": tok.id("<|vision_end|>"),
            "position_id_per_seconds": 13,
            "seconds_per_chunk": 2,
            "text_config": {"model_type": "qwen3_omni_moe_text", **text},
            "vision_config": {
                "model_type": "qwen3_omni_moe_vision_encoder",
                "depth": 2,
                "hidden_size": VISION_HIDDEN,
                "intermediate_size": VISION_FFN,
                "out_hidden_size": TINY_HIDDEN,
                "num_heads": VISION_HEADS,
                "in_channels": 3,
                "patch_size": 16,
                "spatial_merge_size": 2,
                "temporal_patch_size": 2,
                "num_position_embeddings": 64,  # a perfect square: an 8 x 8 table, interpolated per image
                "deepstack_visual_indexes": [0],
                "hidden_act": "gelu_pytorch_tanh",
            },
            "audio_config": {
                "model_type": "qwen3_omni_moe_audio_encoder",
                "d_model": VISION_HIDDEN,
                "encoder_layers": 1,
                "num_hidden_layers": 1,
                "encoder_attention_heads": VISION_HEADS,
                "encoder_ffn_dim": VISION_FFN,
                "num_mel_bins": 128,
                "downsample_hidden_size": 16,
                "output_dim": TINY_HIDDEN,
                "n_window": 50,
                "n_window_infer": 800,
                "conv_chunksize": 500,
                "max_source_positions": 1500,
            },
        },
        # not built (enable_audio_output false); tiny so the config still describes a consistent model
        "talker_config": {
            "model_type": "qwen3_omni_moe_talker",
            **ids,
            "thinker_hidden_size": TINY_HIDDEN,
            "accept_hidden_layer": 1,
            "num_code_groups": 4,
            "text_config": {"model_type": "qwen3_omni_moe_talker_text", **text, "vocab_size": 256},
            "code_predictor_config": {
                "model_type": "qwen3_omni_moe_talker_code_predictor",
                "num_hidden_layers": 1,
                "hidden_size": TINY_HIDDEN,
                "intermediate_size": TINY_FFN,
                "num_attention_heads": TINY_HEADS,
                "num_key_value_heads": TINY_KV_HEADS,
                "head_dim": TINY_HEAD_DIM,
                "vocab_size": 256,
                "num_code_groups": 4,
            },
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["thinker_config"]["vision_config"]
    preprocessor = _preprocessor(vision["patch_size"], vision["spatial_merge_size"], "Qwen3OmniMoeProcessor", None)
    preprocessor.update(
        {
            "feature_extractor_type": "WhisperFeatureExtractor",
            "feature_size": cfg["thinker_config"]["audio_config"]["num_mel_bins"],
            "sampling_rate": 16000,
            "hop_length": 160,
            "chunk_length": 30,
            "n_fft": 400,
            "padding_side": "right",
            "padding_value": 0.0,
            "return_attention_mask": True,
        }
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, pre),
        chat_template=chat_template("<|vision_start|><|image_pad|><|vision_end|>"),
    )
