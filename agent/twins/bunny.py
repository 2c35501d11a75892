"""Bunny / nanoLLaVA twin (qnguyen3/nanoLLaVA layout, model_type "llava-qwen2": SigLIP + 2-layer MLP projector +
qwen2 text, config via shipped remote code). mlx-vlm resizes images to 384 px with its own image processor and
asserts 729 image features, so the tiny vision tower still sees 27 x 27 patches. No processor class: the tokenizer is the processor."""

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

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def llava_bunny(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|im_end|>", pad="<|endoftext|>")
    base = {
        "architectures": ["LlavaQwen2ForCausalLM"],
        "model_type": "llava-qwen2",
        "auto_map": {"AutoConfig": "configuration_llava_qwen2.LlavaQwen2Config"},
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
        "mm_hidden_size": VISION_HIDDEN,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_tower": "google/siglip-so400m-patch14-384",
        "image_token_index": -200,  # LLaVA's IMAGE_TOKEN_INDEX: "<image>" is split out, never tokenized
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": tok.id("<|im_end|>"),
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "image_size": 384,
            "patch_size": 14,  # mlx-vlm asserts 729 image features: 384 px / 14 px patches = 27 x 27
            "num_channels": 3,
            "layer_norm_eps": 1e-6,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        chat_template=chat_template("<image>\n"),
        extra_files={"configuration_llava_qwen2.py": remote_file("configuration_llava_qwen2.py")},
        trust_remote_code=True,
    )
