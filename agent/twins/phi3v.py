"""Phi-3 / Phi-3.5-vision twin: tiny phi3 text, but mlx-vlm hardcodes the vision tower as CLIP ViT-L/14-336
(303M parameters, 336 px tiles, 144 tokens per tile), so this twin carries a real-size vision tower.
Config via shipped remote code (configuration_phi3_v.py), like the real checkpoints."""

from __future__ import annotations

from agent.twins.common import TINY_FFN, TINY_HEADS, TINY_HIDDEN, TINY_LAYERS, deep_merge, vocab_of
from agent.twins.files import TwinFiles, chat_template
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = ("<unk>", "<s>", "</s>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>", "<|system|>")


def phi3_v(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, bos="<s>", eos="<|end|>", pad="<|endoftext|>", unk="<unk>")
    base = {
        "architectures": ["Phi3VForCausalLM"],
        "model_type": "phi3_v",
        "auto_map": {"AutoConfig": "configuration_phi3_v.Phi3VConfig"},
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_HEADS,
        "max_position_embeddings": 131072,
        "original_max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "bos_token_id": tok.id("<s>"),
        "eos_token_id": tok.id("<|end|>"),
        "pad_token_id": tok.id("<|endoftext|>"),
        "tie_word_embeddings": False,
        "embd_layer": {
            "embedding_cls": "image",
            "hd_transform_order": "sub_glb",
            "projection_cls": "mlp",
            "use_hd_transform": True,
            "with_learnable_separator": True,
        },
        "img_processor": {
            "image_dim_out": 1024,
            "model_name": "openai/clip-vit-large-patch14-336",
            "name": "clip_vision_model",
            "num_img_tokens": 144,
        },
    }
    cfg = deep_merge(base, over)
    preprocessor = deep_merge(
        {
            "image_processor_type": "Phi3VImageProcessor",
            "processor_class": "Phi3VProcessor",
            "num_crops": 1,  # the fewest 336 px tiles: one crop plus the global view
            "num_img_tokens": 144,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<|image_1|>\n", start="<|", end="<|end|>\n", role_end="|>\n"),
        extra_files={"configuration_phi3_v.py": remote_file("configuration_phi3_v.py")},
        trust_remote_code=True,
    )
