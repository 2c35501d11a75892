"""InternVL twin (InternVL2.5 / InternVL3 `internvl_chat` layout: InternViT + pixel-shuffle MLP + qwen2 text).

Like the real checkpoints, the config resolves through shipped remote code (configuration_internvl_chat.py with
auto_map), so loading needs trust_remote_code; mlx_vlm's AutoProcessor patch sets it for internvl_chat."""

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
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<img>",
    "</img>",
    "<IMG_CONTEXT>",
    "<quad>",
    "</quad>",
    "<ref>",
    "</ref>",
    "<box>",
    "</box>",
)


def internvl_chat(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|im_end|>", pad="<|endoftext|>")
    base = {
        "architectures": ["InternVLChatModel"],
        "model_type": "internvl_chat",
        "auto_map": {
            "AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
        },
        "image_token_index": tok.id("<IMG_CONTEXT>"),
        "downsample_ratio": 0.5,
        "force_image_size": 32,
        "max_dynamic_patch": 2,
        "min_dynamic_patch": 1,
        "use_thumbnail": True,
        "template": "internvl2_5",
        "eos_token_id": tok.id("<|im_end|>"),
        "vision_config": {
            "model_type": "intern_vit_6b",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_attention_heads": VISION_HEADS,
            "num_hidden_layers": 1,
            "image_size": 32,
            "patch_size": 8,
            "num_channels": 3,
            "qkv_bias": True,
            "qk_normalization": False,
            "norm_type": "layer_norm",
            "layer_norm_eps": 1e-6,
        },
        "llm_config": {
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": "qwen2",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0,
            "max_position_embeddings": 8192,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
            "attention_bias": True,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        chat_template=chat_template("<image>\n"),
        extra_files={"configuration_internvl_chat.py": remote_file("configuration_internvl_chat.py")},
        trust_remote_code=True,
    )


def internvl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """InternVL3.5 in the HF-native layout (model_type internvl: InternViT + pixel-shuffle MLP + qwen3 text, no remote
    code); mlx-vlm's InternVLProcessor reads image_seq_length from processor_config.json."""
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|im_end|>", pad="<|endoftext|>")
    size, patch, ratio = 32, 8, 0.5
    base = {
        "architectures": ["InternVLForConditionalGeneration"],
        "model_type": "internvl",
        "image_token_id": tok.id("<IMG_CONTEXT>"),
        "downsample_ratio": ratio,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "default",
        "max_dynamic_patch": 2,
        "min_dynamic_patch": 1,
        "use_thumbnail": True,
        "eos_token_id": tok.id("<|im_end|>"),
        "vision_config": {
            "model_type": "internvl_vision",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_attention_heads": VISION_HEADS,
            "num_hidden_layers": 1,
            "image_size": [size, size],
            "patch_size": [patch, patch],
            "num_channels": 3,
            "attention_bias": True,
            "use_qk_norm": False,
            "norm_type": "layer_norm",
            "layer_norm_eps": 1e-6,
            "layer_scale_init_value": 0.1,
        },
        "text_config": {
            "model_type": "qwen3",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HIDDEN // TINY_HEADS,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0,
            "max_position_embeddings": 8192,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    side = vision["image_size"][0] // vision["patch_size"][0]
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config={
            "processor_class": "InternVLProcessor",
            "image_seq_length": int(side * side * cfg["downsample_ratio"] ** 2),
        },
        chat_template=chat_template("<image>\n"),
    )
