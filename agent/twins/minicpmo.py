"""MiniCPM-o twin (openbmb/MiniCPM-o-4_5 layout as mlx-vlm 0.7.10 reads it: a SigLIP ViT with bucketed 2D position
embeddings (`vpm`), a one-layer perceiver `resampler` (query_num learned queries, 2D sin-cos positions) into a Qwen3
text model (QK-norm; run by mlx-vlm's qwen3_vl LanguageModel with 1D positions), a Whisper encoder (`apm`) with a
ReLU MLP projection and average pooling (audio_pool_step), and a ChatTTS-style speech head (`tts`: a llama backbone,
text / code embeddings, a semantic projector, weight-normed code heads). Text keys at the root, as the real
config.json (mlx-vlm's ModelConfig.from_dict builds text_config from them); vision_config / audio_config /
tts_config nested; the config resolves through a shipped configuration_minicpmo.py (auto_map), as for the real
checkpoint, which transformers lacks.

mlx-vlm's MiniCPMOProcessor: a Qwen2TokenizerFast from the folder, WhisperFeatureExtractor and its own
MiniCPMOImageProcessor (both from preprocessor_config.json). One image, no slicing: resized to about
scale_resolution^2 pixels on the patch grid, each `<image>` becomes `<image>` + `<unk>` x image_feature_size +
`</image>` (= query_num) and the model fills the bounds it finds between the markers. Tiny: 56 px scale (a
320 x 240 image becomes 3 x 5 patches of 14 px), 4 queries; text head_dim stays 128 so the real config's `rope_scaling: null` (mlx-vlm then
uses mrope_section [24, 20, 20], which sums to 64 = head_dim / 2) is kept as is. The speech head is built and
loaded (its weights present, as in a converted 4.5 checkpoint) but text generation never runs it.
"""

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
from agent.twins.minicpm import IMAGE_SPECIALS
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    *IMAGE_SPECIALS,
    "<|audio_start|>",
    "<|audio|>",
    "<|audio_end|>",
    "<|spk_bos|>",
    "<|spk|>",
    "<|spk_eos|>",
    "<|tts_bos|>",
    "<|tts_eos|>",
    "<|listen|>",
    "<|speak|>",
    "<think>",
    "</think>",
)


def minicpmo(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        unk="<unk>",
        config_extra={"model_max_length": 40960},
    )
    patch, scale = 14, 56
    audio_dim = VISION_HIDDEN
    base = {
        "architectures": ["MiniCPMO"],
        "auto_map": {"AutoConfig": "configuration_minicpmo.MiniCPMOConfig"},
        "model_type": "minicpmo",
        "version": 4.5,
        # the Qwen3 text model, at the root as in the real config.json
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "head_dim": 128,  # the real one: the default mrope_section [24, 20, 20] needs head_dim / 2 = 64
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "max_position_embeddings": 40960,
        "vocab_size": vocab,
        # untied on purpose for tiny twins (and as the real 8B): tied random embeddings echo the last prompt token
        "tie_word_embeddings": False,
        "attention_bias": False,
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": [tok.id("<|im_end|>"), tok.id("<|endoftext|>")],
        "query_num": 4,  # real 64
        "image_size": 448,
        "patch_size": patch,
        "slice_mode": True,
        "slice_config": {"model_type": "minicpmv", "patch_size": patch, "max_slice_nums": 1, "scale_resolution": scale},
        "init_vision": True,
        "init_audio": True,
        "init_tts": True,
        "audio_pool_step": 5,
        "audio_chunk_length": 1.0,
        "stream_input": True,
        "vision_config": {
            "model_type": "siglip",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": VISION_HEADS,
            "num_channels": 3,
            "image_size": 56,  # real 980: a 70 x 70 bucketed position table; here 4 x 4
            "patch_size": patch,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
        },
        "audio_config": {
            "model_type": "whisper",
            "d_model": audio_dim,
            "encoder_layers": 1,
            "encoder_attention_heads": VISION_HEADS,
            # the projection reads encoder_ffn_dim // 4 features: the real 4096 // 4 = d_model 1024, kept so
            "encoder_ffn_dim": 4 * audio_dim,
            "num_mel_bins": 80,
            "max_source_positions": 1500,
            "activation_function": "gelu",
            "layer_norm_eps": 1e-5,
        },
        "tts_config": {
            "model_type": "minicpmtts",
            "llm_dim": TINY_HIDDEN,
            "projector_type": "mlp",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": VISION_FFN,
            "num_attention_heads": VISION_HEADS,
            "num_key_value_heads": VISION_HEADS,  # MHA, as the real 12 / 12
            "num_hidden_layers": 1,
            "max_position_embeddings": 4096,
            "num_audio_tokens": 64,  # real 6562
            "num_text_tokens": vocab,  # the LLM's token ids (real 152064 for the 151748 vocab)
            "num_vq": 1,
            # inside the tiny vocab (the real 151687 / 151692 are Qwen3 added tokens past it)
            "audio_bos_token_id": tok.id("<|audio|>"),
            "text_eos_token_id": tok.id("<|tts_eos|>"),
            "condition_type": "hidden_text_merge",
            "backbone_model": "llama",
            "backbone_vocab_size": 256,  # real 32000: the llama backbone's unused token table
        },
    }
    cfg = deep_merge(base, over)
    preprocessor = deep_merge(
        {
            "image_processor_type": "MiniCPMVImageProcessor",
            "processor_class": "MiniCPMOProcessor",
            "max_slice_nums": 1,
            "patch_size": cfg["patch_size"],
            "scale_resolution": scale,
            "image_feature_size": cfg["query_num"],
            "slice_mode": True,
            "use_image_id": True,
            "im_start": "<image>",
            "im_end": "</image>",
            "slice_start": "<slice>",
            "slice_end": "</slice>",
            "unk": "<unk>",
            "norm_mean": [0.5, 0.5, 0.5],
            "norm_std": [0.5, 0.5, 0.5],
            "version": 4.5,
            # the Whisper front end (mlx-vlm's processor loads WhisperFeatureExtractor from this file too)
            "feature_extractor_type": "WhisperFeatureExtractor",
            "feature_size": cfg["audio_config"]["num_mel_bins"],
            "sampling_rate": 16000,
            "hop_length": 160,
            "chunk_length": 30,
            "n_fft": 400,
            "padding_side": "right",
            "padding_value": 0.0,
            "return_attention_mask": True,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        chat_template=chat_template("<image>./</image>"),
        extra_files={"configuration_minicpmo.py": remote_file("configuration_minicpmo.py")},
        trust_remote_code=True,
    )
