"""Florence-2 twin (microsoft/Florence-2 layout: DaViT vision + BART encoder-decoder). mlx-vlm patches HF's native
Florence2Processor (CLIP image processor; image_seq_length = 1 spatial-pooled + H*W temporal-pooled tokens)."""

from __future__ import annotations

from agent.twins.common import TINY_FFN, TINY_HEADS, TINY_HIDDEN, deep_merge, vocab_of
from agent.twins.files import TwinFiles
from agent.twins.tokenizer import TokenizerSpec

# BART ids: <s>=0, <pad>=1, </s>=2, <unk>=3 (Florence2 / BART config defaults rely on them)
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<image>")


def florence2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<s>",
        eos="</s>",
        pad="<pad>",
        unk="<unk>",
        extra_special_tokens={"image_token": "<image>"},
    )
    dims = [16, 32, 32, TINY_HIDDEN]
    base = {
        "architectures": ["Florence2ForConditionalGeneration"],
        "model_type": "florence2",
        "image_token_id": tok.id("<image>"),
        "bos_token_id": 0,
        "pad_token_id": 1,
        "eos_token_id": 2,
        "vocab_size": vocab,
        "is_encoder_decoder": True,
        "vision_config": {
            "model_type": "davit",  # what mlx-vlm accepts (and the microsoft checkpoints ship)
            "depths": [1, 1, 1, 1],
            "dim_embed": dims,  # mlx-vlm's name
            "embed_dim": dims,  # transformers' name
            "num_heads": [1, 2, 2, 4],
            "num_groups": [1, 2, 2, 4],
            "window_size": 2,
            "patch_size": [7, 3, 3, 3],
            "patch_stride": [4, 2, 2, 2],
            "patch_padding": [3, 1, 1, 1],
            "patch_prenorm": [False, True, True, True],
            "projection_dim": TINY_HIDDEN,
            "image_size": [64, 64],
            "max_position_embeddings": 50,
            "max_temporal_embeddings": 100,
        },
        "text_config": {
            "model_type": "bart",
            "vocab_size": vocab,
            "d_model": TINY_HIDDEN,
            "encoder_layers": 1,
            "decoder_layers": 1,
            "encoder_attention_heads": TINY_HEADS,
            "decoder_attention_heads": TINY_HEADS,
            "encoder_ffn_dim": TINY_FFN,
            "decoder_ffn_dim": TINY_FFN,
            "max_position_embeddings": 1024,
            "activation_function": "gelu",
            "scale_embedding": False,
            "bos_token_id": 0,
            "pad_token_id": 1,
            "eos_token_id": 2,
            "decoder_start_token_id": 2,
            "forced_bos_token_id": 0,
            "forced_eos_token_id": 2,
        },
    }
    cfg = deep_merge(base, over)
    side = cfg["vision_config"]["image_size"][0]
    grid = side // 32  # DaViT downsamples by 4 * 2 * 2 * 2
    preprocessor = deep_merge(
        {
            "image_processor_type": "CLIPImageProcessor",
            "processor_class": "Florence2Processor",
            "image_seq_length": 1 + grid * grid,
            "do_resize": True,
            "size": {"height": side, "width": side},
            "do_center_crop": False,
            "crop_size": {"height": side, "width": side},
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": [0.485, 0.456, 0.406],
            "image_std": [0.229, 0.224, 0.225],
            "do_convert_rgb": True,
            "resample": 3,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={"processor_class": "Florence2Processor", "num_additional_image_tokens": 0},
        # BART: lm_head is tied to the shared embedding; mlx-vlm re-ties it when a checkpoint omits it
        tie_embeddings=True,
    )
