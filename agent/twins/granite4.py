"""Granite 4.x Vision twin (ibm-granite/granite-vision-4.1-4b layout: a SigLIP tower whose layers feed Window
Q-Former projectors, `deepstack_layer_map` pairs injecting one vision layer each into one LLM layer, plus four
spatial-offset projectors (`spatial_target_layers`) sampling the 2 x 2 corners of the last layer; LLaVA-NeXT anyres
tiles with an image newline; a dense granite text model with MUP multipliers; config keys as the released
config.json, parsed by transformers' own Granite4VisionConfig). mlx-vlm's Granite4VisionProcessor (LlavaNext image
processor, PIL backend here) counts `downsample_rate` "4/8" tokens per tile: 8 x 8 patches become 4 x 4 queries.

Gotchas: mlx-vlm hardcodes the Q-Former's FFN at 3072 and its heads at vision hidden // 64 (as transformers does),
so the vision width is 64 (one Q-Former head) and the six projectors hold most of the ~3.0M parameters. The
spatial projectors halve the grid while the windows keep "q/w", so q/w must stay 1/2. SigLIP has no CLS token:
`vision_feature_select_strategy` "full" and `num_additional_image_tokens` 0, as the real checkpoint."""

from __future__ import annotations

from agent.twins.common import (
    IMAGE_MEAN,
    IMAGE_STD,
    TINY_FFN,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    VISION_HEADS,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

EOS, PAD, IMAGE = "<|end_of_text|>", "<|pad|>", "<image>"
SPECIALS = (EOS, PAD, "<|start_of_role|>", "<|end_of_role|>", "<|tool_call|>", IMAGE)


def granite4_vision(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos=EOS,  # granite 4 uses <|end_of_text|> as bos, eos and unk; add_bos_token is off
        eos=EOS,
        pad=PAD,
        extra_special_tokens={"image_token": IMAGE},
        config_extra={"add_bos_token": False},
    )
    size, patch = 64, 8  # 8 x 8 patches per tile, windows of 8 -> 4 x 4 queries ("4/8")
    pinpoints = [[size, size], [size, 2 * size], [2 * size, size], [2 * size, 2 * size]]
    base = {
        "architectures": ["Granite4VisionForConditionalGeneration"],
        "model_type": "granite4_vision",
        "image_token_index": tok.id(IMAGE),
        "image_grid_pinpoints": pinpoints,
        "downsample_rate": "4/8",
        # [vision layer, llm layer]: the real model maps -19/-13/-7/-1 of 27 ViT layers to LLM layers 9/6/3/0
        "deepstack_layer_map": [[-2, 1], [-1, 0]],
        "use_spatial_sampling": True,
        "spatial_vision_layer": -1,
        "spatial_target_layers": [2, 2, 3, 3],  # the real model: 12, 15, 18, 21 of 40
        "use_image_newline_parameter": True,
        "vision_feature_select_strategy": "full",
        "projector_dropout": 0.1,
        "tie_word_embeddings": False,
        "eos_token_id": tok.id(EOS),
        "text_config": {
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": 4,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000000,
            "max_position_embeddings": 131072,
            "vocab_size": vocab,
            "attention_bias": False,
            "mlp_bias": False,
            "embedding_multiplier": 12.0,
            "attention_multiplier": 0.0625,  # 1 / head_dim (the real model: 1/64)
            "residual_multiplier": 0.22,
            "logits_scaling": 10.0,
            "tie_word_embeddings": False,
            "bos_token_id": tok.id(EOS),
            "eos_token_id": tok.id(EOS),
            "pad_token_id": tok.id(PAD),
        },
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": 64,  # the Q-Former has hidden // 64 heads: 64 is the least that works
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "image_size": size,
            "patch_size": patch,
            "num_channels": 3,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    image_size = vision["image_size"]
    preprocessor = {
        "image_processor_type": "LlavaNextImageProcessor",
        "processor_class": "Granite4VisionProcessor",
        "crop_size": {"height": image_size, "width": image_size},
        "size": {"shortest_edge": image_size},
        "image_grid_pinpoints": cfg["image_grid_pinpoints"],
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_pad": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": IMAGE_MEAN,
        "image_std": IMAGE_STD,
        "resample": 3,
        "rescale_factor": 1 / 255,
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, pre),
        processor_config={
            "processor_class": "Granite4VisionProcessor",
            "patch_size": vision["patch_size"],
            "vision_feature_select_strategy": "full",
            "num_additional_image_tokens": 0,
            "downsample_rate": cfg["downsample_rate"],
            "image_token": IMAGE,
        },
        chat_template=chat_template(
            IMAGE + "\n", start="<|start_of_role|>", end="<|end_of_text|>\n", role_end="<|end_of_role|>"
        ),
    )
