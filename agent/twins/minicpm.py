"""MiniCPM-V 4.6 twin (openbmb/MiniCPM-V-4.6 layout: a SigLIP ViT with bucketed 2D position embeddings, a 2x2
window-attention `vit_merger` inserted after layer `insert_layer_id` and a 2x2 MLP `merger` (16x token reduction),
feeding a Qwen3.5 hybrid text model (gated-delta linear attention with a full-attention layer every
`full_attention_interval` layers); nested text_config / vision_config, parsed by transformers' own
MiniCPMV4_6Config). mlx-vlm's MiniCPMVProcessor reads preprocessor_config.json: each image (and slice) becomes
`<image>` + `<unk>` x image_feature_size + `</image>` and the model fills the spans the processor reports as
image_bound. Tiny: 112 px slices (8 x 8 patches, 2 x 2 = 4 tokens after the 16x reduction), one slice at most."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
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

# the MiniCPM-V / -o tokenizers' chat and image specials, in their id order (minicpmo appends its audio/TTS ones)
IMAGE_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<unk>",
    "<image>",
    "</image>",
    "<slice>",
    "</slice>",
    "<image_id>",
    "</image_id>",
)
SPECIALS = (*IMAGE_SPECIALS, "<|image_pad|>", "<|video_pad|>")


def minicpmv4_6(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|im_end|>", pad="<|endoftext|>", unk="<unk>")
    image_size, patch = 112, 14
    base = {
        "architectures": ["MiniCPMV4_6ForConditionalGeneration"],
        "model_type": "minicpmv4_6",
        "image_size": image_size,
        "patch_size": patch,
        "query_num": 4,
        "insert_layer_id": 0,  # the real model inserts the vit_merger after layer 6 of 27
        "downsample_mode": "16x",
        "merge_kernel_size": [2, 2],
        "merger_times": 1,
        "slice_mode": True,
        "slice_config": {
            "model_type": "minicpmv4_6",
            "patch_size": patch,
            "max_slice_nums": 1,
            "scale_resolution": image_size,
        },
        "image_token_id": tok.id("<|image_pad|>"),
        "video_token_id": tok.id("<|video_pad|>"),
        "tie_word_embeddings": False,
        "eos_token_id": [tok.id("<|im_end|>")],
        "text_config": {
            "model_type": "qwen3_5_text",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 32,
            "linear_num_value_heads": 4,
            "linear_num_key_heads": 2,
            "linear_key_head_dim": 16,
            "linear_value_head_dim": 16,
            "linear_conv_kernel_dim": 4,
            "full_attention_interval": 2,  # layer 0 linear, layer 1 full
            "hidden_act": "silu",
            "rms_norm_eps": 1e-6,
            "max_position_embeddings": 32768,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
            "attention_bias": False,
            # head_dim 32 x partial_rotary_factor 0.25 = 8 rotary dims: the mrope sections sum to 4
            "rope_parameters": {
                "rope_type": "default",
                "mrope_section": [2, 1, 1],
                "rope_theta": 10000000.0,
                "partial_rotary_factor": 0.25,
                "mrope_interleaved": True,
            },
            "eos_token_id": tok.id("<|im_end|>"),
        },
        "vision_config": {
            "model_type": "minicpmv4_6_vision",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "num_channels": 3,
            "image_size": image_size,
            "patch_size": patch,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
        },
    }
    cfg = deep_merge(base, over)
    tokens = (cfg["image_size"] // cfg["patch_size"] // 4) ** 2  # 16x: two 2x2 merges
    preprocessor = deep_merge(
        {
            "image_processor_type": "MiniCPMVImageProcessor",
            "processor_class": "MiniCPMVProcessor",
            "max_slice_nums": 1,
            "patch_size": cfg["patch_size"],
            "scale_resolution": cfg["image_size"],
            "image_feature_size": tokens,
            "slice_mode": True,
            "use_image_id": True,
            "downsample_mode": "16x",
            "norm_mean": [0.5, 0.5, 0.5],
            "norm_std": [0.5, 0.5, 0.5],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<image>./</image>"),
    )
