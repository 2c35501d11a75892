"""Idefics3 family twins: smolvlm and idefics3 (SigLIP-style vision tower + pixel-shuffle connector + llama text).

The HF Idefics3 image processor (PIL backend) resizes to the vision image_size; with splitting off, one image is
exactly one (image_size / patch)^2 / scale_factor^2 block of <image> tokens (`image_seq_len`).
"""

from __future__ import annotations

from agent.twins.common import (
    IMAGE_MEAN,
    IMAGE_STD,
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

SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<end_of_utterance>",
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
    "<unk>",
)


def _idefics3_like(model_type: str, vision_type: str, over: dict | None, pre: dict | None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<|im_start|>",
        eos="<end_of_utterance>",
        pad="<|endoftext|>",
        unk="<unk>",
        extra_special_tokens={
            "image_token": "<image>",
            "fake_image_token": "<fake_token_around_image>",
            "global_image_token": "<global-img>",
            "end_of_utterance_token": "<end_of_utterance>",
        },
    )
    base = {
        "architectures": [
            "SmolVLMForConditionalGeneration" if model_type == "smolvlm" else "Idefics3ForConditionalGeneration"
        ],
        "model_type": model_type,
        "image_token_id": tok.id("<image>"),
        "scale_factor": 2,
        "vocab_size": vocab,
        "tie_word_embeddings": False,
        "eos_token_id": tok.id("<end_of_utterance>"),
        "text_config": {
            "model_type": "llama",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "rms_norm_eps": 1e-5,
            "rope_theta": 100000.0,
            "max_position_embeddings": 8192,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
            "pad_token_id": tok.id("<|endoftext|>"),
        },
        "vision_config": {
            "model_type": vision_type,
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 1,
            "num_attention_heads": VISION_HEADS,
            "patch_size": 8,
            "image_size": 32,
            "num_channels": 3,
            "layer_norm_eps": 1e-6,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    image_size, patch, scale = vision["image_size"], vision["patch_size"], cfg["scale_factor"]
    # tokens per image must equal what the connector emits, or the model raises a token/feature mismatch
    image_seq_len = (image_size // patch) ** 2 // scale**2
    processor_class = "SmolVLMProcessor" if model_type == "smolvlm" else "Idefics3Processor"
    preprocessor = deep_merge(
        {
            "image_processor_type": "SmolVLMImageProcessor" if model_type == "smolvlm" else "Idefics3ImageProcessor",
            "processor_class": processor_class,
            "do_convert_rgb": True,
            "do_resize": True,
            "size": {"longest_edge": image_size},
            "max_image_size": {"longest_edge": image_size},
            "do_image_splitting": False,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": IMAGE_MEAN,
            "image_std": IMAGE_STD,
            "do_pad": True,
            "resample": 1,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={"processor_class": processor_class, "image_seq_len": image_seq_len},
        chat_template=chat_template("<image>", start="<|im_start|>", end="<end_of_utterance>\n"),
    )


def smolvlm(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    return _idefics3_like("smolvlm", "smolvlm_vision", over, pre)


def idefics3(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    return _idefics3_like("idefics3", "idefics3_vision", over, pre)


def idefics2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Idefics2 (HuggingFaceM4/idefics2-8b layout: SigLIP + perceiver resampler + mistral text)."""
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=("<unk>", "<s>", "</s>", "<fake_token_around_image>", "<image>", "<end_of_utterance>"),
        bos="<s>",
        eos="<end_of_utterance>",
        pad="<unk>",
        unk="<unk>",
        extra_special_tokens={
            "image_token": "<image>",
            "image_boundary_token": "<fake_token_around_image>",
            "end_of_utterance_token": "<end_of_utterance>",
        },
    )
    base = {
        "architectures": ["Idefics2ForConditionalGeneration"],
        "model_type": "idefics2",
        "image_token_id": tok.id("<image>"),
        "vocab_size": vocab,
        "eos_token_id": tok.id("<end_of_utterance>"),
        "text_config": {
            "model_type": "mistral",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "max_position_embeddings": 8192,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
        },
        "vision_config": {
            "model_type": "idefics2_vision",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 1,
            "num_attention_heads": VISION_HEADS,
            "image_size": 32,
            "patch_size": 8,
            "num_channels": 3,
        },
        "perceiver_config": {
            "model_type": "idefics2_perceiver",
            "hidden_size": TINY_HIDDEN,
            "resampler_n_latents": 4,
            "resampler_depth": 1,
            "resampler_n_heads": TINY_HEADS,
            "resampler_head_dim": 16,
            "num_key_value_heads": TINY_KV_HEADS,
        },
    }
    cfg = deep_merge(base, over)
    image_size = cfg["vision_config"]["image_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "Idefics2ImageProcessor",
            "processor_class": "Idefics2Processor",
            "do_convert_rgb": True,
            "do_resize": True,
            "size": {"shortest_edge": image_size, "longest_edge": image_size},
            "do_image_splitting": False,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": IMAGE_MEAN,
            "image_std": IMAGE_STD,
            "do_pad": True,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={
            "processor_class": "Idefics2Processor",
            "image_seq_len": cfg["perceiver_config"]["resampler_n_latents"],
        },
        chat_template=chat_template("<image>", bos="<s>", start="", end="<end_of_utterance>\n", role_end=": "),
    )
