"""DRAFT, not registered (see coverage.NOT_YET_BUILT["phi4_siglip"]): its check did not finish in 10 minutes.

Phi-4 SigLIP twin (Phi-4-reasoning-vision layout: SigLIP2 NaFlex tower + 2-layer GELU MLP projector + Phi-4 text,
text keys at the root, `<image>` spliced in as IMAGE_TOKEN_INDEX -200); mlx-vlm's Phi4SigLipProcessor builds HF's
Siglip2ImageProcessor from config.json (`mm_vision_tower` containing "naflex", min/max_num_patches)."""

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
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_sep|>", "<|im_end|>", "<|dummy_0|>")


def phi4_siglip(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|im_end|>", pad="<|dummy_0|>")
    patches = 16
    base = {
        "architectures": ["Phi4ForCausalLMV"],
        "model_type": "phi4-siglip",
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "vocab_size": vocab,
        "max_position_embeddings": 8192,
        "original_max_position_embeddings": 8192,
        "mm_hidden_size": VISION_HIDDEN,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_tower": "google/siglip2-so400m-patch16-naflex",
        "mm_vision_select_layer": -2,
        "min_num_patches": 4,
        "max_num_patches": patches,
        "eos_token_id": tok.id("<|im_end|>"),
        "pad_token_id": tok.id("<|dummy_0|>"),
        "tie_word_embeddings": False,
        "vision_config": {
            "model_type": "siglip2_vision_model",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 2,  # mm_vision_select_layer -2
            "num_attention_heads": VISION_HEADS,
            "num_channels": 3,
            "patch_size": 16,
            "num_patches": patches,
            "layer_norm_eps": 1e-6,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        chat_template=chat_template("<image>\n", end="<|im_end|>", role_end="<|im_sep|>"),
        # transformers has no config class for phi4-siglip (the real checkpoint ships remote code mlx-vlm never uses)
        lint_config=False,
    )
