"""Real-size twins: the public config.json dimensions of named real models, as data.

Each entry is (model id, config overrides, preprocessor overrides). Only dimensions are taken: hidden sizes,
layer and head counts, FFN widths, vocab size, vision tower shape. Token ids, tokenizer and weights stay
synthetic (random weights, like optimum-benchmark's no_weights mode), so speed and memory match the real model
while nothing is downloaded. tests/test_twins_sizes.py checks each built config against these published values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RealSize:
    model_id: str  # the Hugging Face repo whose config.json the dimensions come from
    config: dict  # overrides merged into the tiny twin config
    preprocessor: dict = field(default_factory=dict)


REAL_SIZES: dict[str, dict[str, RealSize]] = {
    "qwen2_vl": {
        "2b": RealSize(
            "Qwen/Qwen2-VL-2B-Instruct",
            {
                "hidden_size": 1536,
                "intermediate_size": 8960,
                "num_hidden_layers": 28,
                "num_attention_heads": 12,
                "num_key_value_heads": 2,
                "vocab_size": 151936,
                "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
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
        ),
        "7b": RealSize(
            "Qwen/Qwen2-VL-7B-Instruct",
            {
                "hidden_size": 3584,
                "intermediate_size": 18944,
                "num_hidden_layers": 28,
                "num_attention_heads": 28,
                "num_key_value_heads": 4,
                "vocab_size": 152064,
                "tie_word_embeddings": False,
                "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
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
        ),
    },
}


def real_size(arch: str, size: str) -> RealSize | None:
    return REAL_SIZES.get(arch, {}).get(size)


def sizes_of(arch: str) -> list[str]:
    return ["tiny", *REAL_SIZES.get(arch, {})]
