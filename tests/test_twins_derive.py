"""agent.twins.derive: tiny configs derived from mlx-vlm's own config dataclasses keep their invariants.

Pure logic (the config modules are read as source, no mlx), except the last test, which builds and runs a
derived twin through `python -m agent.twins.check` in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent.twins import derive
from agent.twins.common import TINY_HIDDEN, TINY_LAYERS, TINY_VOCAB, VISION_HIDDEN

# the fields each architecture's dataclasses require without a default (derive names them when missing)
REQUIRED = {
    "qwen3_vl": {
        "model_type": "qwen3_vl",
        "text_config": {
            "model_type": "qwen3_vl_text",
            "rms_norm_eps": 1e-6,
            "rope_theta": 5e6,
            "max_position_embeddings": 32768,
        },
    },
    "qwen4_exp": {
        "model_type": "qwen4_exp",
        "text_config": {
            "model_type": "qwen4_exp_text",
            "linear_conv_kernel_dim": 4,
            "rms_norm_eps": 1e-6,
            "max_position_embeddings": 32768,
        },
    },
    "glm5_next": {},
    "deepseek_v4": {},
    "kimi_k3": {},
    "minimax_m3_vl": {},
    "molmo2": {},
    "hunyuan_vl": {},
}


def _towers(cfg: dict):
    yield cfg
    for key, sub in cfg.items():
        if key.endswith("_config") and isinstance(sub, dict):
            yield sub


@pytest.mark.parametrize("arch", sorted(REQUIRED))
def test_derived_config_keeps_the_invariants(arch):
    cfg = derive.derive(arch, REQUIRED[arch])
    # only the token ids are left to the family specifics (they come from the twin's tokenizer)
    assert [p for p in derive.problems(cfg) if "outside the vocab" not in p] == []
    for tower in _towers(cfg):
        hidden, heads, kv = tower.get("hidden_size"), tower.get("num_attention_heads"), tower.get("num_key_value_heads")
        if isinstance(hidden, int) and isinstance(heads, int) and not tower.get("head_dim"):
            assert hidden % heads == 0
        if isinstance(heads, int) and isinstance(kv, int) and kv:
            assert heads % kv == 0
        assert tower.get("num_hidden_layers", TINY_LAYERS) <= TINY_LAYERS
        assert tower.get("vocab_size", TINY_VOCAB) <= TINY_VOCAB
    text = cfg.get("text_config", cfg)
    assert text["hidden_size"] == TINY_HIDDEN


def test_a_vision_tower_is_shrunk_to_the_vision_sizes_and_feeds_the_text_width():
    cfg = derive.derive("qwen3_vl", REQUIRED["qwen3_vl"])
    vision = cfg["vision_config"]
    assert (vision["hidden_size"], vision["depth"], vision["out_hidden_size"]) == (VISION_HIDDEN, 2, TINY_HIDDEN)
    assert all(0 <= i < vision["depth"] for i in vision["fullatt_block_indexes"])


def test_a_flat_config_shrinks_its_prefixed_vision_fields():
    cfg = derive.derive("deepseek_v41")
    assert cfg["vision_hidden_size"] == VISION_HIDDEN and cfg["vision_num_layers"] == 2
    assert cfg["num_key_value_heads"] == 1  # MQA stays MQA
    assert cfg["num_experts_per_tok"] <= cfg["n_routed_experts"]


def test_rope_sections_sum_to_the_rotary_half():
    qwen3 = derive.derive("qwen3_vl", REQUIRED["qwen3_vl"])["text_config"]
    assert qwen3["rope_scaling"]["mrope_section"] == [4, 2, 2]  # what the hand-written qwen3_vl twin uses
    # partial rotary 0.25 at head_dim 16 leaves 2 dims for 3 sections: the heads widen to 32, as the qwen3_5 twin
    qwen4 = derive.derive("qwen4_exp", REQUIRED["qwen4_exp"])["text_config"]
    assert qwen4["head_dim"] == 32 and qwen4["rope_parameters"]["mrope_section"] == [2, 1, 1]


def test_reproduces_the_hand_written_qwen3_vl_twin_dimensions():
    from agent.twins import qwen

    hand = qwen.qwen3_vl().config
    derived = derive.derive("qwen3_vl", REQUIRED["qwen3_vl"])
    keys = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads"]
    assert {k: derived["text_config"][k] for k in keys} == {k: hand["text_config"][k] for k in keys}
    keys = ["hidden_size", "intermediate_size", "depth", "num_heads", "out_hidden_size", "spatial_merge_size"]
    assert {k: derived["vision_config"][k] for k in keys} == {k: hand["vision_config"][k] for k in keys}


def test_required_fields_without_defaults_are_named():
    with pytest.raises(ValueError, match=r"text_config\.rms_norm_eps"):
        derive.derive("qwen3_vl", {"model_type": "qwen3_vl"})


def test_per_layer_lists_keep_each_kind_and_index_lists_fit_the_depth():
    assert derive._resample(["linear", "linear", "linear", "full"] * 4, 2) == ["linear", "full"]
    assert derive._resample(["a", "a", "a"], 2) == ["a", "a"]
    assert derive._scale_indexes([7, 15, 23, 31], 32, 2) == [0, 1]
    assert derive._scale_indexes([-1, -2], 27, 2) == [-1, -2]


def test_problems_reports_broken_invariants():
    bad = {"hidden_size": 64, "num_attention_heads": 3, "num_key_value_heads": 2, "vocab_size": 512}
    bad |= {"num_experts": 2, "num_experts_per_tok": 4, "image_token_id": 600}
    found = " | ".join(derive.problems(bad))
    for text in ("does not divide hidden_size", "does not divide num_attention_heads", "top-k 4 > experts 2", "600"):
        assert text in found


def test_derive_stays_mlx_free():
    code = "import sys; from agent.twins import derive; derive.derive('glm5_next'); print('mlx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_a_derived_twin_loads_and_generates(grid_cache):
    """twin:glm5_next is derived; its 4-bit variant runs on CPU (bf16 MoE cannot: GatherMM is float32-only)."""
    env = {**os.environ, "GRID_CACHE": str(grid_cache), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "agent.twins.check", "twin:glm5_next-q4"], capture_output=True, text=True, env=env
    )
    row = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("{")))
    assert row["ok"], row.get("error")
    assert row["processor"] == "Glm5NextProcessor" and row["generation_tokens"] >= 1
