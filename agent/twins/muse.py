"""Muse Glimmer twin (meta-models/Muse-Glimmer-30B layout: a ViT over 2-frame patches with learned 2-D positions,
windowed attention (windows of pos_emb_height patches) with every 4th layer full, 2 x 2 pixel shuffle into a GELU
adapter and a projection; a text model with three sliding layers per full one, RoPE only on the sliding ones
(layer_rope_theta 0 = NoPE), centred RMSNorm, QK scaling and a final logit softcap; config keys as the released
config.json, parsed by transformers' own MuseGlimmerConfig). mlx-vlm's MuseGlimmerProcessor builds its own numpy
MuseGlimmerImageProcessor from processor_config.json (`max_image_tokens` bounds the merged grid) and frames each
image `<|image_start|>` + `<|patch|>` x n + `<|image_end|>`; it takes the ids from the tokenizer (the real
`<|patch|>` is 200092), so a 512 vocab serves. The chat template is the Harmony-style ATEM one: turns
`<|start|>{role}<|message|>...<|eot|>`, and the generation prompt opens `<|start|>assistant` only (the model writes
the ` to=self` / ` to=user` channel header itself).

Gotcha: the tower's output width is hidden x merge^2, which must equal `out_hidden_size` (the real 1536 x 4 = 6144).

muse_spark (below) shares the tokens, template and vision tower; its text model is all-MoE and it adds audio."""

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

BOS, EOT, PAD = "<|begin_of_text|>", "<|eot|>", "<|finetune_right_pad|>"
IMAGE, VIDEO = "<|patch|>", "<|video|>"
SPECIALS = (
    BOS,
    "<|end_of_text|>",
    PAD,
    "<|start|>",
    "<|message|>",
    EOT,
    "<|eom|>",
    "<|return|>",
    "<|image_start|>",
    "<|image_end|>",
    IMAGE,
    VIDEO,
)

CHAT_TEMPLATE = (
    BOS + "{% for message in messages %}<|start|>{{ message['role'] }}<|message|>"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' or item['type'] == 'image_url' %}" + IMAGE + "{% endif %}"
    "{% if item['type'] == 'text' %}{{ item['text'] if item['text'] is defined else item['content'] }}{% endif %}"
    "{% endfor %}{% endif %}<|eot|>{% endfor %}"
    "{% if add_generation_prompt %}<|start|>assistant{% endif %}"
)


def _tokenizer(vocab: int, specials: tuple) -> TokenizerSpec:
    return TokenizerSpec(
        vocab_size=vocab,
        specials=specials,
        bos=BOS,
        eos=EOT,
        pad=PAD,
        config_extra={"add_bos_token": False},  # the template writes <|begin_of_text|>
    )


def _vision(model_type: str, patch: int, merge: int, **extra) -> dict:
    """The Muse vision tower (Glimmer's and Spark's are one design): two layers, one windowed and one full."""
    return {
        "model_type": model_type,
        "patch_size": patch,
        "patch_temporal": 2,
        "merge_size": merge,
        # learned positions for a 4 x 4 grid, which is also the attention window (the real one: 32 x 32)
        "pos_emb_height": 4,
        "pos_emb_width": 4,
        "hidden_size": VISION_HIDDEN,
        "intermediate_size": VISION_FFN,
        "num_attention_heads": VISION_HEADS,
        "num_hidden_layers": 2,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
        "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
        "layer_types": ["window_attention", "full_attention"],
        **extra,
    }


def muse_glimmer(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab, SPECIALS)
    patch, merge = 14, 2
    layer_types = ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]
    base = {
        "architectures": ["MuseGlimmerForConditionalGeneration"],
        "model_type": "muse_glimmer",
        "image_token_id": tok.id(IMAGE),
        "video_token_id": tok.id(VIDEO),
        "out_hidden_size": VISION_HIDDEN * merge * merge,
        "projector_hidden_size": 2 * TINY_HIDDEN,
        "projector_hidden_act": "gelu",
        "tie_word_embeddings": False,
        "text_config": {
            "model_type": "muse_glimmer_text",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": len(layer_types),
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "hidden_activation": "silu",
            "max_position_embeddings": 131072,
            "rms_norm_eps": 1e-5,
            "sliding_window": 2048,
            "layer_types": layer_types,
            "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"},
            "layer_rope_theta": [500000.0 if t == "sliding_attention" else 0 for t in layer_types],
            "qk_scale_factor": 3.87,
            "output_multiplier": 0.19611613513818404,
            "final_logit_softcapping": 20.0,
            "tie_word_embeddings": False,
            "bos_token_id": tok.id(BOS),
            "eos_token_id": tok.id(EOT),
            "pad_token_id": tok.id(PAD),
        },
        "vision_config": _vision("muse_glimmer_vision", patch, merge),
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    image_processor = {
        "patch_size": vision["patch_size"],
        "temporal_patch_size": vision["patch_temporal"],
        "merge_size": vision["merge_size"],
        "max_image_tokens": 16,  # tiny: at most 16 merged tokens (the real processor: 4096)
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "rescale_factor": 1 / 255,
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config={
            "processor_class": "MuseGlimmerProcessor",
            "image_processor": deep_merge(image_processor, pre),
        },
        chat_template=CHAT_TEMPLATE,
    )


AUDIO = "<|audio|>"


def muse_spark(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """Muse Spark twin (meta-models/Muse-Spark-Open layout): Muse Glimmer's tokens, chat template, vision tower and
    adapter (the same ViT over 2-frame patches), a text model whose every feed-forward is a routed MoE over a
    compressed width (moe_hidden_size, then post_expert_proj back to hidden; mlx-vlm rejects dense or shared-expert
    layers), and a conv waveform audio tower (four patch-and-mix stages, 16 x 6 x 5 x 4 = 1,920 samples a token)
    projected to the text width. Config keys as the released config.json, parsed by transformers' MuseSparkConfig.
    mlx-vlm's MuseSparkProcessor builds its numpy image processor from the vision config (patch and merge size) and
    processor_config.json's `image_processor.max_image_tokens`; its `<|patch|>` / `<|audio|>` / `<|video|>` ids come
    from the tokenizer, so a 512 vocab serves. mlx-vlm's TextConfig has no defaults for its schedules, so the twin
    writes layer_types / layer_rope_theta / mlp_layer_types for its depth (three sliding RoPE layers per NoPE full
    one, as transformers derives them counted back from the last layer)."""
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab, SPECIALS + (AUDIO,))
    patch, merge = 14, 2
    layer_types = ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]
    eos = [tok.id("<|end_of_text|>"), tok.id(EOT)]  # the real [200001, 200008]
    base = {
        "architectures": ["MuseSparkForConditionalGeneration"],
        "model_type": "muse_spark",
        "image_token_id": tok.id(IMAGE),
        "video_token_id": tok.id(VIDEO),
        "audio_token_id": tok.id(AUDIO),
        "eos_token_id": eos,
        "out_hidden_size": VISION_HIDDEN * merge * merge,
        "projector_hidden_size": 2 * TINY_HIDDEN,
        "projector_hidden_act": "gelu",
        "tie_word_embeddings": False,
        "text_config": {
            "model_type": "muse_spark_text",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": len(layer_types),
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "head_dim": TINY_HEAD_DIM,
            "hidden_act": "silu",
            "max_position_embeddings": 1048576,
            "rms_norm_eps": 1e-5,
            "post_norm_eps": 1e-8,
            "sliding_window": 2048,
            "layer_types": layer_types,
            "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"},
            "layer_rope_theta": [500000.0 if t == "sliding_attention" else 0 for t in layer_types],
            "mlp_layer_types": ["sparse"] * len(layer_types),
            "final_logit_softcapping": 20.0,
            "qk_scale_factor": 5.4730064863875,
            "output_multiplier": 0.1767766952966369,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "moe_hidden_size": 32,  # the experts' compressed model width (real 4096 of 8192)
            "moe_intermediate_size": 32,
            "routed_scaling_factor": 1.0,
            "tie_word_embeddings": False,
            "bos_token_id": tok.id(BOS),
            "eos_token_id": eos,
            "pad_token_id": tok.id(PAD),
        },
        "vision_config": _vision("muse_spark_vision", patch, merge, max_position_embeddings=16),
        "audio_config": {
            "model_type": "muse_spark_audio",
            "patch_sizes": [16, 6, 5, 4],  # real: 1,920 samples (80 ms at 24 kHz) per token
            "hidden_sizes": [8, 8, 16, 16],
            "depths": [1, 1, 1, 1],
            "num_hidden_layers": 4,
            "mlp_ratio": 2.0,
            "conv_kernel_size": 7,
            "hidden_act": "gelu",
            "rms_norm_eps": 1e-6,
            "out_hidden_size": TINY_HIDDEN,  # must equal the text hidden size
        },
    }
    cfg = deep_merge(base, over)
    image_processor = {"max_image_tokens": 16, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config={
            "processor_class": "MuseSparkProcessor",
            "image_processor": deep_merge(image_processor, pre),
            "feature_extractor": {"sampling_rate": 24000},
        },
        chat_template=CHAT_TEMPLATE,
    )
