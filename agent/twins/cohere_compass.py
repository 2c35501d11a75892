"""Cohere Compass twin (CohereLabs/North-Micro-Vision-Instruct layout: a Qwen3-VL-style native-resolution ViT with
interpolated learned positions, 2 x 2 patch merger and deepstack mergers whose features are added to the first LLM
layers, feeding a Command-A-style parallel-block decoder (LayerNorm, SwiGLU) with interleaved sliding / full
attention layers; `rope_parameters` keyed by layer type, interleaved M-RoPE on the sliding layers and no positions
(NoPE) on the full ones; tied embeddings with `logit_scale`; config keys as the released config.json, parsed by
transformers' own CohereCompassConfig). mlx-vlm's CohereCompassProcessor builds its own numpy
CohereCompassImageProcessor, whose min/max pixels come from config.json (over preprocessor_config.json); both keep
images at 2 x 2 .. 4 x 4 merged tokens here. The processor and model take the image token ids from the tokenizer
and config.json (the real ones sit at 255028-255032), so a 512 vocab serves."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles
from agent.twins.tokenizer import TokenizerSpec

BOS, EOS, PAD, UNK = "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<PAD>", "<UNK>"
START, END, IMAGE, VIDEO = "<|VISION_START|>", "<|VISION_END|>", "<|IMAGE_PAD|>", "<|VIDEO_PAD|>"
SPECIALS = (
    PAD,
    UNK,
    BOS,
    EOS,
    "<|START_OF_TURN_TOKEN|>",
    "<|USER_TOKEN|>",
    "<|CHATBOT_TOKEN|>",
    "<|SYSTEM_TOKEN|>",
    "<|START_RESPONSE|>",
    "<|END_RESPONSE|>",
    START,
    END,
    IMAGE,
    VIDEO,
)

# Cohere's turn structure: role tokens (not role names), the reply framed by START/END_RESPONSE; string or list content
CHAT_TEMPLATE = (
    BOS + "{% for message in messages %}<|START_OF_TURN_TOKEN|>"
    "{% if message['role'] == 'user' %}<|USER_TOKEN|>{% elif message['role'] == 'assistant' %}"
    "<|CHATBOT_TOKEN|><|START_RESPONSE|>{% else %}<|SYSTEM_TOKEN|>{% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' or item['type'] == 'image_url' %}" + START + IMAGE + END + "{% endif %}"
    "{% if item['type'] == 'text' %}{{ item['text'] if item['text'] is defined else item['content'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}<|END_RESPONSE|>{% endif %}<|END_OF_TURN_TOKEN|>{% endfor %}"
    "{% if add_generation_prompt %}<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|><|START_RESPONSE|>{% endif %}"
)


def cohere_compass(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos=BOS,
        eos=EOS,
        pad=PAD,
        unk=UNK,
        extra_special_tokens={
            "image_token": IMAGE,
            "video_token": VIDEO,
            "vision_start_token": START,
            "vision_end_token": END,
        },
        config_extra={"add_bos_token": False},  # the template writes <BOS_TOKEN>
    )
    patch, merge = 16, 2
    unit = patch * merge
    min_pixels, max_pixels = (2 * unit) ** 2, (4 * unit) ** 2
    base = {
        "architectures": ["CohereCompassForConditionalGeneration"],
        "model_type": "cohere_compass",
        "image_token_id": tok.id(IMAGE),
        "video_token_id": tok.id(VIDEO),
        "vision_start_token_id": tok.id(START),
        "vision_end_token_id": tok.id(END),
        "tie_word_embeddings": False,
        "min_pixels": min_pixels,
        "max_pixels": max_pixels,
        "text_config": {
            "model_type": "cohere_compass_text",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": 4,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "hidden_act": "silu",
            "max_position_embeddings": 500000,
            "layer_norm_eps": 1e-5,
            "sliding_window": 4096,
            "logit_scale": 0.25,
            "tie_word_embeddings": True,
            "attention_bias": False,
            # three sliding layers per full one, as the real decoder
            "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
            "rope_parameters": {
                # sections count frequencies: they sum to head_dim / 2
                "sliding_attention": {"mrope_interleaved": True, "mrope_section": [4, 2, 2], "rope_theta": 50000},
                "full_attention": None,
            },
            "pad_token_id": tok.id(PAD),
            "bos_token_id": tok.id(BOS),
            "eos_token_id": tok.id(EOS),
        },
        "vision_config": {
            "model_type": "cohere_compass_vision",
            "depth": 2,
            "hidden_size": VISION_HIDDEN,
            "hidden_act": "gelu_pytorch_tanh",
            "intermediate_size": VISION_FFN,
            "num_heads": VISION_HEADS,
            "in_channels": 3,
            "patch_size": patch,
            "spatial_merge_size": merge,
            "temporal_patch_size": 2,
            "out_hidden_size": TINY_HIDDEN,
            "num_position_embeddings": 64,  # a perfect square: an 8 x 8 grid, interpolated to each image
            "deepstack_visual_indexes": [0, 1],  # the real tower: 8, 16, 24 of 27
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    preprocessor = {
        "image_processor_type": "CohereCompassImageProcessor",
        "processor_class": "CohereCompassProcessor",
        "patch_size": vision["patch_size"],
        "temporal_patch_size": vision["temporal_patch_size"],
        "merge_size": vision["spatial_merge_size"],
        "min_pixels": cfg["min_pixels"],
        "max_pixels": cfg["max_pixels"],
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, pre),
        chat_template=CHAT_TEMPLATE,  # tied: mlx-vlm builds no lm_head at all
    )
