"""Youtu-VL twin (tencent/Youtu-VL-4B-Instruct layout as mlx-vlm reads it: a SigLIP2 NaFlex-style tower with 2D
vision RoPE, windowed attention (full attention in `fullatt_block_indexes`) and a 2x2 patch merger into the text width,
feeding a Youtu-LLM (DeepSeek-V3-style MLA, dense) text model whose keys live at the config root).

Like the real checkpoints, config, processor and image processor come from shipped remote code; neither mlx-vlm
0.7.10 nor transformers has a processor for youtu_vl, so agent/twins/remote_code/ holds minimal torch-free stand-ins:
configuration_youtu_vl.py, processing_youtu_vl.py (YoutuVLProcessor: `<|image_pad|>` expanded to one token per 2x2
patch block) and image_processing_siglip2_fast.py (Siglip2ImageProcessorFast: edges rounded up to 32 px, at most
36864 patches as the processor asks, merge-block-major channel-last patch rows + spatial_shapes). Tiny: the real
16 px patches and 256 px attention windows (8 x 8 merged tokens), 4 tower layers of which layers 1 and 3 attend
fully, hidden 32 / 64. The chat template is ChatML-shaped around the real vision tokens (the checkpoint's own role
markers are not known offline; mlx-vlm sends list content with the image first)."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
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
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)


def youtu_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<|begin_of_text|>",
        eos="<|im_end|>",
        pad="<|end_of_text|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
    )
    patch, merge = 16, 2
    base = {
        "architectures": ["YoutuVLForConditionalGeneration"],
        "model_type": "youtu_vl",
        "auto_map": {"AutoConfig": "configuration_youtu_vl.YoutuVLConfig"},
        # the MLA text model, at the root as in the real config.json
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_HEADS,
        "kv_lora_rank": 32,
        "q_lora_rank": 48,
        "qk_rope_head_dim": 8,
        "qk_nope_head_dim": 16,
        "v_head_dim": 16,
        "rms_norm_eps": 1e-6,
        "max_position_embeddings": 32768,
        "rope_theta": 500000.0,
        "rope_interleave": True,
        "attention_bias": False,
        "mlp_bias": False,
        "hidden_act": "silu",
        "tie_word_embeddings": True,
        "bos_token_id": tok.id("<|begin_of_text|>"),
        "eos_token_id": tok.id("<|im_end|>"),
        "image_token_id": tok.id("<|image_pad|>"),
        "video_token_id": tok.id("<|video_pad|>"),
        "vision_start_token_id": tok.id("<|vision_start|>"),
        "vision_end_token_id": tok.id("<|vision_end|>"),
        "vision_config": {
            "model_type": "siglip2_vision_model",
            "hidden_size": VISION_HIDDEN,
            "out_hidden_size": TINY_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 4,
            "num_attention_heads": VISION_HEADS,
            "num_channels": 3,
            "num_patches": 4096,
            "patch_size": patch,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
            "attention_dropout": 0.0,
            "spatial_merge_size": merge,
            "window_size": 256,
            "fullatt_block_indexes": [1, 3],
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    preprocessor = deep_merge(
        {
            "auto_map": {
                "AutoImageProcessor": "image_processing_siglip2_fast.Siglip2ImageProcessorFast",
                "AutoProcessor": "processing_youtu_vl.YoutuVLProcessor",
            },
            "image_processor_type": "Siglip2ImageProcessorFast",
            "processor_class": "YoutuVLProcessor",
            "patch_size": vision["patch_size"],
            "merge_size": vision["spatial_merge_size"],
            "max_num_patches": 256,
            "do_resize": True,
            "resample": 2,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<|vision_start|><|image_pad|><|vision_end|>"),
        extra_files={
            "configuration_youtu_vl.py": remote_file("configuration_youtu_vl.py"),
            "processing_youtu_vl.py": remote_file("processing_youtu_vl.py"),
            "image_processing_siglip2_fast.py": remote_file("image_processing_siglip2_fast.py"),
        },
        trust_remote_code=True,
    )
