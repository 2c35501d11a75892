"""The one mlx-vlm adapter: the only module in grid that imports mlx / mlx_vlm.

It runs inside the isolated child process (agent/child.py) and inside build tools (twins). Everything else in grid
imports without mlx installed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import mlx.core as mx  # noqa: E402
import mlx_vlm  # noqa: E402

# --- twins: random weights and quantized variants (used by agent/twins) -------------------------------------------


def _twin_model(config: dict):
    """Instantiate mlx_vlm's own Model for a twin config the way mlx_vlm.utils.load_model does (minus weights)."""
    import copy

    from mlx_vlm.utils import apply_generation_config_defaults, get_model_and_args, update_module_configs

    cfg = copy.deepcopy(config)  # ModelConfig.from_dict mutates its argument
    arch, _ = get_model_and_args(config=cfg)
    cfg.setdefault("text_config", cfg.pop("llm_config", {}))
    cfg.setdefault("vision_config", {})
    cfg.setdefault("audio_config", {})
    model_config = arch.ModelConfig.from_dict(cfg)
    model_config = update_module_configs(model_config, arch, cfg, ["text", "vision", "perceiver", "projector", "audio"])
    model_config = apply_generation_config_defaults(model_config, cfg)
    return arch.Model(model_config)


def save_random_weights(
    config: dict,
    folder: str | Path,
    seed: int = 0,
    *,
    tie_embeddings: bool = False,
    drop_weights: tuple[str, ...] = (),
    dtype: str = "bfloat16",
) -> dict:
    """Write `folder`/model.safetensors: mlx_vlm's Model(config) with seeded random weights, MLX key layout.

    Norm weights keep their constructor values (ones, or zeros for (1 + w) norms) so activations stay sane;
    every other float tensor is N(0, 0.02). The MLX names and layouts pass through each model's sanitize() unchanged.
    tie_embeddings: copy embed_tokens into lm_head (gemma3's sanitize overwrites lm_head with embed_tokens anyway).
    drop_weights: key suffixes to leave out (a broken twin with a missing weight). Returns {param count, bytes}.
    """
    from mlx.utils import tree_flatten

    mx.random.seed(seed)
    model = _twin_model(config)
    target = getattr(mx, dtype)
    weights = {}
    for key, value in tree_flatten(model.parameters()):
        if not mx.issubdtype(value.dtype, mx.floating):
            weights[key] = value
        elif "norm" in key.lower() or key.endswith("ln.weight") or ".ln_" in key:
            weights[key] = value.astype(target)
        else:
            weights[key] = (mx.random.normal(value.shape) * 0.02).astype(target)
        # One tensor at a time: a real-size twin's float32 draft of every weight at once would not fit in RAM.
        mx.eval(weights[key])
    if tie_embeddings:
        heads = [k for k in weights if k.endswith("lm_head.weight")]
        embeds = [k for k in weights if k.endswith("embed_tokens.weight")]
        for head in heads:
            if embeds and weights[embeds[0]].shape == weights[head].shape:
                weights[head] = weights[embeds[0]]
    for suffix in drop_weights:
        weights = {k: v for k, v in weights.items() if not k.endswith(suffix)}
    mx.eval(weights)
    folder = Path(folder)
    mx.save_safetensors(str(folder / "model.safetensors"), weights, metadata={"format": "mlx"})
    return {
        "params": int(sum(v.size for v in weights.values())),
        "bytes": (folder / "model.safetensors").stat().st_size,
    }


def count_parameters(config: dict) -> int:
    """Parameters of mlx-vlm's Model for a twin config, without materialising them (MLX arrays are lazy until eval):
    how a real-size twin's dimensions are checked against the published parameter count."""
    from mlx.utils import tree_flatten

    params = dict(tree_flatten(_twin_model(config).parameters()))
    text = config.get("text_config") or {}
    tied = config.get("tie_word_embeddings", text.get("tie_word_embeddings", True)) is not False
    embed = next((v for k, v in params.items() if k.endswith("embed_tokens.weight")), None)
    for key in [k for k in params if k.endswith("lm_head.weight")]:
        # a tied head is one tensor in the checkpoint even where mlx-vlm builds it as its own layer (gemma3)
        if tied and embed is not None and params[key].shape == embed.shape:
            del params[key]
    return int(sum(v.size for v in params.values()))


def quantize(src: str | Path, dst: str | Path, bits: int = 4, group_size: int = 32) -> Path:
    """A quantized copy of a twin through mlx_vlm's own convert (which skips the vision tower, as for real models).

    `dst` must not exist yet; convert writes config.json (with `quantization`), weights, tokenizer and processor files.
    """
    import contextlib
    import io

    from mlx_vlm.convert import convert

    with contextlib.redirect_stdout(io.StringIO()):  # convert prints progress lines
        convert(str(src), mlx_path=str(dst), quantize=True, q_bits=bits, q_group_size=group_size)
    return Path(dst)


def twin_smoke(
    folder: str | Path,
    image: str | Path | None,
    prompt: str = "Describe this image.",
    max_tokens: int = 4,
    trust_remote_code: bool = False,
) -> dict:
    """Load a twin with mlx_vlm.load (strict) and generate a few tokens: the build check of agent.twins.check.

    Deliberately independent of the runtime section below, so twins can be checked while the runtime evolves.
    """
    from mlx_vlm.prompt_utils import apply_chat_template

    model, processor = mlx_vlm.load(str(folder), trust_remote_code=trust_remote_code)
    formatted = apply_chat_template(processor, model.config, prompt, num_images=1 if image else 0)
    result = mlx_vlm.generate(
        model,
        processor,
        formatted,
        image=[str(image)] if image else None,
        max_tokens=max_tokens,
        temperature=0.0,
        verbose=False,
    )
    return {
        "processor": type(processor).__name__,
        "image_processor": type(getattr(processor, "image_processor", None)).__name__,
        "prompt_tokens": int(result.prompt_tokens),
        "generation_tokens": int(result.generation_tokens),
        "text": result.text,
    }


# --- runtime: load, generate with stage timings, device info --------------------------------------------------------
def _apply_device_override() -> None:
    """GRID_MLX_DEVICE=cpu runs on MLX's CPU backend even where a GPU exists (CPU-only nodes of bench/scaling.py on a
    GPU machine)."""
    if os.environ.get("GRID_MLX_DEVICE", "").lower() == "cpu":
        mx.set_default_device(mx.cpu)


def backend_name() -> str:
    if os.environ.get("GRID_MLX_DEVICE", "").lower() == "cpu":
        return "cpu"
    if mx.metal.is_available():
        return "metal"
    cuda = getattr(mx, "cuda", None)
    if cuda is not None and cuda.is_available():
        return "cuda"
    return "cpu"


def device_info() -> dict:
    """MLX's own view of the device (Metal: recommended working set, memory size), plus the backend."""
    info = {}
    try:
        info = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in mx.device_info().items()}
    except Exception:  # older mlx or a backend without device_info
        pass
    info["backend"] = backend_name()
    return info


def load_model(path: str, trust_remote_code: bool = False) -> tuple[object, object, dict]:
    """Load with mlx_vlm.load (strict) and time it; the model is already on disk, so no download is inside load_s."""
    _apply_device_override()  # here, not at import: the child may import this module on a helper thread
    mx.reset_peak_memory()
    t0 = time.perf_counter()
    model, processor = mlx_vlm.load(path, trust_remote_code=trust_remote_code)
    load_s = time.perf_counter() - t0
    from mlx.utils import tree_flatten

    total = sum(v.nbytes for _, v in tree_flatten(model.parameters()))
    lm = getattr(model, "language_model", None)
    # Decode reads the language model's weights once per token: the bytes that bound decode speed.
    decode_bytes = sum(v.nbytes for _, v in tree_flatten(lm.parameters())) if lm is not None else total
    info = {
        "load_s": load_s,
        "weight_bytes": int(total),
        "decode_weight_bytes": int(decode_bytes),
        "arch": getattr(model.config, "model_type", None),
        "load_peak_memory_gb": mx.get_peak_memory() / 1e9,
    }
    return model, processor, info


def generate_timed(
    model, processor, prompt: str, image: str | None, max_tokens: int, temperature: float, exact_tokens: bool, seed: int
) -> dict:
    """One generation through mlx_vlm.stream_generate, timed by stage.

    The processor runs first on its own (mlx-vlm folds it into nothing: its prompt_tps excludes it), then
    stream_generate gets the prepared tensors. The vision tower + projector are timed by wrapping the model's
    get_input_embeddings with an eval, which adds one sync between vision and prefill and nothing else.
    decode_tps and prefill_tps are mlx-vlm's own figures.
    """
    from mlx_vlm.generate.dispatch import should_add_special_tokens
    from mlx_vlm.prompt_utils import apply_chat_template
    from mlx_vlm.utils import StoppingCriteria, prepare_inputs

    t_call = time.perf_counter()  # wall_s covers the whole call, so untimed gaps between stages show up in tests
    tokenizer = processor.tokenizer if hasattr(processor, "tokenizer") else processor
    mx.random.seed(seed)
    mx.clear_cache()
    mx.reset_peak_memory()

    t0 = time.perf_counter()
    # The processor stage: chat template (tokenizer-side text) + image preprocessing + tokenising.
    formatted = apply_chat_template(processor, model.config, prompt, num_images=1 if image else 0)
    inputs = prepare_inputs(
        processor,
        images=[image] if image else None,
        prompts=formatted,
        image_token_index=getattr(model.config, "image_token_index", None),
        add_special_tokens=should_add_special_tokens(model.config.model_type, processor),
    )
    mx.eval([v for v in inputs.values() if isinstance(v, mx.array)])
    processor_s = time.perf_counter() - t0

    vision_times: list[float] = []
    original = model.get_input_embeddings

    def timed_embeddings(*args, **kwargs):
        start = time.perf_counter()
        out = original(*args, **kwargs)
        mx.eval(out.inputs_embeds)
        vision_times.append(time.perf_counter() - start)
        return out

    if exact_tokens:
        # EOS cannot end the trial early: an empty stopping criteria (a plain lambda would stick to the tokenizer).
        criteria = StoppingCriteria([], tokenizer)
        criteria.eos_token_ids = []
        tokenizer.stopping_criteria = criteria
    else:
        tokenizer.stopping_criteria.reset(model.config.eos_token_id)

    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "pixel_values", "attention_mask")}
    text, last, first_at, first_token = "", None, None, None
    model.get_input_embeddings = timed_embeddings
    try:
        t_gen = time.perf_counter()
        for response in mlx_vlm.stream_generate(
            model,
            processor,
            formatted,
            max_tokens=max_tokens,
            temperature=temperature,
            input_ids=inputs["input_ids"],
            pixel_values=inputs.get("pixel_values"),
            mask=inputs.get("attention_mask"),
            **extra,
        ):
            if first_at is None:
                first_at = time.perf_counter()
                first_token = response.token
            text += response.text
            last = response
        end = time.perf_counter()
    finally:
        del model.get_input_embeddings
    clean = getattr(processor, "clean_output", None)
    if callable(clean):
        text = clean(text)
    first_at = first_at or end
    vision_s = sum(vision_times)
    return {
        "text": text,
        "finish_reason": getattr(last, "finish_reason", None),
        "first_token_id": int(first_token) if first_token is not None else None,  # tests make a twin stop on it
        "prompt_tokens": int(getattr(last, "prompt_tokens", 0)),
        "generation_tokens": int(getattr(last, "generation_tokens", 0)),
        "prefill_tps": float(getattr(last, "prompt_tps", 0.0)),
        "decode_tps": float(getattr(last, "generation_tps", 0.0)),
        "peak_memory_gb": mx.get_peak_memory() / 1e9,
        "processor_s": processor_s,
        "vision_s": vision_s,
        "prefill_s": max(first_at - t_gen - vision_s, 0.0),
        "ttft_s": first_at - t0,
        "decode_s": end - first_at,
        "wall_s": end - t_call,
    }


if __name__ == "__main__":
    # `python -m agent.adapter device-info`: lets the mlx-free hardware probe ask MLX about the device.
    if sys.argv[1:] == ["device-info"]:
        print(json.dumps(device_info()))
    else:
        sys.exit("usage: python -m agent.adapter device-info")
