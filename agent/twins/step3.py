"""Step-3.7 twin (stepfun-ai/Step-3.7-Flash layout: a Perception-Encoder ViT (2D RoPE, layer scale, quick-GELU) whose
patch grid goes through two stride-2 conv downsamplers and a linear projector, feeding a Step-3.5 text model with
QK-norm, head-wise attention gates, full / sliding-window layers with their own head counts
(`attention_other_setting`), per-layer rope theta and partial rotary factors, and a sigmoid-routed MoE with a shared
expert and router bias on the `moe_layers_enum` layers; the hub's remote-code style config (vision `width` /
`layers` / `heads`, text `num_attention_groups`, `moe_num_experts`, ...), parsed by transformers' own Step3p7Config).

mlx-vlm's Step3VLProcessor (tokenizer only, no image processor) hardcodes a 728 px global view with 169 features and
504 px local crops with 81 features each, so the tiny tower keeps patch 14 at 728 px (52 x 52 patches,
downsampled 4x to 13 x 13); the test image (at most 728 px on its long side, aspect <= 1.5) gets no local crops.
The image tokens (`<im_patch>`, `<im_start>`, `<patch_start>`, ...) are looked up in the tokenizer by name, so they
sit at low ids of a 512 vocab. Layer 0 is dense, layer 1 MoE: in bf16 the MoE's SwitchLinear (mx.gather_mm) fails
on mlx's CPU backend (GatherMM only supports float32), as for the other MoE twins; the -q4 variant runs."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    TINY_LAYERS,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
SPECIALS = (
    BOS,
    EOS,
    "<|im_start|>",
    "<|im_end|>",
    "<im_start>",
    "<im_end>",
    "<im_patch>",
    "<patch_start>",
    "<patch_end>",
    "<patch_newline>",
)


def step3p7(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos=BOS,
        eos="<|im_end|>",
        pad=EOS,
        extra_special_tokens={"image_token": "<im_patch>"},
    )
    layers = TINY_LAYERS
    base = {
        "architectures": ["Step3p7ForConditionalGeneration"],
        "model_type": "step3p7",
        "image_token_id": tok.id("<im_patch>"),
        "understand_projector_stride": 2,
        "projector_bias": False,
        "vocab_size": vocab,
        "eos_token_id": [tok.id("<|im_end|>"), tok.id(EOS)],
        "vision_config": {
            "model_type": "perception_encoder",
            "width": VISION_HIDDEN,
            "layers": 2,
            "heads": VISION_HEADS,
            "num_channels": 3,
            "image_size": 728,  # the processor's hardcoded global view (169 features after 4x downsampling)
            "patch_size": 14,
            "mlp_ratio": 2.0,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-5,
            "use_cls_token": False,
            "use_ln_pre": True,
            "use_ln_post": False,
            "use_abs_posemb": True,
            "use_rope2d": True,
            "ls_init_value": 0.1,
            "rope_theta": 10000.0,
        },
        "text_config": {
            "model_type": "step3p5",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": layers,
            "num_attention_heads": TINY_HEADS,
            "num_attention_groups": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "layer_types": ["full_attention", "sliding_attention"],
            "sliding_window": 64,
            # sliding layers use their own head count, as in the real config
            "attention_other_setting": {
                "attention_type": "sliding_attention",
                "num_attention_heads": 2 * TINY_HEADS,
                "num_attention_groups": TINY_KV_HEADS,
                "head_dim": TINY_HEAD_DIM,
            },
            "use_head_wise_attn_gate": True,
            "rope_theta": [5000000.0, 10000.0],
            "partial_rotary_factors": [0.5, 1.0],
            "max_position_embeddings": 65536,
            "max_seq_len": 65536,
            "rms_norm_eps": 1e-5,
            "moe_layers_enum": "1",  # layer 0 dense, layer 1 MoE (the real model: 0-2 dense, 3-44 MoE)
            "moe_num_experts": 4,
            "moe_top_k": 2,
            "moe_intermediate_size": 32,
            "share_expert_dim": 64,
            "moe_router_activation": "sigmoid",
            "use_moe_router_bias": True,
            "norm_expert_weight": True,
            "moe_router_scaling_factor": 1.0,
            "swiglu_limits": [0.0, 7.0],
            "swiglu_limits_shared": [0.0, 16.0],
            "pad_token_id": tok.id(EOS),
            "bos_token_id": tok.id(BOS),
            "eos_token_id": [tok.id("<|im_end|>"), tok.id(EOS)],
            "tie_word_embeddings": False,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        # mlx_vlm.prompt_utils puts "<im_patch>" into string content; the processor expands it
        chat_template=chat_template("<im_patch>", bos=BOS),
    )
