"""Janus / multi_modality twin (deepseek-ai/Janus-Pro-1B understanding path, as mlx-vlm loads it: a SigLIP-L style
"CLIPVisionTower" at 384 px / 16 px patches, a 2-layer GELU MLP aligner, llama text; DeepSeek's `<|User|>` /
`<|Assistant|>` prompt format with `<image_placeholder>`).

Gotchas: mlx-vlm's multi_modality has no processor of its own wired in (processing_multi_modality.py never installs
its AutoProcessor patch), so load() gets transformers' AutoProcessor fallback, the tokenizer, plus mlx-vlm's
ImageProcessor, which always pads and resizes to 384 px: the tiny tower keeps 384 px / 16 px = 576 patches, and
num_image_tokens = 576 (the one `<image>` the prompt carries is expanded in the model). mlx-vlm reads `text_config`
(the hub's `language_config` is not mapped) and builds SigLIP from vision_config's own size keys (hub checkpoints
name only `params.model_name`; mlx-vlm's defaults are SigLIP-L), so the twin sets both. transformers has no
multi_modality config (the real checkpoints need the `janus` package), so the config is not linted. The hybrid
SigLIP + SAM tower of DeepSeek-VL is not used here: mlx-vlm hardcodes its SAM-B encoder (SAMEncoder(), 1024 px)."""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_LAYERS,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜▁pad▁｜>",
    "<image_placeholder>",
    "<begin_of_image>",
    "<end_of_image>",
)

# DeepSeek's "deepseek" sft format (Janus's VLChatProcessor): system prompt, "<|User|>: ...", "<|Assistant|>:".
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n\n"
    "{% elif message['role'] == 'user' %}<|User|>: "
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<image>\n{% endif %}{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '\\n\\n' }}"  # (trim_blocks would eat a bare newline after a tag)
    "{% else %}<|Assistant|>: {{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|Assistant|>:{% endif %}"
)


def multi_modality(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<｜begin▁of▁sentence｜>",
        eos="<｜end▁of▁sentence｜>",
        pad="<｜▁pad▁｜>",
    )
    image_size, patch = 384, 16  # mlx-vlm's ImageProcessor always emits 384 px
    base = {
        "architectures": ["MultiModalityCausalLM"],
        "model_type": "multi_modality",
        "image_token_index": tok.id("<image_placeholder>"),
        "pad_id": tok.id("<｜▁pad▁｜>"),
        "num_image_tokens": (image_size // patch) ** 2,
        "vocab_size": vocab,
        "eos_token_id": tok.id("<｜end▁of▁sentence｜>"),
        "text_config": {
            "model_type": "llama",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_HEADS,
            "max_position_embeddings": 16384,
            "rms_norm_eps": 1e-6,
            "vocab_size": vocab,
        },
        "vision_config": {
            "cls": "CLIPVisionTower",
            "model_type": "vision",
            "params": {
                "image_size": image_size,
                "model_name": "siglip_large_patch16_384",
                "select_feature": "same",
                "select_layer": -1,
            },
            # the sizes mlx-vlm's SigLIP reads (hub checkpoints omit them and match mlx-vlm's SigLIP-L defaults)
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": 2,
            "num_attention_heads": VISION_HEADS,
            "image_size": image_size,
            "patch_size": patch,
            "layer_norm_eps": 1e-6,
        },
        "aligner_config": {
            "cls": "MlpProjector",
            "model_type": "aligner",
            "params": {
                "depth": 2,
                "input_dim": VISION_HIDDEN,
                "n_embed": TINY_HIDDEN,
                "projector_type": "mlp_gelu",
            },
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        # Janus's preprocessor_config.json and processor_config.json (VLMImageProcessor / VLChatProcessor)
        preprocessor_config=deep_merge(
            {
                "background_color": [127, 127, 127],
                "do_normalize": True,
                "image_mean": [0.5, 0.5, 0.5],
                "image_processor_type": "VLMImageProcessor",
                "image_size": image_size,
                "image_std": [0.5, 0.5, 0.5],
                "min_size": 14,
                "processor_class": "VLChatProcessor",
                "rescale_factor": 1 / 255,
            },
            pre,
        ),
        processor_config={
            "add_special_token": False,
            "ignore_id": -100,
            "image_tag": "<image_placeholder>",
            "mask_prompt": True,
            "num_image_tokens": cfg["num_image_tokens"],
            "processor_class": "VLChatProcessor",
            "sft_format": "deepseek",
        },
        chat_template=CHAT_TEMPLATE,
        lint_config=False,
    )
