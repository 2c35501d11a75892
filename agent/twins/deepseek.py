"""DeepSeek-VL2 twin (deepseek-ai/deepseek-vl2 layout: SigLIP tiles + 2x2 downsample MLP projector + DeepSeek-V2
MLA/MoE text, 2D tile tags with image newlines)."""

from __future__ import annotations

from agent.twins.common import TINY_HEADS, TINY_HIDDEN, VISION_HEADS, VISION_HIDDEN, deep_merge, vocab_of
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜▁pad▁｜>",
    "<image>",
    "<|ref|>",
    "<|/ref|>",
    "<|det|>",
    "<|/det|>",
    "<|grounding|>",
    "<|User|>",
    "<|Assistant|>",
)


def deepseek_vl_v2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<｜begin▁of▁sentence｜>",
        eos="<｜end▁of▁sentence｜>",
        pad="<｜▁pad▁｜>",
    )
    side, patch = 32, 8
    resolutions = [[side, side], [side, 2 * side], [2 * side, side], [2 * side, 2 * side]]
    base = {
        "architectures": ["DeepseekVLV2ForCausalLM"],
        "model_type": "deepseek_vl_v2",
        "auto_map": {"AutoConfig": "configuration_deepseek_vl_v2.DeepseekVLV2Config"},
        "image_token_index": tok.id("<image>"),
        "pad_id": tok.id("<｜▁pad▁｜>"),
        "eos_token_id": tok.id("<｜end▁of▁sentence｜>"),
        "tile_tag": "2D",
        "global_view_pos": "head",
        "candidate_resolutions": resolutions,
        "vocab_size": vocab,
        "language_config": {
            "model_type": "deepseek_v2",
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
            "routed_scaling_factor": 1.0,
            "kv_lora_rank": 16,
            "q_lora_rank": 32,
            "qk_rope_head_dim": 8,
            "qk_nope_head_dim": 8,
            "v_head_dim": 16,
            "topk_method": "greedy",
            "n_group": 1,
            "topk_group": 1,
            "first_k_dense_replace": 1,  # layer 0 dense, layer 1 MoE
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-6,
            "rope_theta": 10000.0,
            "bos_token_id": tok.id("<｜begin▁of▁sentence｜>"),
            "eos_token_id": tok.id("<｜end▁of▁sentence｜>"),
        },
        "vision_config": {
            "model_type": "vision",
            "layers": 1,
            "width": VISION_HIDDEN,
            "intermediate_size": 64,
            "mlp_ratio": 2.0,
            "num_attention_heads": VISION_HEADS,
            "image_size": side,
            "patch_size": patch,
            "layer_norm_eps": 1e-6,
        },
        "projector_config": {
            "projector_type": "downsample_mlp_gelu",
            "input_dim": VISION_HIDDEN,
            "n_embed": TINY_HIDDEN,
            "depth": 2,
            "mlp_ratio": 1,
            "downsample_ratio": 2,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config={
            "processor_class": "DeepseekVLV2Processor",
            "candidate_resolutions": cfg["candidate_resolutions"],
            "patch_size": cfg["vision_config"]["patch_size"],
            "downsample_ratio": cfg["projector_config"]["downsample_ratio"],
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
            "normalize": True,
            "image_token": "<image>",
            "pad_token": "<｜▁pad▁｜>",
            "add_special_token": False,
            "sft_format": "deepseek",
            "mask_prompt": True,
            "ignore_id": -100,
        },
        extra_files={"configuration_deepseek_vl_v2.py": remote_file("configuration_deepseek_vl_v2.py")},
        trust_remote_code=True,
    )
