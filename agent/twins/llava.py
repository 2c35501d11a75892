"""LLaVA family twins: llava (CLIP + llama), llava_next (CLIP + mistral, anyres tiles), llava_onevision (SigLIP +
qwen2). The llava twin is an expected failure under transformers 5.x (see registry.EXPECTED_FAILURES)."""

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

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def _tokenizer(vocab: int) -> TokenizerSpec:
    return TokenizerSpec(
        vocab_size=vocab,
        specials=("<unk>", "<s>", "</s>", "<image>", "<|im_start|>", "<|im_end|>"),
        bos="<s>",
        eos="</s>",
        pad="<unk>",
        unk="<unk>",
        extra_special_tokens={"image_token": "<image>"},
        config_extra={"add_bos_token": True},
    )


def _text(model_type: str, vocab: int) -> dict:
    return {
        "model_type": model_type,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "max_position_embeddings": 4096,
        "vocab_size": vocab,
        "tie_word_embeddings": False,
    }


def _vision(model_type: str, image_size: int, patch: int) -> dict:
    return {
        "model_type": model_type,
        "hidden_size": VISION_HIDDEN,
        "intermediate_size": VISION_FFN,
        "num_hidden_layers": 2,  # vision_feature_layer = -2 needs at least two layers
        "num_attention_heads": VISION_HEADS,
        "image_size": image_size,
        "patch_size": patch,
        "projection_dim": VISION_HIDDEN,
        "num_channels": 3,
        "layer_norm_eps": 1e-5,
    }


def _clip_preprocessor(image_size: int, image_processor: str, processor_class: str, extra: dict | None = None) -> dict:
    return {
        "image_processor_type": image_processor,
        "processor_class": processor_class,
        "crop_size": {"height": image_size, "width": image_size},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": CLIP_MEAN,
        "image_std": CLIP_STD,
        "resample": 3,
        "rescale_factor": 1 / 255,
        "size": {"shortest_edge": image_size},
        **(extra or {}),
    }


def llava(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    base = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "image_token_index": tok.id("<image>"),
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "projector_hidden_act": "gelu",
        "vocab_size": vocab,
        "eos_token_id": tok.id("</s>"),
        "text_config": _text("llama", vocab),
        "vision_config": _vision("clip_vision_model", 32, 8),
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(
            _clip_preprocessor(vision["image_size"], "CLIPImageProcessor", "LlavaProcessor"), pre
        ),
        processor_config={
            "processor_class": "LlavaProcessor",
            "patch_size": vision["patch_size"],
            "vision_feature_select_strategy": "default",
            "num_additional_image_tokens": 1,  # CLIP's CLS token
            "image_token": "<image>",
        },
        chat_template=chat_template("<image>\n", bos="<s>"),
    )


def llava_next(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    size = 32
    pinpoints = [[size, size], [size, 2 * size], [2 * size, size], [2 * size, 2 * size]]
    base = {
        "architectures": ["LlavaNextForConditionalGeneration"],
        "model_type": "llava_next",
        "image_token_index": tok.id("<image>"),
        "image_grid_pinpoints": pinpoints,
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "projector_hidden_act": "gelu",
        "vocab_size": vocab,
        "eos_token_id": tok.id("</s>"),
        "text_config": _text("mistral", vocab),
        "vision_config": _vision("clip_vision_model", size, 8),
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    extra = {"image_grid_pinpoints": cfg["image_grid_pinpoints"], "do_pad": True}
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(
            _clip_preprocessor(vision["image_size"], "LlavaNextImageProcessor", "LlavaNextProcessor", extra), pre
        ),
        processor_config={
            "processor_class": "LlavaNextProcessor",
            "patch_size": vision["patch_size"],
            "vision_feature_select_strategy": "default",
            "num_additional_image_tokens": 1,
            "image_token": "<image>",
        },
        chat_template=chat_template("<image>\n", bos="<s>", start="[INST] ", end=" [/INST]"),
        # llava-hf/llava-v1.6-* ship float16; mlx-vlm's llava_next does np.array(image_newline), which fails for bf16
        dtype="float16",
    )


def llava_onevision(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"),
        eos="<|im_end|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<image>", "video_token": "<video>"},
    )
    size, patch = 32, 8
    pinpoints = [[size, size], [size, 2 * size], [2 * size, size], [2 * size, 2 * size]]
    vision = _vision("siglip_vision_model", size, patch)
    vision.pop("projection_dim")
    base = {
        "architectures": ["LlavaOnevisionForConditionalGeneration"],
        "model_type": "llava_onevision",
        "image_token_index": tok.id("<image>"),
        "video_token_index": tok.id("<video>"),
        "image_grid_pinpoints": pinpoints,
        "vision_aspect_ratio": "anyres_max_4",
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "use_image_newline_parameter": True,
        "projector_hidden_act": "gelu",
        "vocab_size": vocab,
        "eos_token_id": tok.id("<|im_end|>"),
        "text_config": {**_text("qwen2", vocab), "rope_theta": 1000000.0},
        "vision_config": vision,
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    extra = {"image_grid_pinpoints": cfg["image_grid_pinpoints"], "do_pad": True}
    preprocessor = _clip_preprocessor(
        vision["image_size"], "LlavaOnevisionImageProcessor", "LlavaOnevisionProcessor", extra
    )
    preprocessor["size"] = {"height": vision["image_size"], "width": vision["image_size"]}
    preprocessor["image_mean"] = preprocessor["image_std"] = [0.5, 0.5, 0.5]
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, pre),
        processor_config={
            "processor_class": "LlavaOnevisionProcessor",
            "num_image_tokens": (vision["image_size"] // vision["patch_size"]) ** 2,
            "vision_feature_select_strategy": "full",
            "image_token": "<image>",
            "video_token": "<video>",
        },
        chat_template=chat_template("<image>\n"),
    )


def granite_vision(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Granite Vision 3.x layout: the llava_next twin with a SigLIP tower (features of two layers concatenated, as the
    real checkpoints concatenate four) and a granite text model (MUP multipliers); mlx-vlm's GraniteVisionProcessor."""
    vocab = vocab_of(over or {})
    size = 32
    vision = _vision("siglip_vision_model", size, 8)
    vision.pop("projection_dim")
    text = {
        **_text("granite", vocab),
        "embedding_multiplier": 12.0,
        "attention_multiplier": 0.0625,
        "residual_multiplier": 0.22,
        "logits_scaling": 8.0,
    }
    granite = {
        "architectures": ["LlavaNextForConditionalGeneration"],
        "model_type": "granite_vision",
        "vision_feature_layer": [-2, -1],
        "vision_feature_select_strategy": "full",
        "text_config": text,
        "vision_config": vision,
    }
    files = llava_next(deep_merge(granite, over), pre)
    files.preprocessor_config["processor_class"] = "GraniteVisionProcessor"
    files.preprocessor_config["image_mean"] = files.preprocessor_config["image_std"] = [0.5, 0.5, 0.5]
    files.processor_config.update(
        {"processor_class": "GraniteVisionProcessor", "vision_feature_select_strategy": "full"}
    )
    files.processor_config["num_additional_image_tokens"] = 0  # SigLIP has no CLS token
    # transformers has no `granite_vision` config class, so AutoConfig cannot lint it; mlx-vlm's own loader and
    # GraniteVisionProcessor never call AutoConfig for it (the twin loads and generates through plain mlx_vlm.load)
    files.lint_config = False
    return files
