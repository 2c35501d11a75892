"""Molmo twin (allenai/Molmo-7B-D layout: CLIP-style ViT with two tapped layers, attention pooling, OLMo-style
qwen2 text with an additional vocabulary). Config via shipped remote code (config_molmo.py), like the real ones."""

from __future__ import annotations

from dataclasses import replace

from agent.twins.common import (
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = ("<|endoftext|>", "<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>")


def molmo(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|endoftext|>", pad="<|endoftext|>")
    image_size, patch, margin = 64, 8, 2
    base = {
        "architectures": ["MolmoForCausalLM"],
        "model_type": "molmo",
        "auto_map": {"AutoConfig": "config_molmo.MolmoConfig"},
        # root keys as the real config.json has them (read by config_molmo.MolmoConfig)
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "num_hidden_layers": 2,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "eos_token_id": tok.id("<|endoftext|>"),
        "text_config": {
            "model_type": "molmo",
            "d_model": TINY_HIDDEN,
            "n_heads": TINY_HEADS,
            "n_kv_heads": TINY_KV_HEADS,
            "n_layers": 2,
            "mlp_hidden_size": 256,  # act_output_multiplier 0.5 -> a 128-wide SwiGLU
            "act_output_multiplier": 0.5,
            "vocab_size": vocab,
            "embedding_size": vocab,
            "additional_vocab_size": 128,
            "max_sequence_length": 4096,
            "max_position_embeddings": 4096,
            "layer_norm_eps": 1e-6,
            "rope_theta": 1000000.0,
            "weight_tying": False,
        },
        "vision_config": {
            "model_type": "molmo",
            "image_default_input_size": [image_size, image_size],
            "image_patch_size": patch,
            "image_pos_patch_size": patch,
            "hidden_size": 128,  # the image projector's hidden width
            "d_model": TINY_HIDDEN,
            "image_emb_dim": VISION_HIDDEN,
            "image_num_heads": VISION_HEADS,
            "image_num_key_value_heads": VISION_HEADS,
            "image_num_layers": 2,
            "image_head_dim": VISION_HIDDEN // VISION_HEADS,
            "image_mlp_dim": VISION_FFN,
            "image_num_pos": (image_size // patch) ** 2 + 1,
            "vit_layers": [-1, -2],  # two tapped layers, concatenated, as in Molmo's [-2, -9]
            "image_pooling_2d": "attention-meanq",
            "image_padding_embed": "pad_and_partial_pad",
            "image_pooling_h": 2,
            "image_pooling_w": 2,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    side = vision["image_default_input_size"][0] // vision["image_patch_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "MolmoImageProcessor",
            "processor_class": "MolmoProcessor",
            "max_crops": 2,
            "overlap_margins": [margin, margin],
            "base_image_input_size": vision["image_default_input_size"],
            "image_patch_size": vision["image_patch_size"],
            "image_token_length_w": (side + 1) // 2,
            "image_token_length_h": (side + 1) // 2,
            "image_padding_mask": True,
            "do_normalize": True,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=replace(tok, vocab_size=vocab_of(cfg)),  # the additional vocabulary too
        preprocessor_config=preprocessor,
        extra_files={"config_molmo.py": remote_file("config_molmo.py")},
        trust_remote_code=True,
    )
