"""ERNIE-4.5-VL MoE twin (baidu/ERNIE-4.5-VL-28B-A3B-PT layout: a DFNRope ViT (2D rotary, no position table) whose
patches a variable-resolution resampler merges 2x2 spatially and 2x temporally, feeding an ERNIE-4.5 text model with
3D rotary (hw interleaved + t sections) and dual expert groups (text / multimodal experts, routed by token type,
plus shared experts); a flat config with text keys at the root and a nested vision_config, model_type
"ernie4_5_moe_vl" through shipped remote code, as the PT checkpoints; transformers' native ernie4_5_vl_moe is another
layout). Layer 0 is dense, layer 1 MoE, so both MLP paths run; bf16 MoE (SwitchGLU -> mx.gather_mm) fails on mlx's
CPU backend like the other MoE twins, the -q4 twin runs.

Gotchas: mlx-vlm's Ernie4_5_VLProcessor loads its own SentencePiece Ernie4_5_VLTokenizer from tokenizer.model (no
tokenizer.json), so the twin writes a 512-piece SentencePiece model (image tokens as user-defined pieces) and drops
the default tokenizer.json; it always uses a default ImageProcessor (factor 28, min 56x56 px, max 28*28*1280 px),
whatever preprocessor_config.json says, so a 320x240 image is 18x22 patches = 99 image tokens. The image ids come
from config.json (im_patch_id and the IMAGE_START/END ids, which the real config leaves at mlx-vlm's defaults
100295/101304/101305), so nothing needs the real 103,424 vocab. mrope_section must sum to head_dim / 2."""

from __future__ import annotations

import json

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
from agent.twins.tokenizer import TokenizerSpec, sentencepiece_model

CONTROLS = ("<s>", "</s>")
USER_DEFINED = (
    "<|begin_of_sentence|>",
    "<|end_of_sentence|>",
    "<mask:1>",
    "<mask:7>",
    "<|IMAGE_PLACEHOLDER|>",
    "<|IMAGE_START|>",
    "<|IMAGE_END|>",
    "<|VIDEO_START|>",
    "<|VIDEO_END|>",
)
# SentencePiece ids: <unk> 0, then the controls, then the user-defined pieces
IDS = {piece: i for i, piece in enumerate(("<unk>", *CONTROLS, *USER_DEFINED))}

# The PT checkpoints' template shape: "User: ... Picture 1:<|IMAGE_START|>...<|IMAGE_END|>\nAssistant: "; the
# processor expands <|image@placeholder|> to one <|IMAGE_PLACEHOLDER|> per merged 2x2 patch group.
CHAT_TEMPLATE = (
    "{%- set image_count = namespace(value=0) -%}{{- '<|begin_of_sentence|>' -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}{{- 'User: ' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- 'Assistant: ' -}}{%- endif -%}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{- item['text'] -}}"
    "{%- elif item['type'] in ['image', 'image_url'] -%}{%- set image_count.value = image_count.value + 1 -%}"
    "{{- 'Picture ' ~ image_count.value ~ ':<|IMAGE_START|><|image@placeholder|><|IMAGE_END|>' -}}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}{{- '<|end_of_sentence|>' -}}{%- else -%}{{- '\\n' -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Assistant: ' -}}{%- endif -%}"
)


def _tokenizer_config() -> str:
    return json.dumps(
        {
            "tokenizer_class": "Ernie4_5_VLTokenizer",
            "auto_map": {"AutoTokenizer": ["tokenization_ernie4_5_vl.Ernie4_5_VLTokenizer", None]},
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<unk>",
            "cls_token": "<|begin_of_sentence|>",
            "sep_token": "<|end_of_sentence|>",
            "mask_token": "<mask:1>",
            "additional_special_tokens": ["<mask:1>", "<mask:7>"],
            "model_max_length": 131072,
            "padding_side": "right",
            "chat_template": CHAT_TEMPLATE,
        },
        indent=2,
    )


def ernie4_5_moe_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    # only the vocab size matters: the written tokenizer.json is dropped, tokenizer.model is the tokenizer
    tok = TokenizerSpec(vocab_size=vocab, specials=("<unk>", *CONTROLS, *USER_DEFINED), eos="</s>", unk="<unk>")
    image = IDS["<|IMAGE_PLACEHOLDER|>"]
    base = {
        "architectures": ["Ernie4_5_VLMoeForConditionalGeneration"],
        "model_type": "ernie4_5_moe_vl",
        "auto_map": {"AutoConfig": "configuration_ernie4_5_vl.Ernie4_5_VLMoEConfig"},
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": 131072,
        "rope_theta": 500000.0,
        "rope_3d": True,
        # head_dim 16: 8 rotary frequencies, h and w interleaved (3 + 3), t the last 2 (the real 22/22/20 of 64)
        "freq_allocation": 2,
        "mrope_section": [3, 3, 2],
        "use_bias": False,
        # untied on purpose for tiny twins (the real checkpoint ties): tied random embeddings just echo the prompt
        "tie_word_embeddings": False,
        "moe_num_experts": [4, 4],  # text experts, multimodal experts
        "moe_intermediate_size": [64, 32],
        "moe_k": 2,
        "moe_num_shared_experts": 1,
        "moe_layer_start_index": [1, 1],
        "moe_layer_end_index": [1, 1],
        "moe_layer_interval": 1,
        "moe_use_aux_free": True,
        "moe_gate": "topk",
        "moe_capacity": [4, 4, 4],
        "pixel_hidden_size": VISION_HIDDEN,
        "spatial_conv_size": 2,
        "temporal_conv_size": 2,
        "im_patch_id": image,
        "image_start_token_id": IDS["<|IMAGE_START|>"],
        "image_end_token_id": IDS["<|IMAGE_END|>"],
        "video_start_token_id": IDS["<|VIDEO_START|>"],
        "video_end_token_id": IDS["<|VIDEO_END|>"],
        "video_token_id": image,  # mlx-vlm's default: videos use the image placeholder
        "bos_token_id": IDS["<s>"],
        "eos_token_id": IDS["</s>"],
        "pad_token_id": IDS["<unk>"],
        "torch_dtype": "bfloat16",
        "vision_config": {
            "model_type": "DFNRope_vision_transformer",
            "depth": 2,
            "embed_dim": VISION_HIDDEN,
            "hidden_size": VISION_HIDDEN,
            "num_heads": VISION_HEADS,
            "mlp_ratio": 2,
            "hidden_act": "quick_gelu",
            "in_channels": 3,
            "patch_size": 14,
            "spatial_merge_size": 2,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config={
            "spatial_conv_size": cfg["spatial_conv_size"],
            "temporal_conv_size": cfg["temporal_conv_size"],
        },
        extra_files={
            "configuration_ernie4_5_vl.py": remote_file("configuration_ernie4_5_vl.py"),
            "tokenization_ernie4_5_vl.py": remote_file("tokenization_ernie4_5_vl.py"),
            "tokenizer.model": sentencepiece_model(CONTROLS, USER_DEFINED, cfg["vocab_size"]),
            # written after the default tokenizer: replaces its tokenizer_config.json
            "tokenizer_config.json": _tokenizer_config(),
        },
        drop_files=("tokenizer.json",),
        trust_remote_code=True,
    )
