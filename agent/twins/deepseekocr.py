"""DeepSeek-OCR and DeepSeek-OCR 2 twins (mlx-community/DeepSeek-OCR layout: model_type deepseekocr / deepseekocr_2,
config via remote code modeling_deepseekocr*.py; a SAM ViT-B encoder, DeepSeek-V2 MoE text with Llama attention
(qk_nope_head_dim 0) and its first layer dense; 2D tile tags). OCR 1: the SAM output (16x16x1024) replaces the patch
embeddings of a CLIP-L-style tower, both concatenated (2048) into a linear projector, plus image newlines and a view
separator. OCR 2 (DeepEncoder V2): the SAM output (896 channels) runs through a Qwen2 decoder used as an encoder with
256 learned queries, then a linear projector (896 in), plus a view separator.

Heavy, not tiny: mlx-vlm's Models build the SAM encoder from a fresh SAMViTConfig() (768 wide, 12 layers, 1024 px),
never from config.json, and both processors pad every image to a hardcoded 1024 px global view. OCR 1's CLIP tower
must then be 1024 wide and only its depth and FFN shrink (`layers`, `intermediate_size`, mlx-vlm's keys; the
checkpoints' `width` dict is kept, mlx-vlm ignores it). OCR 2's VisionConfig.from_dict reads only the Qwen2 dim
(which must be 896) and hardcodes 24 layers / 14 heads / FFN 4864, so that tower is real size (~360M parameters).
The processors put id 0 in front of every prompt as BOS (hardcoded), so `<｜begin▁of▁sentence｜>` is special id 0.
bf16 MoE (SwitchGLU -> gather_mm) fails on mlx's CPU backend; the -q4 variant runs there. Both are registry.HEAVY;
OCR 2's processor also tiles every image into up to 6 local 768 px crops besides the 1024 px global view (the check
image, 320 x 240, makes 3 x 2 crops: 1131 prompt tokens), each through the SAM and the 24-layer Qwen2 encoder.
"""

from __future__ import annotations

from agent.twins.common import TINY_FFN, TINY_HEADS, TINY_HIDDEN, TINY_LAYERS, deep_merge, vocab_of
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

# what mlx-vlm's deepseekocr Model hardcodes (SAMViTConfig defaults); recorded in the config as the checkpoints do
SAM_VIT_B = {
    "downsample_channels": [512, 1024],
    "global_attn_indexes": [2, 5, 8, 11],
    "heads": 12,
    "layers": 12,
    "width": 768,
}
CLIP_WIDTH = 1024  # = SAM net_3 output channels: the SAM features are the CLIP tower's patch embeddings


CLIP_TOWER = {  # OCR 1's CLIP-L-style tower, 2 layers instead of 24 (mlx-vlm's keys; `width` as the checkpoints)
    "model_name": "deeplip_b_l",
    "layers": 2,
    "hidden_size": CLIP_WIDTH,
    "intermediate_size": TINY_FFN,
    "num_attention_heads": 4,
    "patch_size": 14,
    "width": {
        "clip-l-14-224": {"heads": 4, "image_size": 224, "layers": 2, "patch_size": 14, "width": CLIP_WIDTH},
        "sam_vit_b": SAM_VIT_B,
    },
}
# OCR 2's DeepEncoder V2: mlx-vlm reads only the Qwen2 encoder's dim (896 = SAM net_3 output, hardcoded for OCR 2)
# and hardcodes its 24 layers, 14 heads and 4864 FFN
QWEN2_TOWER = {"model_name": "deepencoderv2", "width": {"sam_vit_b": SAM_VIT_B, "qwen2-0-5b": {"dim": 896}}}
OCR2_WIDTH = 896


def deepseekocr(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    return _deepseek_ocr("deepseekocr", CLIP_TOWER, 2 * CLIP_WIDTH, "modeling_deepseekocr.DeepseekOCR", over, pre)


def deepseekocr_2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    return _deepseek_ocr("deepseekocr_2", QWEN2_TOWER, OCR2_WIDTH, "modeling_deepseekocr2.DeepseekOCR2", over, pre)


def _deepseek_ocr(model_type: str, tower: dict, proj_in: int, remote: str, over: dict | None, pre: dict | None):
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<｜begin▁of▁sentence｜>",
        eos="<｜end▁of▁sentence｜>",
        pad="<｜▁pad▁｜>",
    )
    language = {
        "architectures": ["DeepseekV2ForCausalLM"],
        "model_type": "deepseek_v2",
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "moe_intermediate_size": 32,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_HEADS,
        "n_shared_experts": 1,
        "n_routed_experts": 4,
        "num_experts_per_tok": 2,
        "first_k_dense_replace": 1,  # layer 0 dense, layer 1 MoE, as the checkpoints
        "kv_lora_rank": None,
        "q_lora_rank": None,
        "qk_nope_head_dim": 0,  # no MLA: mlx-vlm picks LlamaAttention
        "qk_rope_head_dim": 0,
        "v_head_dim": 0,
        "use_mla": False,
        "topk_method": "greedy",
        "n_group": 1,
        "topk_group": 1,
        "lm_head": True,
        "rm_head": False,
        "max_position_embeddings": 8192,
        "bos_token_id": tok.id("<｜begin▁of▁sentence｜>"),
        "eos_token_id": tok.id("<｜end▁of▁sentence｜>"),
    }
    base = {
        "architectures": [remote.split(".")[1] + "ForCausalLM"],
        "model_type": model_type,
        "auto_map": {"AutoConfig": remote + "Config", "AutoModel": remote + "ForCausalLM"},
        "candidate_resolutions": [[1024, 1024]],
        "global_view_pos": "head",
        "tile_tag": "2D",
        "bos_token_id": tok.id("<｜begin▁of▁sentence｜>"),
        "eos_token_id": tok.id("<｜end▁of▁sentence｜>"),
        "vocab_size": vocab,
        "language_config": language,
        # the checkpoints repeat the text keys at the root
        **{k: language[k] for k in ("hidden_size", "num_hidden_layers", "n_routed_experts", "first_k_dense_replace")},
        "projector_config": {
            "model_type": "mlp_projector",
            "projector_type": "linear",
            "input_dim": proj_in,
            "n_embed": TINY_HIDDEN,
        },
        "vision_config": {"model_type": "vision", "image_size": 1024, "mlp_ratio": 3.7362, **tower},
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config=deep_merge(
            {
                "processor_class": "DeepseekVLV2Processor",
                "candidate_resolutions": cfg["candidate_resolutions"],
                "patch_size": 16,
                "downsample_ratio": 4,
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
                "normalize": True,
                "image_token": "<image>",
                "pad_token": "<｜▁pad▁｜>",
                "add_special_token": False,
                "sft_format": "deepseek",
                "mask_prompt": False,
                "ignore_id": -100,
            },
            pre,
        ),
        extra_files={f"{remote.split('.')[0]}.py": remote_file(f"{remote.split('.')[0]}.py")},
        trust_remote_code=True,
    )
