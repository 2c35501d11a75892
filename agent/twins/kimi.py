"""Kimi-VL twin (Kimi-VL-A3B layout: MoonViT + patch-merge projector + DeepSeek-V3 MLA/MoE text).

The config resolves through shipped remote code (configuration_kimi_vl.py + auto_map), as for the real checkpoints;
mlx-vlm brings its own KimiVLProcessor, so the checkpoint's processing_kimi_vl.py is not needed (the broken twin
`remote_code_import` ships one that fails the way the seed report's Kimi-VL models did)."""

from __future__ import annotations

from agent.twins.common import TINY_HEADS, TINY_HIDDEN, VISION_FFN, VISION_HEADS, VISION_HIDDEN, deep_merge, vocab_of
from agent.twins.files import TwinFiles, chat_template
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "[BOS]",
    "[EOS]",
    "[PAD]",
    "[UNK]",
    "<|im_end|>",
    "<|im_user|>",
    "<|im_assistant|>",
    "<|im_system|>",
    "<|im_middle|>",
    "<|media_start|>",
    "<|media_content|>",
    "<|media_end|>",
    "<|media_pad|>",
)


def kimi_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, bos="[BOS]", eos="[EOS]", pad="[PAD]", unk="[UNK]")
    base = {
        "architectures": ["KimiVLForConditionalGeneration"],
        "model_type": "kimi_vl",
        "auto_map": {"AutoConfig": "configuration_kimi_vl.KimiVLConfig"},
        "media_placeholder_token_id": tok.id("<|media_pad|>"),
        "pad_token_id": tok.id("[PAD]"),
        "eos_token_id": [tok.id("[EOS]"), tok.id("<|im_end|>")],
        "vocab_size": vocab,
        "text_config": {
            "model_type": "deepseek_v3",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": 128,
            "moe_intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_HEADS,
            "n_shared_experts": 1,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "routed_scaling_factor": 2.446,
            "kv_lora_rank": 16,
            "q_lora_rank": None,
            "qk_rope_head_dim": 8,
            "qk_nope_head_dim": 8,
            "v_head_dim": 16,
            "topk_method": "noaux_tc",
            "scoring_func": "sigmoid",
            "norm_topk_prob": True,
            "n_group": 1,
            "topk_group": 1,
            "first_k_dense_replace": 1,  # layer 0 dense, layer 1 MoE: both code paths run
            "moe_layer_freq": 1,
            "max_position_embeddings": 8192,
            "rms_norm_eps": 1e-5,
            "rope_theta": 800000.0,
            "tie_word_embeddings": False,
            "bos_token_id": tok.id("[BOS]"),
            "eos_token_id": tok.id("[EOS]"),
            "pad_token_id": tok.id("[PAD]"),
        },
        "vision_config": {
            "model_type": "moonvit",
            "patch_size": 14,
            "init_pos_emb_height": 8,
            "init_pos_emb_width": 8,
            "num_attention_heads": VISION_HEADS,
            "num_hidden_layers": 1,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "merge_kernel_size": [2, 2],
            # mlx-vlm's MoonViT reads these names (real checkpoints omit them and match mlx-vlm's defaults)
            "embed_dim": VISION_HIDDEN,
            "num_heads": VISION_HEADS,
            "depth": 1,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        chat_template=chat_template(
            "<|media_start|>image<|media_content|><|media_pad|><|media_end|>",
            start="<|im_",
            end="<|im_end|>",
            role_end="|>",
        ).replace("<|im_{{ message['role'] }}|>", "<|im_{{ message['role'] }}|>{{ message['role'] }}<|im_middle|>"),
        extra_files={"configuration_kimi_vl.py": remote_file("configuration_kimi_vl.py")},
        trust_remote_code=True,
    )


def _media_proc(patch: int, merge_kernel: list, pre: dict | None) -> dict:
    """preprocessor_config.json's media_proc_cfg, which mlx-vlm's KimiK25Processor and KimiK3Processor read."""
    return deep_merge(
        {
            "media_proc_cfg": {
                "patch_size": patch,
                "merge_kernel_size": merge_kernel,
                "in_patch_limit": 16,  # 16 patches of 14 px: 4 image tokens after the 2x2 merge
                "patch_limit_on_one_side": 4,
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
            }
        },
        pre,
    )


def kimi_k25(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Kimi K2.5 / K2.6 layout: the kimi_vl twin's MoonViT and DeepSeek-V3 style MoE text, as an HF-native config (no
    remote code); mlx-vlm's KimiK25Processor reads media_proc_cfg from preprocessor_config.json."""
    files = kimi_vl(over, pre)
    cfg = files.config
    cfg.pop("auto_map")
    cfg["architectures"] = ["KimiK25ForConditionalGeneration"]
    cfg["model_type"] = "kimi_k25"
    cfg["image_token_id"] = cfg["media_placeholder_token_id"]
    cfg["projection_hidden_size"] = cfg["vision_config"]["hidden_size"]
    cfg["tie_word_embeddings"] = False
    vision = cfg["vision_config"]
    # "moonvit", as mlx-vlm's VisionModel accepts only qwen2_vl / moonvit: the "kimi_k25_vision" that transformers'
    # own Kimi_K25Config writes is rejected ("Unsupported model type: kimi_k25_vision", a finding, not hidden here:
    # this twin follows the hub checkpoints' layout)
    vision.update({"model_type": "moonvit", "pos_emb_height": 8, "pos_emb_width": 8})
    patch = vision["patch_size"]
    files.preprocessor_config = _media_proc(patch, vision["merge_kernel_size"], pre)
    files.extra_files = {}
    files.trust_remote_code = False
    return files


# Kimi K3's XTML chat markers (mlx-vlm's encoding_k3 renders the chat in Python, no chat template) and media tokens
K3_SPECIALS = (
    "[BOS]",
    "[EOS]",
    "[PAD]",
    "[UNK]",
    "<|open|>",
    "<|close|>",
    "<|sep|>",
    "<|end_of_msg|>",
    "<|media_begin|>",
    "<|media_content|>",
    "<|media_end|>",
    "<|media_pad|>",
)


def kimi_k3(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Kimi K3 layout: MoonViT-3D (2D RoPE ViT, temporal-pooled 2x2 patch merge, MLP projector with a post norm)
    feeding kimi_linear text: KDA gated-delta linear-attention layers (`linear_attn_config.kda_layers`, 1-based)
    and NoPE MLA layers, attention residuals (`attn_res_block_size`), a latent sigmoid-routed MoE
    (`routed_expert_hidden_size`). Text sizes are derived (agent.twins.derive) from mlx-vlm's own TextConfig; the
    VisionConfig's `vt_` fields are nested, which derive does not shrink, so they are written here.

    transformers 5.24 has no kimi_k3 config class and mlx-vlm never asks it for one (KimiK3Processor loads
    tokenizer.json with PreTrainedTokenizerFast directly and renders the chat with encoding_k3), so the config is
    not linted. Layer 0 is KDA + dense MLP, layer 1 MLA + MoE. bf16 MoE fails on mlx's CPU backend (GatherMM
    float32 only); the -q4 twin fails on every backend through mlx-vlm (registry.EXPECTED_QUANTIZED_FAILURES: its
    Model does not forward the quant_predicate that keeps `res_proj` unquantized). Both are kept, not patched: a
    float32 build of this twin, or a q4 one without attention residuals, generates with an image (checked by hand)."""
    from agent.twins.derive import derive

    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=K3_SPECIALS, bos="[BOS]", eos="[EOS]", pad="[PAD]", unk="[UNK]")
    eos = [tok.id("[EOS]"), tok.id("<|end_of_msg|>")]
    specifics = {
        "architectures": ["KimiK3ForConditionalGeneration"],
        "media_placeholder_token_id": tok.id("<|media_pad|>"),
        "eos_token_id": eos,
        "pad_token_id": tok.id("[PAD]"),
        "text_config": {
            "vocab_size": vocab,
            # kda_layers counts from 1: layer 0 is KDA linear attention, layer 1 MLA
            "linear_attn_config": {
                "kda_layers": [1],
                "num_heads": TINY_HEADS,
                "head_dim": 16,
                "short_conv_kernel_size": 4,
            },
            "q_lora_rank": 32,
            "kv_lora_rank": 16,
            "qk_nope_head_dim": 16,
            "qk_rope_head_dim": 0,  # NoPE MLA (mla_use_nope)
            "v_head_dim": 16,
            "num_experts": 4,
            "num_experts_per_token": 2,
            "num_shared_experts": 1,
            "moe_intermediate_size": 32,
            "routed_expert_hidden_size": 32,  # latent MoE: experts run at 32 wide between down/up projections
            "latent_moe_use_norm": True,
            "first_k_dense_replace": 1,
            "attn_res_block_size": 1,
            "bos_token_id": tok.id("[BOS]"),
            "eos_token_id": eos,
        },
        "vision_config": {
            "vt_num_attention_heads": VISION_HEADS,
            "vt_num_hidden_layers": 1,
            "vt_hidden_size": VISION_HIDDEN,
            "vt_intermediate_size": VISION_FFN,
            "qkv_hidden_size": VISION_HIDDEN,
            "mm_hidden_size": VISION_HIDDEN,
            "init_pos_emb_height": 8,
            "init_pos_emb_width": 8,
            "merge_kernel_size": [2, 2],
        },
    }
    cfg = derive("kimi_k3", deep_merge(specifics, over))
    vision = cfg["vision_config"]
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        # mlx-vlm's KimiK3Processor reads media_proc_cfg from preprocessor_config.json, as kimi_k25's
        preprocessor_config=_media_proc(vision["patch_size"], vision["merge_kernel_size"], pre),
        lint_config=False,
    )
