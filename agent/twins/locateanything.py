"""LocateAnything twin (nvidia/LocateAnything-3B layout, Eagle family: MoonViT vision with a 2x2 patch merge, a
LayerNorm + 2-layer GELU MLP connector, and a qwen2 text model whose coordinate, box, ref, mask, null and switch tokens
drive Parallel Box Decoding). transformers 5.24 has no locateanything config, so it resolves through a shipped
remote-code stand-in (configuration_locateanything.py + auto_map), like the real checkpoint's.

Gotchas: mlx-vlm's load() swaps in a default LocateAnythingImageProcessor (14 px patches, 2x2 merge, 25,600-patch
limit) whatever preprocessor_config.json says, so the twin keeps patch 14 and the image is padded to multiples of
28 px (320x240 -> 24x18 patches -> 108 `<IMG_CONTEXT>` tokens inside `<img>`...`</img>`). The processor expands
`<image-N>` placeholders, which the chat template renders for image items (images come first). Plain mlx_vlm.generate
decodes autoregressively (PBD is the separate Model.pbd_generate); the twin's coordinate range is 32 tokens, not the
real 1,001, as only config ids (never names) locate them. tie_word_embeddings as the real one: sanitize drops any
lm_head."""

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

N_COORDS = 32
SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<IMG_CONTEXT>",
    "<img>",
    "</img>",
    "<box>",
    "</box>",
    "<ref>",
    "</ref>",
    "<|mask|>",
    "<|null|>",
    "<|switch|>",
    "<none>",
    *(f"<coord_{i}>" for i in range(N_COORDS)),
)


def locateanything(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|im_end|>", pad="<|endoftext|>")
    patch, merge = 14, [2, 2]  # the defaults of the image processor load() installs
    base = {
        "architectures": ["LocateAnythingForConditionalGeneration"],
        "model_type": "locateanything",
        "auto_map": {"AutoConfig": "configuration_locateanything.LocateAnythingConfig"},
        "image_token_index": tok.id("<IMG_CONTEXT>"),
        "box_start_token_id": tok.id("<box>"),
        "box_end_token_id": tok.id("</box>"),
        "coord_start_token_id": tok.id("<coord_0>"),
        "coord_end_token_id": tok.id(f"<coord_{N_COORDS - 1}>"),
        "ref_start_token_id": tok.id("<ref>"),
        "ref_end_token_id": tok.id("</ref>"),
        "none_token_id": tok.id("<none>"),
        "mlp_connector_layers": 2,
        "n_future_tokens": 6,
        "vocab_size": vocab,
        "eos_token_id": [tok.id("<|im_end|>"), tok.id("<|endoftext|>")],
        "tie_word_embeddings": True,
        "text_config": {
            "model_type": "qwen2",
            "hidden_size": TINY_HIDDEN,
            "num_hidden_layers": TINY_LAYERS,
            "intermediate_size": TINY_FFN,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "vocab_size": vocab,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0,
            "max_position_embeddings": 32768,
            "tie_word_embeddings": True,
            "block_size": 6,
            "causal_attn": False,
            "text_mask_token_id": tok.id("<|mask|>"),
            "null_token_id": tok.id("<|null|>"),
            "switch_token_id": tok.id("<|switch|>"),
        },
        "vision_config": {
            "model_type": "moonvit",
            "hidden_size": VISION_HIDDEN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "intermediate_size": VISION_FFN,
            "patch_size": patch,
            "init_pos_emb_height": 8,
            "init_pos_emb_width": 8,
            "num_channels": 3,
            "merge_kernel_size": merge,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    auto_map = {
        "AutoImageProcessor": "image_processing_locateanything.LocateAnythingImageProcessor",
        "AutoProcessor": "processing_locateanything.LocateAnythingProcessor",
    }
    image = {
        "patch_size": vision["patch_size"],
        "merge_kernel_size": vision["merge_kernel_size"],
        "in_token_limit": 25600,
        "processor_class": "LocateAnythingProcessor",
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        # the layout LocateAnythingProcessor.save_pretrained writes
        preprocessor_config=deep_merge(
            {
                **image,
                "auto_map": auto_map,
                "image_processor_type": "LocateAnythingImageProcessor",
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
            },
            pre,
        ),
        processor_config={
            **image,
            "auto_map": auto_map,
            "image_start_token": "<img>",
            "image_end_token": "</img>",
            "image_token": "<IMG_CONTEXT>",
            "image_placeholder": "image",
            "video_placeholder": "video",
            "video_token": "<IMG_CONTEXT>",
        },
        chat_template=chat_template("<image-{{ loop.index }}>\n"),
        extra_files={"configuration_locateanything.py": remote_file("configuration_locateanything.py")},
        trust_remote_code=True,
    )
