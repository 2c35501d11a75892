"""GOT-OCR 2.0 twin (stepfun-ai/GOT-OCR2_0 layout: a SAM ViTDet-style encoder with windowed + global attention and
decomposed relative positions, a conv neck and two stride-2 convs, a linear projector, qwen2 text; a flat config,
via shipped remote code). mlx-vlm's GotOcrProcessor hardcodes a 1024 px resize and 256 `<imgpad>` tokens per image
(64 x 64 patches of 16 px, downsampled twice), so the tiny encoder still sees a 64 x 64 grid. The real tokenizer
ships no chat template: the processor wraps the prompt in GOT's MPT conversation itself."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    TINY_LAYERS,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<imgpad>")


def got(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|endoftext|>", pad="<|endoftext|>")
    base = {
        "architectures": ["GOTQwenForCausalLM"],
        "model_type": "got",
        "auto_map": {"AutoConfig": "configuration_got.GOTConfig"},
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
        "im_start_token": tok.id("<img>"),
        "im_end_token": tok.id("</img>"),
        "im_patch_token": tok.id("<imgpad>"),
        "image_token_len": 256,
        "use_im_start_end": True,
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": tok.id("<|endoftext|>"),
        "vision_config": {
            "model_type": "got",
            "img_size": 1024,  # GotOcrProcessor resizes every image to 1024 x 1024
            "patch_size": 16,
            "in_chans": 3,
            "embed_dim": VISION_HIDDEN,
            "depth": 2,
            "num_heads": VISION_HEADS,
            "mlp_ratio": 2.0,
            "out_chans": 16,
            "out_dim": 32,
            "qkv_bias": True,
            "use_abs_pos": True,
            "use_rel_pos": True,
            "window_size": 8,
            "global_attn_indexes": [1],  # one windowed block, one global one, as SAM alternates them
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        extra_files={"configuration_got.py": remote_file("configuration_got.py")},
        trust_remote_code=True,
    )
