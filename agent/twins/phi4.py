"""Phi-4 SigLIP twin (Phi-4-reasoning-vision layout: SigLIP2 NaFlex tower + 2-layer GELU MLP projector + Phi-4 text,
text keys at the root, `<image>` spliced in as IMAGE_TOKEN_INDEX -200); mlx-vlm's Phi4SigLipProcessor builds HF's
Siglip2ImageProcessor from config.json (`mm_vision_tower` containing "naflex", min/max_num_patches).

The text dims are written twice, at the root (as the real checkpoint has them) and under `text_config`: mlx-vlm 0.7.10's
ModelConfig.from_dict merges the root keys into text_config, but load_model then seeds config["text_config"] = {} and
update_module_configs rebuilds TextConfig from that empty dict, so without `text_config` every phi4-siglip folder gets
the real Phi-4 text model (TextConfig defaults: 5120 wide, 40 layers, 100,352 vocab: 14.69B parameters) whatever its
config.json says. Harmless for the real checkpoint (its dims are the defaults); it is why the first draft of this
twin never finished its check (a 14B random-weight build, 5 GB RSS after 10 min).

Without torch the processor does not load: Phi4SigLipProcessor imports transformers' Siglip2ImageProcessor, the
torchvision backend in transformers 5.x; mlx-vlm's AutoProcessor patch swallows the error and falls back to the bare
tokenizer, so generate runs text-only and the image is silently dropped (registry.IMAGE_DROPPED). With transformers'
Siglip2ImageProcessorPil in its place, this twin takes 16 NaFlex patches (a 3 x 4 grid for a 320 x 240 image)
through the tower and projector and generates (checked by hand, not by the suite)."""

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

# the root keys mlx-vlm's phi4_siglip ModelConfig.from_dict merges into text_config (its _TEXT_FIELDS)
TEXT_KEYS = (
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "rms_norm_eps",
    "rope_theta",
)
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
    # the same text dims under text_config, which update_module_configs reads (see the module docstring)
    cfg["text_config"] = {k: cfg[k] for k in TEXT_KEYS if k in cfg} | cfg.get("text_config", {})
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        chat_template=chat_template("<image>\n", end="<|im_end|>", role_end="<|im_sep|>"),
        # transformers has no config class for phi4-siglip (the real checkpoint ships remote code mlx-vlm never uses)
        lint_config=False,
    )
