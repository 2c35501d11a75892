"""Predicted memory need of a cell, compared with what a hardware class can give it (placement, never mlx).

need = weights + KV cache for the token budget + activations (image + prefill) and a runtime allowance.

- Weights: the sum of tensor sizes in the safetensors headers (only the 8-byte length and the JSON header are read,
  never tensor data), or, with no weight files at hand, a parameter count from config.json's dims.
- KV cache: layers x kv_heads x head_dim x 2 (K and V) x tokens x dtype bytes, from config.json's text_config.
- Activations: a documented rough allowance (ACTIVATION_* below). It errs high: a cell wrongly skipped shows up as
  `skipped` with both numbers and can be forced with a model's memory_limit_gb, a cell wrongly placed dies as `oom`.

A class's limit is MLX's recommended working set when the node reported one (Metal's recommendedMaxWorkingSetSize,
GPU memory on CUDA), else DEFAULT_WORKING_SET_FRACTION x RAM (about what macOS gives the GPU on a Mac).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

GB = 1024**3  # grid reports GB as GiB, like hw.memsize-derived class labels (an "18GB" Mac has 18 GiB)

DEFAULT_WORKING_SET_FRACTION = 0.75
DEFAULT_PROMPT_TOKENS = 1536  # text + image tokens of a typical VLM prompt (Qwen2-VL: ~1k tokens for a 1 MP image)
ACTIVATION_IMAGE_BYTES = 512 * 1024**2  # vision tower on one image: patches x width x a few live buffers, rounded up
ACTIVATION_RUNTIME_BYTES = 256 * 1024**2  # MLX allocator slack, compiled kernels, processor tensors
ACTIVATION_LIVE_BUFFERS = 4  # hidden + MLP intermediate buffers alive at once during prefill

SAFETENSORS_DTYPE_BYTES = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
CONFIG_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
_MAX_HEADER = 100 * 1024**2  # the format caps headers at 100 MB; a bigger length means a corrupt file


class ModelSizeError(ValueError):
    """A model folder whose size cannot be read (corrupt header, no config): the caller places the cell unpredicted."""


@dataclass(frozen=True)
class MemoryEstimate:
    weight_bytes: int
    kv_bytes: int
    activation_bytes: int
    weights_from: str  # "safetensors" | "config" | "hub-metadata"

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.kv_bytes + self.activation_bytes

    @property
    def total_gb(self) -> float:
        return round(self.total_bytes / GB, 3)


# --- weights ----------------------------------------------------------------------------------------------------------


def safetensors_header(path: Path) -> dict:
    """The JSON header of a .safetensors file: 8-byte little-endian length, then that many bytes of JSON."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ModelSizeError(f"{path}: shorter than a safetensors header")
        (length,) = struct.unpack("<Q", raw)
        if length > _MAX_HEADER:
            raise ModelSizeError(f"{path}: header length {length} is not a safetensors file")
        try:
            return json.loads(f.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelSizeError(f"{path}: unreadable safetensors header ({e})") from None


def safetensors_weight_bytes(model_dir: Path) -> int | None:
    """Sum of tensor byte sizes over the folder's *.safetensors files; None when it holds none."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for path in files:
        for name, info in safetensors_header(path).items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            total += end - begin
    return total


def param_count_weight_bytes(counts: dict[str, int]) -> int:
    """Weight bytes from per-dtype parameter counts (huggingface_hub's get_safetensors_metadata().parameter_count).
    Quantized MLX repos store packed weights as U32 (8 4-bit values each), so the bytes are still exact."""
    return sum(n * SAFETENSORS_DTYPE_BYTES.get(dtype.upper(), 2) for dtype, n in counts.items())


def _text_config(config: dict) -> dict:
    """Text dims: text_config (llava, gemma3, qwen2_5_vl) with top-level keys as fall-back (qwen2_vl keeps them there)."""
    text = dict(config)
    text.update(config.get("text_config") or {})
    return text


def _dtype_bytes(config: dict) -> int:
    text = config.get("text_config") or {}
    name = (
        text.get("torch_dtype") or text.get("dtype") or config.get("torch_dtype") or config.get("dtype") or "bfloat16"
    )
    return CONFIG_DTYPE_BYTES.get(str(name), 2)


def _head_dim(text: dict) -> int:
    heads = int(text.get("num_attention_heads") or 1)
    return int(text.get("head_dim") or int(text.get("hidden_size", 0)) // heads)


def config_weight_bytes(config: dict) -> int:
    """Rough weight bytes from dims: embeddings, attention and gated MLP per text layer, a ViT vision tower.
    Used only when no weight files are at hand; MoE and exotic blocks are not modelled."""
    t = _text_config(config)
    hidden, layers = int(t.get("hidden_size", 0)), int(t.get("num_hidden_layers", 0))
    inter, vocab = int(t.get("intermediate_size", 4 * hidden)), int(t.get("vocab_size", 0))
    heads, kv_heads = (
        int(t.get("num_attention_heads") or 1),
        int(t.get("num_key_value_heads") or t.get("num_attention_heads") or 1),
    )
    hd = _head_dim(t)
    attn = hidden * hd * (heads + 2 * kv_heads) + heads * hd * hidden
    params = layers * (attn + 3 * hidden * inter) + vocab * hidden * (1 if t.get("tie_word_embeddings", True) else 2)
    v = config.get("vision_config") or {}
    v_hidden = int(v.get("embed_dim") or v.get("hidden_size") or 0)  # qwen2_vl: hidden_size is the merger output
    v_layers = int(v.get("num_hidden_layers") or v.get("depth") or 0)
    v_inter = int(v.get("intermediate_size") or v_hidden * int(v.get("mlp_ratio") or 4))
    params += v_layers * (4 * v_hidden * v_hidden + 2 * v_hidden * v_inter)
    q = config.get("quantization") or config.get("quantization_config") or {}
    if q.get("bits"):  # packed weights plus a 16-bit scale and bias per group
        return int(params * (q["bits"] / 8 + 4 / int(q.get("group_size", 64))))
    return params * _dtype_bytes(config)


# --- KV cache and activations --------------------------------------------------------------------------------------------


def kv_cache_bytes(config: dict, tokens: int) -> int:
    """layers x kv_heads x head_dim x 2 (K, V) x tokens x dtype bytes. Sliding-window layers are counted in full:
    it errs high for gemma3-like models, which is the safe side."""
    t = _text_config(config)
    layers = int(t.get("num_hidden_layers", 0))
    kv_heads = int(t.get("num_key_value_heads") or t.get("num_attention_heads") or 0)
    return layers * kv_heads * _head_dim(t) * 2 * tokens * _dtype_bytes(config)


def activation_bytes(config: dict, prompt_tokens: int) -> int:
    """Image allowance + prefill buffers (tokens x (hidden + intermediate) x live buffers) + the prefill's logits
    (mlx-vlm's prefill computes logits for every prompt position before slicing the last) + runtime slack."""
    t = _text_config(config)
    hidden = int(t.get("hidden_size", 0))
    inter = int(t.get("intermediate_size", 4 * hidden))
    vocab = int(t.get("vocab_size", 0))
    dtype = _dtype_bytes(config)
    prefill = prompt_tokens * (hidden + inter) * dtype * ACTIVATION_LIVE_BUFFERS
    logits = prompt_tokens * vocab * dtype
    return ACTIVATION_IMAGE_BYTES + ACTIVATION_RUNTIME_BYTES + prefill + logits


# --- the prediction ---------------------------------------------------------------------------------------------------------


def load_config(model_dir: Path) -> dict:
    path = Path(model_dir) / "config.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelSizeError(f"{path}: missing") from None
    except json.JSONDecodeError as e:
        raise ModelSizeError(f"{path}: not JSON ({e})") from None


def predict_memory(
    config: dict,
    max_tokens: int,
    prompt_tokens_hint: int = DEFAULT_PROMPT_TOKENS,
    weight_bytes: int | None = None,
    weights_from: str = "config",
) -> MemoryEstimate:
    """Estimate from a config dict; weight_bytes from headers or hub metadata when known, else from the dims."""
    if weight_bytes is None:
        weight_bytes, weights_from = config_weight_bytes(config), "config"
    return MemoryEstimate(
        weight_bytes=int(weight_bytes),
        kv_bytes=kv_cache_bytes(config, prompt_tokens_hint + max_tokens),
        activation_bytes=activation_bytes(config, prompt_tokens_hint),
        weights_from=weights_from,
    )


def predict_memory_gb(
    model_dir: Path, max_tokens: int, prompt_tokens_hint: int = DEFAULT_PROMPT_TOKENS
) -> MemoryEstimate:
    """Estimate for a model folder (config.json + optional *.safetensors)."""
    config = load_config(model_dir)
    weights = safetensors_weight_bytes(Path(model_dir))
    return predict_memory(
        config, max_tokens, prompt_tokens_hint, weights, "safetensors" if weights is not None else "config"
    )


def memory_limit_gb(ram_gb: float | None, working_set_gb: float | None) -> float | None:
    if working_set_gb:
        return float(working_set_gb)
    return round(ram_gb * DEFAULT_WORKING_SET_FRACTION, 2) if ram_gb else None


def fits(
    estimate: MemoryEstimate, hardware_ram_gb: float | None, working_set_gb: float | None = None
) -> tuple[bool, float | None]:
    """(fits, limit_gb). Unknown limit -> fits (placement never blocks on missing facts)."""
    limit = memory_limit_gb(hardware_ram_gb, working_set_gb)
    if limit is None:
        return True, None
    return estimate.total_gb <= limit, limit
