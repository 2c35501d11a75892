"""Llama 4 twin (Scout / Maverick layout): ViT with 2D rope + pixel-shuffle MLP, MoE text (every layer sparse, one
routed expert plus a shared one, chunked attention); mlx-vlm's numpy Llama4Processor.

Llama4Processor.from_pretrained keeps its defaults patch_size 14 and pixel_shuffle_ratio 0.5 (it reads only `size` and
`max_patches` from preprocessor_config.json), so the twin keeps those two real values and shrinks the rest."""

from __future__ import annotations

from agent.twins.common import TINY_FFN, TINY_HEAD_DIM, TINY_HEADS, TINY_HIDDEN, TINY_KV_HEADS, deep_merge, vocab_of
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|finetune_right_pad_id|>",
    "<|header_start|>",
    "<|header_end|>",
    "<|eot|>",
    "<|image_start|>",
    "<|image_end|>",
    "<|image|>",
    "<|patch|>",
    "<|tile_x_separator|>",
    "<|tile_y_separator|>",
)


def llama4(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<|begin_of_text|>",
        eos="<|eot|>",
        pad="<|finetune_right_pad_id|>",
        extra_special_tokens={"image_token": "<|image|>"},
    )
    eos = [tok.id("<|end_of_text|>"), tok.id("<|eot|>")]
    vision_hidden, ratio, size = 32, 0.5, 56
    base = {
        "architectures": ["Llama4ForConditionalGeneration"],
        "model_type": "llama4",
        "image_token_index": tok.id("<|patch|>"),
        "boi_token_index": tok.id("<|image_start|>"),
        "eoi_token_index": tok.id("<|image_end|>"),
        "eos_token_id": eos,
        "text_config": {
            "model_type": "llama4_text",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": 32,  # per expert
            "intermediate_size_mlp": TINY_FFN,
            "num_hidden_layers": 2,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "num_local_experts": 4,
            "num_experts_per_tok": 1,
            "interleave_moe_layer_step": 1,
            "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0,
            "vocab_size": vocab,
            "max_position_embeddings": 8192,
            "attention_chunk_size": 64,
            "use_qk_norm": True,
            "bos_token_id": tok.id("<|begin_of_text|>"),
            "eos_token_id": eos,
            "pad_token_id": tok.id("<|finetune_right_pad_id|>"),
            "tie_word_embeddings": False,
        },
        "vision_config": {
            "model_type": "llama4_vision_model",
            "hidden_size": vision_hidden,
            # the pixel shuffle turns hidden into hidden / ratio^2: the vision MLP width must equal it
            "intermediate_size": int(vision_hidden / ratio**2),
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "image_size": size,
            "patch_size": 14,
            "num_channels": 3,
            "norm_eps": 1e-5,
            "initializer_range": 0.02,
            "pixel_shuffle_ratio": ratio,
            "projector_dropout": 0.0,
            "projector_input_dim": 64,
            "projector_output_dim": 64,
            "vision_output_dim": 64,
            "rope_theta": 10000,
            "vision_feature_layer": -1,
            "vision_feature_select_strategy": "default",
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    preprocessor = {
        "image_processor_type": "Llama4ImageProcessor",
        "processor_class": "Llama4Processor",
        "size": {"height": vision["image_size"], "width": vision["image_size"]},
        "max_patches": 1,  # one tile: no global-plus-tiles split for a tiny image
        "patch_size": vision["patch_size"],
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, pre),
        chat_template=chat_template(
            "<|image|>", bos="<|begin_of_text|>", start="<|header_start|>", end="<|eot|>", role_end="<|header_end|>\n\n"
        ),
    )
