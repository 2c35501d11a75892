"""Memory prediction: safetensors headers read without tensor data, KV cache from text_config, fit against a class."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from grid.driver import memory

QWEN2_VL_7B = {  # dims of Qwen/Qwen2-VL-7B-Instruct's config.json (8.29 B parameters)
    "model_type": "qwen2_vl",
    "hidden_size": 3584,
    "num_hidden_layers": 28,
    "intermediate_size": 18944,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "hidden_size": 3584},
}
TINY = {
    "model_type": "gemma3",
    "text_config": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "intermediate_size": 128,
        "vocab_size": 512,
        "torch_dtype": "bfloat16",
    },
}


def write_model(folder, config, shards):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    for i, tensors in enumerate(shards):
        save_file(tensors, str(folder / f"model-{i:05d}.safetensors"), metadata={"format": "mlx"})
    return folder


def test_weight_bytes_are_the_sum_of_header_tensor_sizes(tmp_path):
    shards = [
        {"a": np.zeros((64, 32), np.float32), "b": np.zeros((10,), np.float16)},
        {"c": np.zeros((3, 5, 7), np.uint8), "d": np.zeros((100,), np.int64)},
    ]
    folder = write_model(tmp_path / "m", TINY, shards)
    expected = 64 * 32 * 4 + 10 * 2 + 3 * 5 * 7 + 100 * 8
    assert memory.safetensors_weight_bytes(folder) == expected
    est = memory.predict_memory_gb(folder, max_tokens=64)
    assert est.weights_from == "safetensors" and est.weight_bytes == expected


def test_header_is_read_without_tensor_data(tmp_path):
    """A file truncated right after its header still gives its size: the tensor bytes are never read."""
    folder = write_model(tmp_path / "m", TINY, [{"w": np.ones((1024, 1024), np.float32)}])
    path = next(folder.glob("*.safetensors"))
    (length,) = struct.unpack("<Q", path.read_bytes()[:8])
    path.write_bytes(path.read_bytes()[: 8 + length])
    assert memory.safetensors_weight_bytes(folder) == 1024 * 1024 * 4


def test_corrupt_header_is_a_clear_error(tmp_path):
    folder = write_model(tmp_path / "m", TINY, [])
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(memory.ModelSizeError, match="not a safetensors file"):
        memory.predict_memory_gb(folder, 16)


def test_kv_cache_formula_uses_text_config():
    # layers x kv_heads x head_dim x 2 x tokens x bytes
    assert memory.kv_cache_bytes(TINY, 1000) == 2 * 2 * 16 * 2 * 1000 * 2
    # qwen2_vl keeps text dims at the top level; head_dim = hidden / heads = 128
    assert memory.kv_cache_bytes(QWEN2_VL_7B, 2048) == 28 * 4 * 128 * 2 * 2048 * 2


def test_config_only_estimate_is_near_the_real_parameter_count():
    params = memory.config_weight_bytes(QWEN2_VL_7B) / 2
    assert 7.9e9 < params < 8.6e9
    quantized = dict(QWEN2_VL_7B, quantization={"bits": 4, "group_size": 64})
    assert memory.config_weight_bytes(quantized) < memory.config_weight_bytes(QWEN2_VL_7B) / 3


def test_no_weight_files_falls_back_to_config(tmp_path):
    folder = write_model(tmp_path / "m", QWEN2_VL_7B, [])
    est = memory.predict_memory_gb(folder, max_tokens=256, prompt_tokens_hint=1024)
    assert est.weights_from == "config"
    assert est.kv_bytes == 28 * 4 * 128 * 2 * (1024 + 256) * 2
    assert est.activation_bytes >= memory.ACTIVATION_IMAGE_BYTES
    assert est.total_gb == pytest.approx((est.weight_bytes + est.kv_bytes + est.activation_bytes) / memory.GB, abs=1e-3)


def test_fit_against_classes():
    est = memory.predict_memory(QWEN2_VL_7B, max_tokens=256)  # ~17 GB in bf16
    assert 15 < est.total_gb < 20
    assert memory.fits(est, hardware_ram_gb=8, working_set_gb=None) == (False, 6.0)  # 0.75 x 8 GB Mac
    assert memory.fits(est, hardware_ram_gb=128, working_set_gb=96.0) == (True, 96.0)
    ok, limit = memory.fits(est, hardware_ram_gb=16, working_set_gb=None)
    assert (ok, limit) == (False, 12.0)
    assert memory.fits(est, hardware_ram_gb=32, working_set_gb=None) == (True, 24.0)
    assert memory.fits(est, hardware_ram_gb=None, working_set_gb=None) == (True, None)


def test_hub_parameter_counts_give_exact_weight_bytes():
    # an MLX 4-bit repo: packed U32 weights plus BF16 scales/biases
    assert memory.param_count_weight_bytes({"U32": 1000, "BF16": 500, "F32": 10}) == 4000 + 1000 + 40
