"""Mllama twin (Llama-3.2-Vision layout: tiled ViT with gated global layers + cross-attention layers in llama)."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
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
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|image|>",
    "<|python_tag|>",
    "<|finetune_right_pad_id|>",
)
ASPECT_RATIOS = [[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1], [4, 1]]


def mllama(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<|begin_of_text|>",
        eos="<|eot_id|>",
        pad="<|finetune_right_pad_id|>",
        extra_special_tokens={"image_token": "<|image|>"},
    )
    indices = [0, 1]
    base = {
        "architectures": ["MllamaForConditionalGeneration"],
        "model_type": "mllama",
        "image_token_index": tok.id("<|image|>"),
        "text_config": {
            "model_type": "mllama_text_model",
            "vocab_size": vocab,  # the embedding has vocab_size + 8 rows, as in Llama-3.2-Vision
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": 2,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "cross_attention_layers": [1],
            "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0,
            "max_position_embeddings": 8192,
            "hidden_act": "silu",
            "tie_word_embeddings": False,
            "bos_token_id": tok.id("<|begin_of_text|>"),
            "eos_token_id": tok.id("<|eot_id|>"),
            "pad_token_id": tok.id("<|finetune_right_pad_id|>"),
        },
        "vision_config": {
            "model_type": "mllama_vision_model",
            "image_size": 32,
            "patch_size": 8,
            "num_channels": 3,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 2,
            "num_global_layers": 1,
            "num_attention_heads": VISION_HEADS,
            "max_num_tiles": 4,
            "intermediate_layers_indices": indices,
            # the projector input: the last hidden state concatenated with each intermediate layer's
            "vision_output_dim": VISION_HIDDEN * (len(indices) + 1),
            "supported_aspect_ratios": ASPECT_RATIOS,
            "norm_eps": 1e-5,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "MllamaImageProcessor",
            "processor_class": "MllamaProcessor",
            "do_convert_rgb": True,
            "do_normalize": True,
            "do_pad": True,
            "do_rescale": True,
            "do_resize": True,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "max_image_tiles": vision["max_num_tiles"],
            "resample": 2,
            "rescale_factor": 1 / 255,
            "size": {"height": vision["image_size"], "width": vision["image_size"]},
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={"processor_class": "MllamaProcessor"},
        chat_template=chat_template(
            "<|image|>",
            bos="<|begin_of_text|>",
            start="<|start_header_id|>",
            end="<|eot_id|>",
            role_end="<|end_header_id|>\n\n",
        ),
    )
