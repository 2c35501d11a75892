"""Jina VLM twin (jinaai/jina-vlm layout as mlx-vlm reads it: a SigLIP-style ViT whose 4th- and 10th-from-last hidden
states are concatenated, a connector that pools 2x2 patch groups by cross-attention (mean query) and projects them
with a SwiGLU MLP, and a Qwen3-style text model with q/k norm and 128 extra embedding rows). A HEAVY twin.

The checkpoints declare model_type `jvlm`, which transformers lacks, so the config resolves through a shipped
configuration_jvlm.py stand-in (trust_remote_code); config.json keeps the real nested layout (block_config,
vl_connector_config). mlx-vlm's JinaVLMProcessor builds its ImageProcessor with defaults only (378 px crops of 14 px
patches, up to 12 crops + a global view) and hardcodes the image token ids 151665-151668, so the twin keeps the real
crop geometry (27 x 27 patches per crop, 196 tokens after pooling) and the real 151,936 + 128 vocab, with the Qwen
specials moved to their real ids (the dots_ocr approach).

Why heavy: mlx_vlm.utils.load_model rebuilds TextConfig / VisionConfig with their dataclass from_dict on the raw
text_config / vision_config dicts (update_module_configs), which reads only flat keys: the nested block_config /
vl_connector_config dims that ModelConfig.from_dict parsed are dropped and the real defaults are always built. Only
the flat keys shrink (text hidden_size / num_hidden_layers / vocab, vision hidden_size / output_size). So the text
keeps 16 x 128 attention (8 kv heads) and a 6144 FFN over a 64 hidden, and the tower keeps 27 layers of 16 x 72
attention and a 4304 FFN over a 32 hidden, plus the 6144-wide connector MLP; the nested values below state exactly
what is built. About 35M parameters (19.5M of them embeddings), 71 MB bf16, about a minute per image on 2 CPU cores
(two crops of 729 patches through the 27 layers)."""

from __future__ import annotations

from agent.twins.common import TINY_HIDDEN, TINY_LAYERS, VISION_HIDDEN, deep_merge
from agent.twins.dots import relocated_tokenizer_json
from agent.twins.files import TwinFiles, chat_template
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

VOCAB, ADDITIONAL = 151936, 128
# the real tokenizer's ids: Qwen's specials, the ids mlx-vlm's jina ImageProcessor hardcodes, and `<|image|>`
FIXED_IDS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<im_patch>": 151665,
    "<im_start>": 151666,
    "<im_end>": 151667,
    "<im_col>": 151668,
    "<|image|>": 151940,
}
SPECIALS = tuple(FIXED_IDS)
# what mlx-vlm 0.7.10 builds whatever the nested config says (its dataclass defaults, the real jina-vlm dims)
TEXT_HEADS, TEXT_KV_HEADS, TEXT_HEAD_DIM, TEXT_FFN = 16, 8, 128, 6144
VISION_LAYERS, VISION_REAL_HEADS, VISION_HEAD_DIM, VISION_REAL_FFN, CONNECTOR_FFN = 27, 16, 72, 4304, 6144


def jina_vlm(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    text_over = (over or {}).get("text_config", {})
    vocab = max(text_over.get("vocab_size", 0), VOCAB)
    tok = TokenizerSpec(
        vocab_size=vocab + ADDITIONAL,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>"},
    )
    base = {
        "architectures": ["JinaVLMForConditionalGeneration"],
        "model_type": "jvlm",
        "auto_map": {"AutoConfig": "configuration_jvlm.JinaVLMConfig"},
        "bos_token_id": FIXED_IDS["<|endoftext|>"],
        "eos_token_id": FIXED_IDS["<|endoftext|>"],
        "pad_token_id": FIXED_IDS["<|endoftext|>"],
        "image_token_index": FIXED_IDS["<|image|>"],
        "tie_word_embeddings": False,
        "text_config": {
            "model_type": "jvlm",
            "hidden_size": TINY_HIDDEN,
            "n_layers": TINY_LAYERS,
            "num_hidden_layers": TINY_LAYERS,
            "vocab_size": vocab,
            "embedding_size": vocab,
            "additional_vocab_size": ADDITIONAL,
            "max_sequence_length": 40960,
            "rope": True,
            "rope_theta": 1000000,
            "rope_scaling": None,
            "partial_rotary_factor": 1.0,
            "tie_word_embeddings": False,
            "block_config": {
                "attn_config": {
                    "n_heads": TEXT_HEADS,
                    "n_kv_heads": TEXT_KV_HEADS,
                    "head_dim": TEXT_HEAD_DIM,
                    "q_lnorm": True,
                    "k_lnorm": True,
                    "qkv_lnorm_on_heads": True,
                    "sliding_window": -1,
                    "lnorm_config": {"type": "rms", "eps": 1e-6, "bias": False, "with_affine": True},
                },
                "ffn_config": {"activation_type": "silu", "gated_activation": True, "size": TEXT_FFN},
                "lnorm_config": {"type": "rms", "eps": 1e-6, "bias": False, "with_affine": True},
            },
        },
        "vision_config": {
            "model_type": "jvlm",
            "hidden_size": VISION_HIDDEN,
            "n_layers": VISION_LAYERS,
            "input_size": [378, 378],
            "patch_size": 14,
            "n_channels": 3,
            "linear_patch_embedding": True,
            "patch_embedding_bias": True,
            "use_absolute_positional_embeddings": True,
            "positional_interpolation": "bicubic",
            "use_cls_token": False,
            "pre_lnorm": False,
            "post_lnorm": True,
            "vit_layers": [-4, -10],
            "output_size": TINY_HIDDEN,
            "block_config": {
                "attn_config": {
                    "n_heads": VISION_REAL_HEADS,
                    "n_kv_heads": None,
                    "head_dim": VISION_HEAD_DIM,
                    "q_bias": True,
                    "k_bias": True,
                    "v_bias": True,
                    "o_bias": True,
                    "qkv_lnorm_on_heads": False,
                    "lnorm_config": {"type": "default", "eps": 1e-6, "bias": True, "with_affine": True},
                },
                "ffn_config": {
                    "activation_type": "gelu_pytorch_tanh",
                    "gated_activation": False,
                    "bias": True,
                    "size": VISION_REAL_FFN,
                },
                "lnorm_config": {"type": "default", "eps": 1e-6, "bias": True, "with_affine": True},
            },
            "vl_connector_config": {
                "pooling_type": "attention_meanq",
                "pooling_h": 2,
                "pooling_w": 2,
                "spatial_merge_size": 2,
                "padding_embed_type": "pad_and_partial_pad",
                "projector_type": "mlp",
                "attn_pooling_config": {
                    "n_heads": VISION_REAL_HEADS,
                    "n_kv_heads": None,
                    "head_dim": VISION_HEAD_DIM,
                    "q_bias": True,
                    "o_bias": True,
                },
                "mlp_projector_config": {"activation_type": "silu", "gated_activation": True, "size": CONNECTOR_FFN},
            },
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        chat_template=chat_template("<|image|>"),
        extra_files={
            "configuration_jvlm.py": remote_file("configuration_jvlm.py"),
            # written after the tokenizer: replaces its tokenizer.json with the relocated one
            "tokenizer.json": relocated_tokenizer_json(tok, FIXED_IDS),
        },
        trust_remote_code=True,
    )
