"""dots.ocr twin (rednote-hilab/dots.ocr layout: a NaViT-style vision tower with 2D rotary, RMSNorm and a 2x2 patch
merger, feeding a qwen2 text model; text keys at the root, config via shipped remote code). mlx-vlm's DotsVLProcessor
is HF's Qwen2_5_VLProcessor with the HF Qwen2VL image processor (temporal patch 1) and no video. It hardcodes
image_token_id 151665 (and video 151656), which transformers checks against the input ids, so this twin keeps the
real 151,936 vocab and moves `<|imgpad|>` / `<|video_pad|>` to those ids (about 20M parameters, mostly embeddings)."""

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
from agent.twins.tokenizer import TokenizerSpec, build_tokenizer

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|img|>", "<|imgpad|>", "<|endofimg|>", "<|video_pad|>")

VOCAB = 151936
# the ids mlx-vlm's DotsVLProcessor hardcodes (those of the real tokenizer)
FIXED_IDS = {"<|imgpad|>": 151665, "<|video_pad|>": 151656}


def relocated_tokenizer_json(spec: TokenizerSpec, moves: dict[str, int]) -> str:
    """tokenizer.json of `spec` with each special token of `moves` swapped with the padding token at its target id."""
    import json

    state = json.loads(build_tokenizer(spec).backend_tokenizer.to_str())
    vocab: dict[str, int] = state["model"]["vocab"]
    by_id = {i: t for t, i in vocab.items()}
    for token, target in moves.items():
        old, other = vocab[token], by_id[target]
        vocab[token], vocab[other] = target, old
        by_id[target], by_id[old] = token, other
        for added in state["added_tokens"]:
            if added["content"] == token:
                added["id"] = target
    return json.dumps(state, ensure_ascii=False)


def dots_ocr(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = max(vocab_of(over or {}), VOCAB)
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|imgpad|>", "video_token": "<|video_pad|>"},
    )
    patch, merge = 14, 2
    base = {
        "architectures": ["DotsOCRForCausalLM"],
        "model_type": "dots_ocr",
        "auto_map": {"AutoConfig": "configuration_dots.DotsOCRConfig"},
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "max_position_embeddings": 32768,
        "vocab_size": vocab,
        "tie_word_embeddings": False,
        "attention_bias": True,
        "image_token_id": FIXED_IDS["<|imgpad|>"],
        "video_token_id": FIXED_IDS["<|video_pad|>"],
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": tok.id("<|im_end|>"),
        "vision_config": {
            "model_type": "dots_vit",
            "embed_dim": VISION_HIDDEN,
            "hidden_size": TINY_HIDDEN,  # merger output = text hidden size
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "num_channels": 3,
            "patch_size": patch,
            "spatial_merge_size": merge,
            "temporal_patch_size": 1,
            "post_norm": True,
            "rms_norm_eps": 1e-5,
            "use_bias": False,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    unit = vision["patch_size"] * vision["spatial_merge_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": "DotsVLProcessor",
            "patch_size": vision["patch_size"],
            "temporal_patch_size": vision["temporal_patch_size"],
            "merge_size": vision["spatial_merge_size"],
            # Tiny: every image becomes 2x2 .. 4x4 merged tokens (4-16 image tokens).
            "min_pixels": (2 * unit) ** 2,
            "max_pixels": (4 * unit) ** 2,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<|img|><|imgpad|><|endofimg|>"),
        extra_files={
            "configuration_dots.py": remote_file("configuration_dots.py"),
            # written after the tokenizer: replaces its tokenizer.json with the relocated one
            "tokenizer.json": relocated_tokenizer_json(tok, FIXED_IDS),
        },
        trust_remote_code=True,
    )
