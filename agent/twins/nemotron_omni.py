"""Nemotron-H Nano Omni twin (nvidia/Nemotron-3-Nano-Omni-30B-A3B-Reasoning-BF16 layout as mlx-vlm 0.7.10 reads it:
a C-RADIO ViT (cls token per teacher + registers, a learned position grid of cpe_max_size / patch cells, cropped or
interpolated per image, a separate video embedder), a 2x2 pixel shuffle (ps_version v2) into the `mlp1` projector
(RMSNorm, Linear, ReLU^2, Linear), a Parakeet Conformer sound encoder (2D conv subsampling x8, relative-position
attention, depthwise conv + BatchNorm) with its ReLU^2 projection, and a Nemotron-H hybrid text model whose
`hybrid_override_pattern` mixes Mamba-2 (M), routed + shared MoE (E) and attention (*) blocks). Config keys as the
released config.json: model_type NemotronH_Nano_Omni_Reasoning_V3 (mlx-vlm remaps it), `llm_config` /
`vision_config` / `sound_config`, resolved through a shipped configuration.py stand-in (auto_map), as the real one.

The real vision_config names only RADIO `args` (a timm ViT-H/16): mlx-vlm reads hidden_size / num_hidden_layers /
num_attention_heads / intermediate_size from it (defaults 1280 / 32 / 16 / 5120), so the twin sets them tiny.
mlx-vlm's NemotronHNanoOmniProcessor: AutoTokenizer plus its own dynamic-resolution image processor, from the
preprocessor_config.json budget (min_num_patches / max_num_patches, tiny here: a 320 x 240 image becomes 8 x 8
patches of 16 px, 16 tokens after the shuffle); each `<image>` becomes `<img>` + `<image>` x n + `</img>`. The
special tokens the config names keep their real ids (all below the tiny vocab). Pattern "ME*": one block of each
kind, Mamba first as in the real "MEMEM*E...". bf16 MoE fails on mlx's CPU backend (GatherMM), the -q4 twin runs.
"""

from __future__ import annotations

import json

from agent.twins.common import (
    TINY_HEAD_DIM,
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
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

MODEL_TYPE = "NemotronH_Nano_Omni_Reasoning_V3"
# the real tokenizer's ids for the tokens config.json names (its first 1000 ids are special tokens)
FIXED_IDS = {
    "<unk>": 0,
    "<s>": 1,
    "</s>": 2,
    "<|im_start|>": 10,
    "<|im_end|>": 11,
    "<image>": 18,
    "<img>": 21,
    "</img>": 22,
    "<so_embedding>": 27,
}
# the real <video> is 131081, past the tiny vocab; <so_start> / <so_end> are mlx-vlm's (and vLLM's) constants
MOVED = ("<video>", "<so_start>", "<so_end>", "<think>", "</think>")


def _specials() -> tuple[str, ...]:
    by_id = {i: t for t, i in FIXED_IDS.items()}
    fixed = [by_id.get(i, f"<SPECIAL_{i}>") for i in range(max(by_id) + 1)]
    return (*fixed, *MOVED)


SPECIALS = _specials()


def nemotron_h_nano_omni(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<s>",
        eos="<|im_end|>",
        pad="<unk>",
        unk="<unk>",
        config_extra={"model_max_length": 131072},
    )
    eos = tok.id("<|im_end|>")
    patch = 16
    base = {
        "architectures": [MODEL_TYPE],
        "model_type": MODEL_TYPE,
        "auto_map": {"AutoConfig": f"configuration.{MODEL_TYPE}_Config"},
        "max_sequence_length": 131072,
        "force_image_size": 512,
        "patch_size": patch,
        "downsample_ratio": 0.5,
        "use_thumbnail": True,
        "ps_version": "v2",
        "template": "n5h_5p5_nanov2",
        "image_tag_type": "internvl",
        "vit_hidden_size": VISION_HIDDEN,
        "projector_hidden_size": 128,  # real 20480
        "norm_mean": [0.48145466, 0.4578275, 0.40821073],
        "norm_std": [0.26862954, 0.26130258, 0.27577711],
        "video_pruning_rate": 0.7,
        "video_temporal_patch_size": 2,
        "eos_token_id": eos,
        "img_context_token": "<image>",
        "img_context_token_id": tok.id("<image>"),
        "video_context_token": "<video>",
        "video_context_token_id": tok.id("<video>"),
        "img_start_token": "<img>",
        "img_end_token": "</img>",
        "sound_context_token": "<so_embedding>",
        "sound_context_token_id": tok.id("<so_embedding>"),
        "vision_config": {
            "architectures": ["RADIOModel"],
            "version": "c-radio_v4-h",
            # what mlx-vlm reads (the real config leaves them to its ViT-H defaults: 1280 / 32 / 16 / 5120)
            "hidden_size": VISION_HIDDEN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "intermediate_size": VISION_FFN,
            "patch_size": patch,
            "max_resolution": 2048,
            "preferred_resolution": [768, 768],
            "args": {
                # real 2048: a 128 x 128 position grid; 16 x 16 here (still larger than the 14 x 14 input_dims,
                # so the grid is interpolated per image as the real one is)
                "cpe_max_size": 256,
                "register_multiple": 10,
                "cls_token_per_teacher": True,
                "teachers": [
                    {"name": "clip", "use_summary": True},
                    {"name": "siglip", "use_summary": True},
                    {"name": "dino_v2", "use_summary": True},
                    {"name": "sam", "use_summary": False},
                ],
                "min_num_patches": 16,
                "max_num_patches": 64,
            },
            "min_num_patches": 16,  # real 1024 / 13312
            "max_num_patches": 64,
            "video_target_num_patches": 64,  # real 1024
            "video_maintain_aspect_ratio": True,
            "video_temporal_patch_size": 2,
            "separate_video_embedder": True,
        },
        "sound_config": {
            "model_type": "parakeet",
            "hidden_size": VISION_HIDDEN,
            "num_attention_heads": VISION_HEADS,
            "num_hidden_layers": 1,
            "intermediate_size": VISION_FFN,
            "conv_kernel_size": 9,
            "convolution_bias": False,
            "subsampling_conv_channels": 16,  # real 256
            "subsampling_conv_kernel_size": 3,
            "subsampling_conv_stride": 2,
            "subsampling_factor": 8,
            "num_mel_bins": 128,
            "projection_hidden_size": 64,  # real 4096
            "projection_bias": False,
            "sampling_rate": 16000,
        },
        "llm_config": {
            "model_type": "nemotron_h",
            "hidden_size": TINY_HIDDEN,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
            "hybrid_override_pattern": "ME*",
            "num_hidden_layers": 3,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "rope_theta": 10000,
            "partial_rotary_factor": 1.0,
            "max_position_embeddings": 262144,
            "mamba_num_heads": 4,  # real 64 x 64, 8 groups, state 128
            "mamba_head_dim": 16,
            "n_groups": 2,
            "ssm_state_size": 16,
            "conv_kernel": 4,
            "expand": 2,
            "chunk_size": 128,
            "use_conv_bias": True,
            "mamba_proj_bias": False,
            "mamba_hidden_act": "silu",
            "time_step_min": 0.001,
            "time_step_max": 0.1,
            "time_step_floor": 0.0001,
            "time_step_limit": [0.0, 1e30],
            "n_routed_experts": 4,  # real 128, top-6, 1856 wide; one shared expert 3712 wide
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 32,
            "n_shared_experts": 1,
            "moe_shared_expert_intermediate_size": 64,
            "norm_topk_prob": True,
            "routed_scaling_factor": 2.5,
            "n_group": 1,
            "topk_group": 1,
            "intermediate_size": 32,
            "mlp_hidden_act": "relu2",
            "mlp_bias": False,
            "norm_eps": 1e-5,
            "layer_norm_epsilon": 1e-5,
            "residual_in_fp32": False,
            "rescale_prenorm_residual": True,
            "attention_bias": False,
            "use_bias": False,
            "bos_token_id": tok.id("<s>"),
            "eos_token_id": eos,
            "pad_token_id": tok.id("<unk>"),
        },
    }
    cfg = deep_merge(base, over)
    preprocessor = deep_merge(
        {
            "image_processor_type": f"{MODEL_TYPE}ImageProcessor",
            "patch_size": cfg["patch_size"],
            "downsample_ratio": cfg["downsample_ratio"],
            "norm_mean": cfg["norm_mean"],
            "norm_std": cfg["norm_std"],
            "min_num_patches": cfg["vision_config"]["min_num_patches"],
            "max_num_patches": cfg["vision_config"]["max_num_patches"],
            "max_model_len": 16384,
        },
        pre,
    )
    # as the real generation_config.json: </s> and <|im_end|> both end a turn
    generation = {"bos_token_id": tok.id("<s>"), "eos_token_id": [tok.id("</s>"), eos], "pad_token_id": tok.id("<unk>")}
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<image>"),
        extra_files={
            "configuration.py": remote_file("configuration_nemotron_h_nano_omni.py"),
            "generation_config.json": json.dumps(generation) + "\n",
        },
        # mlx-vlm's cast_predicate keeps these out of the load-time cast (the real checkpoint's Mamba A_log and
        # router correction bias are float32): stored so, they round-trip bit-exact
        float32_weights=("A_log", "e_score_correction_bias"),
        trust_remote_code=True,
    )
