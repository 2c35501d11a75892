"""Phi-4-multimodal twin (microsoft/Phi-4-multimodal-instruct as mlx-vlm 0.7.10 reads it: a SigLIP2 NaFlex vision
tower (linear patch embedding, bilinearly resized 2D positions, features from layer -2) with a 2-layer GELU
projector, a Cascades Conformer audio encoder with speech / vision projections, and a Phi-4-mini text model (fused
QKV, partial rotary 0.75, LongRoPE, tied embeddings); text keys at the root, `audio_processor.config` for the
Conformer, `vision_lora` / `speech_lora` as the checkpoint, whose LoRA weights mlx-vlm merges in sanitize).

mlx-vlm's Phi4MMProcessor builds its own Phi4MMImageProcessor from config.json (`min_num_patches` /
`max_num_patches`: tiny here, 4..16 patches of 14 px per image) and splices each `<|image_1|>` in as the single id
-200, which the model expands to the image's features. It hardcodes the audio token id 200011 (`<|endoftext11|>`),
so this twin keeps the real 200,064 vocab and moves the chat specials to their real ids (about 13M parameters,
nearly all the tied embeddings). transformers 5.24 has no phi4mm config class: the config resolves through a shipped
configuration_phi4mm.py (auto_map), as for the real checkpoint, which the processor's AutoTokenizer needs."""

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
from agent.twins.dots import relocated_tokenizer_json
from agent.twins.files import TwinFiles, chat_template
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

EOT, END, USER, ASSISTANT, SYSTEM = "<|endoftext|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"
IMAGE, AUDIO = "<|endoftext10|>", "<|endoftext11|>"
SPECIALS = (EOT, END, USER, ASSISTANT, SYSTEM, IMAGE, AUDIO)

VOCAB = 200064
# the real tokenizer's ids; mlx-vlm's Phi4MMProcessor hardcodes the audio one (AUDIO_TOKEN_INDEX)
FIXED_IDS = {EOT: 199999, IMAGE: 200010, AUDIO: 200011, ASSISTANT: 200019, END: 200020, USER: 200021, SYSTEM: 200022}


def phi4mm(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = max(vocab_of(over or {}), VOCAB)
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos=EOT, pad=EOT, unk=EOT)
    heads = TINY_HEADS
    rope_dims = int(TINY_HIDDEN // heads * 0.75) // 2  # LongRoPE factors: one per rotary frequency
    patch, pos = 14, 4  # a 4 x 4 learned position grid, resized to each image's patch grid
    audio_dim = 32
    base = {
        "architectures": ["Phi4MMForCausalLM"],
        "model_type": "phi4mm",
        "auto_map": {"AutoConfig": "configuration_phi4mm.Phi4MMConfig"},
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": heads,
        "num_key_value_heads": TINY_KV_HEADS,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "partial_rotary_factor": 0.75,
        "rope_scaling": {
            "type": "longrope",
            "short_factor": [1.0] * rope_dims,
            "long_factor": [1.5] * rope_dims,
        },
        "max_position_embeddings": 131072,
        "original_max_position_embeddings": 4096,
        "tie_word_embeddings": True,
        "bos_token_id": FIXED_IDS[EOT],
        "eos_token_id": FIXED_IDS[EOT],
        "pad_token_id": FIXED_IDS[EOT],
        "image_token_index": -200,
        "audio_token_index": FIXED_IDS[AUDIO],
        "mm_hidden_size": VISION_HIDDEN,
        "mm_projector_type": "mlp2x_gelu",
        "min_num_patches": 4,
        "max_num_patches": pos * pos,
        "embd_layer": {
            "embedding_cls": "image_audio",
            "image_embd_layer": {"crop_size": pos * patch, "embedding_cls": "tune_image", "use_hd_transform": True},
            "audio_embd_layer": {"embedding_cls": "audio", "compression_rate": 8, "downsample_rate": 1},
        },
        "vision_lora": {
            "r": 8,
            "lora_alpha": 16,
            "dp": 0.0,
            "layer": "layers.*((self_attn\\.(qkv_proj|o_proj))|(mlp\\.(gate_up|down)_proj))",
        },
        "speech_lora": {
            "r": 8,
            "lora_alpha": 16,
            "dp": 0.0,
            "layer": "((layers.*self_attn\\.(qkv|o)_proj)|(layers.*mlp\\.(gate_up|down)_proj))",
        },
        "audio_processor": {
            "name": "cascades",
            "config": {
                "attention_dim": audio_dim,
                "attention_heads": 2,
                "num_blocks": 1,
                "linear_units": 64,
                "input_size": 80,
                "time_reduction": 8,
                "kernel_size": 3,
                "activation": "swish",
                "conv_activation": "swish",
                "conv_glu_type": "swish",
                "bias_in_glu": True,
                "ext_pw_out_channel": audio_dim,
                "ext_pw_kernel_size": 1,
                "depthwise_seperable_out_channel": audio_dim,
                "depthwise_multiplier": 1,
                "causal": True,
                "batch_norm": False,
                "cnn_layer_norm": True,
                "t5_bias_max_distance": 500,
                "conv_channels": audio_dim,
                "chunk_size": -1,
                "left_chunk": 18,
            },
        },
        "vision_config": {
            "model_type": "siglip2_vision_model",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_attention_heads": VISION_HEADS,
            "num_hidden_layers": 2,  # features come from layer -2
            "patch_size": patch,
            "image_size": pos * patch,
            "num_channels": 3,
            "layer_norm_eps": 1e-6,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        # Phi-4-mini turns: <|user|>...<|end|><|assistant|>; the processor maps <|image_1|> to the -200 splice
        chat_template=chat_template("<|image_1|>", start="<|", end="<|end|>", role_end="|>"),
        extra_files={
            "configuration_phi4mm.py": remote_file("configuration_phi4mm.py"),
            # written after the tokenizer: replaces its tokenizer.json with the relocated one
            "tokenizer.json": relocated_tokenizer_json(tok, FIXED_IDS),
        },
        trust_remote_code=True,
    )
