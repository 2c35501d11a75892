"""HunyuanOCR / Hunyuan-VL twin (tencent/HunyuanOCR layout: a NaViT-style ViT with learned, interpolated position
embeddings and a conv patch merger that adds a newline token per row plus begin/end tokens, feeding a dense Hunyuan
text model with QK-norm and 4-axis XD-RoPE; a flat config with text keys at the root and a nested vision_config,
parsed by transformers' own HunYuanVLConfig). mlx-vlm's HunYuanVLProcessor hardcodes the image token id 120120
(image start / end 120118 / 120119, pad 120002) and uses the tokenizer's last id as a placeholder, so this twin
keeps the real 120,818 vocab and moves its specials to the real ids (about 7.8M parameters, mostly the tied
embeddings). The processor ignores preprocessor_config.json: every image is resized to at least 512 x 512 px, so
the tiny tower still sees 32 x 32 patches (16 x 17 + 2 = 274 image tokens)."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
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
from agent.twins.dots import relocated_tokenizer_json
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

BOS, EOS, PAD = "<|hy_begin_of_sentence|>", "<|hy_end_of_sentence|>", "<|hy_pad|>"
IM_START, IM_END, IMAGE, NEWLINE = "<|hy_image_start|>", "<|hy_image_end|>", "<|hy_image|>", "<|hy_image_newline|>"
SPECIALS = (BOS, EOS, PAD, "<|hy_User|>", "<|hy_Assistant|>", IM_START, IM_END, IMAGE, NEWLINE)

VOCAB = 120818
# the ids of the real tokenizer; mlx-vlm's HunYuanVLProcessor hardcodes the image ones and the pad id
FIXED_IDS = {BOS: 120000, EOS: 120020, PAD: 120002, IM_START: 120118, IM_END: 120119, IMAGE: 120120, NEWLINE: 120121}


def hunyuan_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = max(vocab_of(over or {}), VOCAB)
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos=BOS,
        eos=EOS,
        pad=PAD,
        extra_special_tokens={"image_token": IMAGE},
    )
    base = {
        "architectures": ["HunYuanVLForConditionalGeneration"],
        "model_type": "hunyuan_vl",
        "vocab_size": vocab,
        "org_vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "head_dim": TINY_HEAD_DIM,
        "attention_head_dim": TINY_HEAD_DIM,
        "hidden_act": "silu",
        "use_qk_norm": True,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        # 4 axes (position, width, height, image index) of half a head each: sum = head_dim / 2
        "rope_scaling": {
            "alpha": 1000.0,
            "beta_fast": 32,
            "beta_slow": 1,
            "factor": 1.0,
            "mscale": 1.0,
            "mscale_all_dim": 1.0,
            "type": "xdrope",
            "xdrope_section": [2, 2, 2, 2],
        },
        "max_position_embeddings": 32768,
        "tie_word_embeddings": True,
        "bos_token_id": FIXED_IDS[BOS],
        "eos_token_id": FIXED_IDS[EOS],
        "eod_token_id": FIXED_IDS[EOS],
        "pad_id": FIXED_IDS[PAD],
        "image_token_id": FIXED_IDS[IMAGE],
        "image_start_token_id": FIXED_IDS[IM_START],
        "image_end_token_id": FIXED_IDS[IM_END],
        "image_newline_token_id": FIXED_IDS[NEWLINE],
        "im_start_id": FIXED_IDS[IM_START],
        "im_end_id": FIXED_IDS[IM_END],
        "im_newline_id": FIXED_IDS[NEWLINE],
        "vision_config": {
            "model_type": "hunyuan_vl",
            "hidden_size": VISION_HIDDEN,
            "out_hidden_size": TINY_HIDDEN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "intermediate_size": VISION_FFN,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "hidden_act": "gelu",
            "rms_norm_eps": 1e-5,
            "interpolate_mode": "bilinear",
            "max_image_size": 512,  # learned positions for a 32 x 32 grid, interpolated to each image's grid
            "img_max_token_num": 4096,
            "max_vit_seq_len": 16384,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        # read by nothing (the processor ignores it), written as the real checkpoint's
        preprocessor_config=deep_merge(
            {
                "image_processor_type": "HunYuanVLImageProcessor",
                "processor_class": "HunYuanVLProcessor",
                "min_pixels": 512 * 512,
                "max_pixels": 2048 * 2048,
                "patch_size": 16,
                "temporal_patch_size": 1,
                "merge_size": 2,
            },
            pre,
        ),
        chat_template=chat_template(IM_START + IMAGE + IM_END, bos=BOS),
        # written after the tokenizer: replaces its tokenizer.json with the relocated one
        extra_files={"tokenizer.json": relocated_tokenizer_json(tok, FIXED_IDS)},
    )
