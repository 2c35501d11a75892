"""MiMo-V2 twin (XiaomiMiMo MiMo-V2.5 / V2.6 layout: a "mimovl" ViT (GQA attention with sinks, windowed and
full-attention blocks, 2x2 patch merger) plus a speech-code audio encoder (per-channel code embeddings, a small
qwen2 transformer, grouped projection), feeding the MiMo-V2-Flash text model: hybrid full / sliding-window
attention (`hybrid_layer_pattern`), partial rotary, attention-sink bias, sigmoid-routed MoE (`moe_layer_freq`);
text keys at the root, vision_config / audio_config nested, config via a shipped remote-code stand-in).

mlx-vlm's MiMoV2Processor is its Qwen2_5_VLProcessor (AutoTokenizer + the numpy Qwen3VLImageProcessor, patch 16
from preprocessor_config.json) plus an audio tokenizer loaded lazily from `audio_tokenizer/` (mlx-audio), only for
audio input, so the twin ships none. No id is hardcoded (the processor's `<|audio_pad|>` is a string), so the vocab
stays 512. Layer 0 is full attention + dense MLP, layer 1 sliding-window + MoE; bf16 MoE fails on mlx's CPU backend
(GatherMM float32 only), the -q4 twin runs (mlx-vlm's quant_predicate puts the experts on mxfp4, the rest on 8-bit).
head_dim 24 x partial_rotary_factor 0.334 = 8 rotary dims (the real 192 x 0.334 = 64)."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
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
    "<|audio_start|>",
    "<|audio_end|>",
    "<|audio_pad|>",
    "<think>",
    "</think>",
)


def mimo_v2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
        config_extra={"model_max_length": 262144},
    )
    head, v_head = 24, 16
    base = {
        "architectures": ["MiMoV2ForCausalLM"],
        "model_type": "mimo_v2",
        "auto_map": {"AutoConfig": "configuration_mimo_v2.MiMoV2Config"},
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "moe_intermediate_size": 32,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "head_dim": head,
        "v_head_dim": v_head,
        "swa_num_attention_heads": TINY_HEADS,
        "swa_num_key_value_heads": TINY_KV_HEADS,
        "swa_head_dim": head,
        "swa_v_head_dim": v_head,
        "partial_rotary_factor": 0.334,
        "rope_theta": 10000000.0,
        "swa_rope_theta": 10000.0,
        "max_position_embeddings": 262144,
        "layernorm_epsilon": 1e-6,
        "sliding_window": 128,
        "sliding_window_size": 128,
        "hybrid_layer_pattern": [0, 1],  # layer 0 full attention, layer 1 sliding window
        "moe_layer_freq": [0, 1],  # layer 0 dense, layer 1 MoE
        "add_swa_attention_sink_bias": True,
        "add_full_attention_sink_bias": False,
        "n_routed_experts": 4,
        "num_experts_per_tok": 2,
        "n_shared_experts": None,
        "routed_scaling_factor": None,
        "topk_method": "noaux_tc",
        "scoring_func": "sigmoid",
        "norm_topk_prob": True,
        "n_group": 1,
        "topk_group": 1,
        "attention_value_scale": 0.707,
        "attention_projection_layout": "fused_qkv",
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "num_nextn_predict_layers": 0,
        "image_token_id": tok.id("<|image_pad|>"),
        "video_token_id": tok.id("<|video_pad|>"),
        "audio_token_id": tok.id("<|audio_pad|>"),
        "vision_start_token_id": tok.id("<|vision_start|>"),
        "vision_end_token_id": tok.id("<|vision_end|>"),
        "audio_start_token_id": tok.id("<|audio_start|>"),
        "audio_end_token_id": tok.id("<|audio_end|>"),
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": tok.id("<|im_end|>"),
        "torch_dtype": "bfloat16",
        "vision_config": {
            "model_type": "mimovl",
            "depth": 2,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "out_hidden_size": TINY_HIDDEN,
            "num_heads": VISION_HEADS,
            "num_key_value_heads": 1,
            "num_query_groups": 1,
            "qk_channels": 16,
            "in_channels": 3,
            "patch_size": 16,
            "spatial_patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "tokens_per_second": 2,
            "hidden_act": "silu",
            "use_sink": True,
            "window_size": 128,
            "visual_token_window_size": 64,
            "fullatt_block_indexes": [1],  # block 0 windowed with sinks, block 1 full attention
            "vit_window_attn_types": [1, -1],  # block 0 attends along columns, block 1 along rows
        },
        "audio_config": {
            "out_hidden_size": TINY_HIDDEN,
            "audio_channels": 4,
            "group_size": 4,
            "input_full_attention": True,
            "input_local_attn_heads": VISION_HEADS,
            "input_local_dim": VISION_HIDDEN,
            "input_local_head_dim": VISION_HIDDEN // VISION_HEADS,
            "input_local_intermediate_size": VISION_FFN,
            "input_local_layers": 1,
            "add_post_norm": True,
            "projection_layers": 2,
            "rope_theta": 640000.0,
            "speech_vocab_size": "64",  # the released configs ship these two as strings
            "speech_zeroemb_idx": "32",
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=_preprocessor(vision["patch_size"], vision["spatial_merge_size"], "MiMoV2Processor", pre),
        chat_template=chat_template("<|vision_start|><|image_pad|><|vision_end|>"),
        extra_files={"configuration_mimo_v2.py": remote_file("configuration_mimo_v2.py")},
        trust_remote_code=True,
    )
