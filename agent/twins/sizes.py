"""Real-size twins: the public config.json dimensions of named real models, as data.

Each entry names the Hugging Face repo whose config.json the dimensions come from, the overrides merged into the tiny
twin's config, the preprocessor values that set how many image tokens a picture becomes, and the published parameter
count (model card / safetensors total, in billions) that the dimensions must reproduce. Token ids, tokenizer and
weights stay synthetic: random weights, like optimum-benchmark's no_weights mode, so speed and memory match the real
model while nothing is downloaded. tests/test_twins_sizes.py checks every entry: the built config keeps these values,
passes transformers' validation, and mlx-vlm's model built from it has the published parameter count (within 2%).
"""

from __future__ import annotations

from dataclasses import dataclass, field

QWEN_VL_PIXELS = {"min_pixels": 56 * 56, "max_pixels": 28 * 28 * 1280}  # Qwen2/2.5-VL preprocessor_config.json
QWEN3_VL_PIXELS = {"min_pixels": 32 * 32 * 4, "max_pixels": 32 * 32 * 1280}


@dataclass(frozen=True)
class RealSize:
    model_id: str  # the Hugging Face repo whose config.json the dimensions come from
    config: dict  # overrides merged into the tiny twin config
    preprocessor: dict = field(default_factory=dict)
    params_b: float = 0.0  # published total parameter count, billions


def _qwen2_vl(hidden, ffn, layers, heads, kv, vocab, tie) -> dict:
    return {
        "hidden_size": hidden,
        "intermediate_size": ffn,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "vocab_size": vocab,
        "tie_word_embeddings": tie,
        "rope_scaling": {"type": "mrope", "rope_type": "default", "mrope_section": [16, 24, 24]},
    }


REAL_SIZES: dict[str, dict[str, RealSize]] = {
    "qwen2_vl": {
        "2b": RealSize(
            "Qwen/Qwen2-VL-2B-Instruct",
            {
                **_qwen2_vl(1536, 8960, 28, 12, 2, 151936, True),
                "vision_config": {
                    "depth": 32,
                    "embed_dim": 1280,
                    "hidden_size": 1536,
                    "num_heads": 16,
                    "mlp_ratio": 4,
                    "patch_size": 14,
                    "spatial_merge_size": 2,
                },
            },
            QWEN_VL_PIXELS,
            2.21,
        ),
        "7b": RealSize(
            "Qwen/Qwen2-VL-7B-Instruct",
            {
                **_qwen2_vl(3584, 18944, 28, 28, 4, 152064, False),
                "vision_config": {
                    "depth": 32,
                    "embed_dim": 1280,
                    "hidden_size": 3584,
                    "num_heads": 16,
                    "mlp_ratio": 4,
                    "patch_size": 14,
                    "spatial_merge_size": 2,
                },
            },
            QWEN_VL_PIXELS,
            8.29,
        ),
    },
    "qwen2_5_vl": {
        "3b": RealSize(
            "Qwen/Qwen2.5-VL-3B-Instruct",
            {
                **_qwen2_vl(2048, 11008, 36, 16, 2, 151936, True),
                "vision_config": {
                    "depth": 32,
                    "hidden_size": 1280,
                    "intermediate_size": 3420,
                    "num_heads": 16,
                    "out_hidden_size": 2048,
                    "patch_size": 14,
                    "window_size": 112,
                    "fullatt_block_indexes": [7, 15, 23, 31],
                },
            },
            QWEN_VL_PIXELS,
            3.75,
        ),
        "7b": RealSize(
            "Qwen/Qwen2.5-VL-7B-Instruct",
            {
                **_qwen2_vl(3584, 18944, 28, 28, 4, 152064, False),
                "vision_config": {
                    "depth": 32,
                    "hidden_size": 1280,
                    "intermediate_size": 3420,
                    "num_heads": 16,
                    "out_hidden_size": 3584,
                    "patch_size": 14,
                    "window_size": 112,
                    "fullatt_block_indexes": [7, 15, 23, 31],
                },
            },
            QWEN_VL_PIXELS,
            8.29,
        ),
    },
    "qwen3_vl": {
        "2b": RealSize(
            "Qwen/Qwen3-VL-2B-Instruct",
            {
                "tie_word_embeddings": True,
                "text_config": {
                    "hidden_size": 2048,
                    "intermediate_size": 6144,
                    "num_hidden_layers": 28,
                    "num_attention_heads": 16,
                    "num_key_value_heads": 8,
                    "head_dim": 128,
                    "vocab_size": 151936,
                    "tie_word_embeddings": True,
                    "rope_scaling": {"rope_type": "default", "mrope_section": [24, 20, 20], "mrope_interleaved": True},
                },
                "vision_config": {
                    "depth": 24,
                    "hidden_size": 1024,
                    "intermediate_size": 4096,
                    "num_heads": 16,
                    "out_hidden_size": 2048,
                    "patch_size": 16,
                    "num_position_embeddings": 2304,
                    "deepstack_visual_indexes": [5, 11, 17],
                },
            },
            QWEN3_VL_PIXELS,
            2.13,
        ),
    },
    "smolvlm": {
        "2b": RealSize(
            "HuggingFaceTB/SmolVLM-Instruct",
            {
                "scale_factor": 3,
                "vocab_size": 49155,
                "text_config": {
                    "hidden_size": 2048,
                    "intermediate_size": 8192,
                    "num_hidden_layers": 24,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 32,
                    "vocab_size": 49155,
                    "rope_theta": 273768.0,
                    "max_position_embeddings": 16384,
                },
                "vision_config": {
                    "hidden_size": 1152,
                    "intermediate_size": 4304,
                    "num_hidden_layers": 27,
                    "num_attention_heads": 16,
                    "patch_size": 14,
                    "image_size": 384,
                },
            },
            {},
            2.25,
        ),
        # the smallest real-size twin: small enough that a 2-core CPU node finishes it (issue 12's second class)
        "256m": RealSize(
            "HuggingFaceTB/SmolVLM-256M-Instruct",
            {
                "scale_factor": 4,
                "vocab_size": 49280,
                "tie_word_embeddings": False,
                "text_config": {
                    "hidden_size": 576,
                    "intermediate_size": 1536,
                    "num_hidden_layers": 30,
                    "num_attention_heads": 9,
                    "num_key_value_heads": 3,
                    "vocab_size": 49280,
                    "rope_theta": 100000.0,
                    "max_position_embeddings": 8192,
                    "tie_word_embeddings": False,
                },
                "vision_config": {
                    "hidden_size": 768,
                    "intermediate_size": 3072,
                    "num_hidden_layers": 12,
                    "num_attention_heads": 12,
                    "patch_size": 16,
                    "image_size": 512,
                },
            },
            {},
            0.256,
        ),
    },
    "idefics3": {
        "8b": RealSize(
            "HuggingFaceM4/Idefics3-8B-Llama3",
            {
                "scale_factor": 2,
                "vocab_size": 128259,
                "text_config": {
                    "hidden_size": 4096,
                    "intermediate_size": 14336,
                    "num_hidden_layers": 32,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 8,
                    "vocab_size": 128259,
                    "rope_theta": 500000.0,
                },
                "vision_config": {
                    "hidden_size": 1152,
                    "intermediate_size": 4304,
                    "num_hidden_layers": 27,
                    "num_attention_heads": 16,
                    "patch_size": 14,
                    "image_size": 364,
                },
            },
            {},
            8.46,
        ),
    },
    "gemma3": {
        "4b": RealSize(
            "google/gemma-3-4b-it",
            {
                "mm_tokens_per_image": 256,
                "text_config": {
                    "hidden_size": 2560,
                    "intermediate_size": 10240,
                    "num_hidden_layers": 34,
                    "num_attention_heads": 8,
                    "num_key_value_heads": 4,
                    "head_dim": 256,
                    "query_pre_attn_scalar": 256,
                    "vocab_size": 262208,
                    "sliding_window": 1024,
                    "sliding_window_pattern": 6,
                    "rope_scaling": {"rope_type": "linear", "factor": 8.0},
                },
                "vision_config": {
                    "hidden_size": 1152,
                    "intermediate_size": 4304,
                    "num_hidden_layers": 27,
                    "num_attention_heads": 16,
                    "patch_size": 14,
                    "image_size": 896,
                },
            },
            {},
            4.30,
        ),
        "27b": RealSize(
            "google/gemma-3-27b-it",
            {
                "mm_tokens_per_image": 256,
                "text_config": {
                    "hidden_size": 5376,
                    "intermediate_size": 21504,
                    "num_hidden_layers": 62,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 16,
                    "head_dim": 128,
                    "query_pre_attn_scalar": 168,
                    "vocab_size": 262208,
                    "sliding_window": 1024,
                    "sliding_window_pattern": 6,
                    "rope_scaling": {"rope_type": "linear", "factor": 8.0},
                },
                "vision_config": {
                    "hidden_size": 1152,
                    "intermediate_size": 4304,
                    "num_hidden_layers": 27,
                    "num_attention_heads": 16,
                    "patch_size": 14,
                    "image_size": 896,
                },
            },
            {},
            27.43,
        ),
    },
    "paligemma": {
        "3b": RealSize(
            "google/paligemma2-3b-pt-224",
            {
                "hidden_size": 2304,
                "projection_dim": 2304,
                "vocab_size": 257216,
                "text_config": {
                    "hidden_size": 2304,
                    "intermediate_size": 9216,
                    "num_hidden_layers": 26,
                    "num_attention_heads": 8,
                    "num_key_value_heads": 4,
                    "head_dim": 256,
                    "query_pre_attn_scalar": 256,
                    "vocab_size": 257216,
                    "sliding_window": 4096,
                },
                "vision_config": {
                    "hidden_size": 1152,
                    "intermediate_size": 4304,
                    "num_hidden_layers": 27,
                    "num_attention_heads": 16,
                    "patch_size": 14,
                    "image_size": 224,
                    "projection_dim": 2304,
                },
            },
            {},
            3.03,
        ),
    },
    "pixtral": {
        "12b": RealSize(
            "mistral-community/pixtral-12b",
            {
                "vocab_size": 131072,
                "text_config": {
                    "hidden_size": 5120,
                    "intermediate_size": 14336,
                    "num_hidden_layers": 40,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 8,
                    "head_dim": 128,
                    "vocab_size": 131072,
                },
                "vision_config": {
                    "hidden_size": 1024,
                    "intermediate_size": 4096,
                    "num_hidden_layers": 24,
                    "num_attention_heads": 16,
                    "head_dim": 64,
                    "image_size": 1024,
                    "patch_size": 16,
                },
            },
            {"size": {"longest_edge": 1024}},
            12.68,
        ),
    },
    "mllama": {
        "11b": RealSize(
            "meta-llama/Llama-3.2-11B-Vision-Instruct",
            {
                "text_config": {
                    "vocab_size": 128256,
                    "hidden_size": 4096,
                    "intermediate_size": 14336,
                    "num_hidden_layers": 40,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 8,
                    "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38],
                },
                "vision_config": {
                    "image_size": 560,
                    "patch_size": 14,
                    "hidden_size": 1280,
                    "intermediate_size": 5120,
                    "num_hidden_layers": 32,
                    "num_global_layers": 8,
                    "num_attention_heads": 16,
                    "intermediate_layers_indices": [3, 7, 15, 23, 30],
                    "vision_output_dim": 7680,
                },
            },
            {},
            10.67,
        ),
    },
    "llava_next": {
        "7b": RealSize(
            "llava-hf/llava-v1.6-mistral-7b-hf",
            {
                "vocab_size": 32064,
                "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]],
                "text_config": {
                    "hidden_size": 4096,
                    "intermediate_size": 14336,
                    "num_hidden_layers": 32,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 8,
                    "vocab_size": 32064,
                    "rope_theta": 1000000.0,
                    "max_position_embeddings": 32768,
                },
                "vision_config": {
                    "hidden_size": 1024,
                    "intermediate_size": 4096,
                    "num_hidden_layers": 24,
                    "num_attention_heads": 16,
                    "image_size": 336,
                    "patch_size": 14,
                    "projection_dim": 768,
                },
            },
            {},
            7.57,
        ),
    },
    "phi3_v": {
        "4b": RealSize(
            "microsoft/Phi-3.5-vision-instruct",
            {
                "hidden_size": 3072,
                "intermediate_size": 8192,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "num_key_value_heads": 32,
                "vocab_size": 32064,
            },
            {},
            4.15,
        ),
    },
}


def real_size(arch: str, size: str) -> RealSize | None:
    return REAL_SIZES.get(arch, {}).get(size)


def sizes_of(arch: str) -> list[str]:
    return ["tiny", *REAL_SIZES.get(arch, {})]
