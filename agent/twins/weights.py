"""Twin weights: mlx-vlm's own Model with seeded random weights, quantized variants, and the build's smoke check.

With agent.adapter, the only module that imports mlx / mlx_vlm (the import-linter contract in pyproject.toml). It runs
in build tools (agent/twins/build.py, inside the child's fetch or `python -m agent.twins`), never in a measurement:
the runtime (load, timed generate, device info) is agent/adapter.py.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import mlx.core as mx  # noqa: E402
import mlx_vlm  # noqa: E402


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
    float32_weights: tuple[str, ...] = (),
) -> dict:
    """Write `folder`/model.safetensors: mlx_vlm's Model(config) with seeded random weights, MLX key layout.

    Norm weights keep their constructor values (ones, or zeros for (1 + w) norms) so activations stay sane;
    every other float tensor is N(0, 0.02). The MLX names and layouts pass through each model's sanitize() unchanged.
    tie_embeddings: copy embed_tokens into lm_head (gemma3's sanitize overwrites lm_head with embed_tokens anyway).
    drop_weights: key suffixes to leave out (a broken twin with a missing weight). Returns {param count, bytes}.
    float32_weights: key suffixes saved in float32 rather than `dtype` (what the model's sanitize promotes).
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
            dtype_of = mx.float32 if key.endswith(float32_weights) else target
            weights[key] = (mx.random.normal(value.shape) * 0.02).astype(dtype_of)
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


def twin_load(folder: str | Path, trust_remote_code: bool = False) -> dict:
    """mlx_vlm.load (strict): the model and the processor it resolves, no generation (heavy twins)."""
    model, processor = mlx_vlm.load(str(folder), trust_remote_code=trust_remote_code)
    return {
        "processor": type(processor).__name__,
        "image_processor": type(getattr(processor, "image_processor", None)).__name__,
        "arch": getattr(model.config, "model_type", None),
    }


def twin_smoke(
    folder: str | Path,
    image: str | Path | None,
    prompt: str = "Describe this image.",
    max_tokens: int = 4,
    trust_remote_code: bool = False,
) -> dict:
    """Load a twin with mlx_vlm.load (strict) and generate a few tokens: the build check of agent.twins.check.

    Deliberately independent of the runtime (agent/adapter.py), so twins can be checked while the runtime evolves.
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


def weights_round_trip(folder: str | Path, trust_remote_code: bool = False) -> dict:
    """What the twin wrote is what mlx-vlm loaded: every tensor of model.safetensors, after mlx_vlm's load_model
    (sanitize, strict), bit-identical in the model. Returns {"tensors": n, "mismatched": [...], "renamed": [...]}:
    `mismatched` are keys loaded with other values or shapes, `renamed` keys the loaded model does not have."""
    from mlx.utils import tree_flatten
    from mlx_vlm.utils import load_model

    folder = Path(folder)
    saved = {}
    for path in sorted(folder.glob("*.safetensors")):
        saved.update(mx.load(str(path)))
    model = load_model(folder, trust_remote_code=trust_remote_code)
    loaded = dict(tree_flatten(model.parameters()))
    mismatched, renamed = [], []
    for key, value in saved.items():
        got = loaded.get(key)
        if got is None:
            renamed.append(key)
        elif got.shape != value.shape or got.dtype != value.dtype or not bool(mx.array_equal(got, value)):
            mismatched.append(key)
    return {"tensors": len(saved), "mismatched": mismatched[:20], "renamed": renamed[:20]}
