"""LLM-jp-VL twin (llm-jp/llm-jp-4-vl-9B layout as mlx-vlm reads it: a SigLIP tower without CLS (`vision_backbone`),
InternVL-style pixel shuffle 0.5 + `mlp1` connector (LayerNorm, Linear, GELU, Linear), llama text under `llm_config`).

Like the real checkpoints, config and processor come from shipped remote code: configuration_llmjpvl.py and
processing_llmjpvl.py, minimal stand-ins (agent/twins/remote_code/) since neither mlx-vlm 0.7.10 nor transformers has
a processor for llmjpvl. The processor tiles each image into up to 12 tiles + a thumbnail and expands `<image>` to
`<|image_start|>` + `<|image_pad|>` x (image_seq_length x tiles) + `<|image_end|>`; the model replaces the
`<|image_pad|>` (img_context_token_id) positions. Tiny: 64 px tiles at the real 16 px patch, 4 tokens per tile.
The chat template is the Harmony one the checkpoints ship (default system turn, ends a generation prompt at
`<|start|>assistant`)."""

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
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<unk>",
    "<s>",
    "<|return|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|image_pad|>",
    "<|image_start|>",
    "<|image_end|>",
    "<pad>",
)
SYSTEM = "You are LLM-jp-VL, a Multimodal LLM trained by LLM-jp."
# The checkpoints' Harmony chat template: string content printed as is; a generation prompt ends at the assistant
# opener (LLMjpVLProcessor.apply_chat_template, not the template, adds the final channel).
CHAT_TEMPLATE = (
    "{%- if not messages or messages[0]['role'] != 'system' -%}"
    "{{- '<|start|>system<|message|>" + SYSTEM + "<|end|>' -}}{%- endif -%}"
    "{%- for message in messages -%}"
    "{{- '<|start|>' + message['role'] -}}"
    "{%- if message['role'] == 'assistant' -%}{{- '<|channel|>final' -}}{%- endif -%}"
    "{{- '<|message|>' + message['content'] -}}"
    "{{- '<|return|>' if loop.last and message['role'] == 'assistant' and not add_generation_prompt else '<|end|>' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|start|>assistant' -}}{%- endif -%}"
)


def llmjpvl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<s>",
        eos="<|return|>",
        pad="<pad>",
        unk="<unk>",
        config_extra={"model_max_length": 65536, "add_bos_token": False},
    )
    tile, patch, ratio = 64, 16, 0.5
    base = {
        "architectures": ["LLMjpVLModel"],
        "model_type": "llmjpvl",
        "auto_map": {"AutoConfig": "configuration_llmjpvl.LLMjpVLConfig"},
        "downsample_ratio": ratio,
        "select_layer": -1,
        "img_context_token_id": tok.id("<|image_pad|>"),
        "eos_token_id": [tok.id("<|return|>")],
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_attention_heads": VISION_HEADS,
            "num_hidden_layers": 2,
            "patch_size": patch,
            "image_size": tile,
            "num_channels": 3,
            "layer_norm_eps": 1e-6,
            "hidden_act": "gelu_pytorch_tanh",
        },
        "llm_config": {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0,
            "max_position_embeddings": 65536,
            "vocab_size": vocab,
            "tie_word_embeddings": False,
            "bos_token_id": tok.id("<s>"),
            "eos_token_id": tok.id("<|return|>"),
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    side = vision["image_size"] // vision["patch_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "SiglipImageProcessor",
            "processor_class": "LLMjpVLProcessor",
            "do_resize": True,
            "size": {"height": vision["image_size"], "width": vision["image_size"]},
            "resample": 3,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
            "do_convert_rgb": True,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        processor_config={
            "auto_map": {"AutoProcessor": "processing_llmjpvl.LLMjpVLProcessor"},
            "processor_class": "LLMjpVLProcessor",
            "image_seq_length": int(side * side * cfg["downsample_ratio"] ** 2),
            "max_dynamic_patch": 12,
            "min_dynamic_patch": 1,
            "use_thumbnail": True,
        },
        chat_template=CHAT_TEMPLATE,
        extra_files={
            "configuration_llmjpvl.py": remote_file("configuration_llmjpvl.py"),
            "processing_llmjpvl.py": remote_file("processing_llmjpvl.py"),
        },
        trust_remote_code=True,
    )
