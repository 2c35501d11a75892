"""The mlx-vlm runtime: load, generate with stage timings, device info. With agent.twins.weights (twin weight building,
kept apart), the only module in grid that imports mlx / mlx_vlm.

It runs inside the isolated child process (agent/child.py), and as `python -m agent.adapter device-info` for the
mlx-free hardware probe. Everything else in grid imports without mlx installed. The device to run on is an argument
(grid.core.options.RunOptions.mlx_device, handed to the child when it is spawned), never read from the environment.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import mlx.core as mx  # noqa: E402
import mlx_vlm  # noqa: E402

from grid.core.measurements import LoadInfo, Trial, image_inputs  # noqa: E402


def _forces_cpu(mlx_device: str) -> bool:
    """mlx_device="cpu" runs on MLX's CPU backend even where a GPU exists (CPU-only nodes of bench/scaling.py on a GPU
    machine); anything else is the backend's default device."""
    return mlx_device.strip().lower() == "cpu"


def _apply_device_override(mlx_device: str) -> None:
    """Setting the default device is not enough: mlx-vlm and mlx-lm create their `generation_stream` on the default
    device when imported (the child's pre-import thread, before any load), so on a GPU machine generation kept running
    on the GPU while rows said cpu (seen on the H200, 2026-12-02: a 2B bf16 twin "on the CPU" at 115 tok/s). Every
    such stream already imported is re-made on the CPU; modules imported later see the CPU default."""
    if not _forces_cpu(mlx_device):
        return
    mx.set_default_device(mx.cpu)
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("mlx_vlm", "mlx_lm") and hasattr(module, "generation_stream"):
            module.generation_stream = mx.new_thread_local_stream(mx.cpu)


def backend_name(mlx_device: str = "") -> str:
    if _forces_cpu(mlx_device):
        return "cpu"
    if mx.metal.is_available():
        return "metal"
    cuda = getattr(mx, "cuda", None)
    if cuda is not None and cuda.is_available():
        return "cuda"
    return "cpu"


def device_info(mlx_device: str = "") -> dict:
    """MLX's own view of the device (Metal: recommended working set, memory size), plus the backend."""
    info = {}
    try:
        info = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in mx.device_info().items()}
    except Exception:  # older mlx or a backend without device_info
        pass
    info["backend"] = backend_name(mlx_device)
    return info


def load_model(path: str, trust_remote_code: bool = False, mlx_device: str = "") -> tuple[object, object, LoadInfo]:
    """Load with mlx_vlm.load (strict) and time it; the model is already on disk, so no download is inside load_s."""
    _apply_device_override(mlx_device)  # here, not at import: the child may import this module on a helper thread
    mx.reset_peak_memory()
    t0 = time.perf_counter()
    model, processor = mlx_vlm.load(path, trust_remote_code=trust_remote_code)
    load_s = time.perf_counter() - t0
    from mlx.utils import tree_flatten

    total = sum(v.nbytes for _, v in tree_flatten(model.parameters()))
    lm = getattr(model, "language_model", None)
    # Decode reads the language model's weights once per token: the bytes that bound decode speed.
    decode_bytes = sum(v.nbytes for _, v in tree_flatten(lm.parameters())) if lm is not None else total
    info = LoadInfo(
        load_s=load_s,
        weight_bytes=int(total),
        decode_weight_bytes=int(decode_bytes),
        arch=getattr(model.config, "model_type", None),
        load_peak_memory_gb=mx.get_peak_memory() / 1e9,
        backend=backend_name(mlx_device),
    )
    return model, processor, info


def _processor_stage(model, processor, prompt: str, image: str | None) -> tuple[str, dict]:
    """The processor stage: chat template (tokenizer-side text) + image preprocessing + tokenising, evaluated."""
    from mlx_vlm.generate.dispatch import should_add_special_tokens
    from mlx_vlm.prompt_utils import apply_chat_template
    from mlx_vlm.utils import prepare_inputs

    formatted = apply_chat_template(processor, model.config, prompt, num_images=1 if image else 0)
    inputs = prepare_inputs(
        processor,
        images=[image] if image else None,
        prompts=formatted,
        image_token_index=getattr(model.config, "image_token_index", None),
        add_special_tokens=should_add_special_tokens(model.config.model_type, processor),
    )
    mx.eval([v for v in inputs.values() if isinstance(v, mx.array)])
    return formatted, inputs


def _set_stopping(model, tokenizer, exact_tokens: bool) -> None:
    from mlx_vlm.utils import StoppingCriteria

    if exact_tokens:
        # EOS cannot end the trial early: an empty stopping criteria (a plain lambda would stick to the tokenizer).
        criteria = StoppingCriteria([], tokenizer)
        criteria.eos_token_ids = []
        tokenizer.stopping_criteria = criteria
    else:
        tokenizer.stopping_criteria.reset(model.config.eos_token_id)


def generate_timed(
    model, processor, prompt: str, image: str | None, max_tokens: int, temperature: float, exact_tokens: bool, seed: int
) -> Trial:
    """One generation through mlx_vlm.stream_generate, timed by stage.

    The processor runs first on its own (mlx-vlm folds it into nothing: its prompt_tps excludes it), then
    stream_generate gets the prepared tensors. The vision tower + projector are timed by wrapping the model's
    get_input_embeddings with an eval, which adds one sync between vision and prefill and nothing else.
    decode_tps and prefill_tps are mlx-vlm's own figures.
    """
    # ~65 lines in one frame on purpose: the stage timers run back to back here, so no untimed gap hides between them.
    t_call = time.perf_counter()  # wall_s covers the whole call, so untimed gaps between stages show up in tests
    tokenizer = processor.tokenizer if hasattr(processor, "tokenizer") else processor
    mx.random.seed(seed)
    mx.clear_cache()
    mx.reset_peak_memory()

    t0 = time.perf_counter()
    formatted, inputs = _processor_stage(model, processor, prompt, image)
    processor_s = time.perf_counter() - t0

    vision_times: list[float] = []
    original = model.get_input_embeddings

    def timed_embeddings(*args, **kwargs):
        start = time.perf_counter()
        out = original(*args, **kwargs)
        mx.eval(out.inputs_embeds)
        vision_times.append(time.perf_counter() - start)
        return out

    _set_stopping(model, tokenizer, exact_tokens)
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
    return Trial(
        text=text,
        finish_reason=getattr(last, "finish_reason", None),
        first_token_id=int(first_token) if first_token is not None else None,  # tests make a twin stop on it
        prompt_tokens=int(getattr(last, "prompt_tokens", 0)),
        generation_tokens=int(getattr(last, "generation_tokens", 0)),
        prefill_tps=float(getattr(last, "prompt_tps", 0.0)),
        decode_tps=float(getattr(last, "generation_tps", 0.0)),
        peak_memory_gb=mx.get_peak_memory() / 1e9,
        processor_s=processor_s,
        vision_s=vision_s,
        prefill_s=max(first_at - t_gen - vision_s, 0.0),
        ttft_s=first_at - t0,
        decode_s=end - first_at,
        wall_s=end - t_call,
        image_inputs=image_inputs(inputs, image),
    )


_SENTINEL: dict = {}  # backend -> (copy buffer, a, b): built and warmed on the child's first sentinel, then reused


def sentinel_workload(mlx_device: str = ""):
    """The drift sentinel's reference workload on this child's device (agent.sentinel: sizes, threshold, columns):
    an elementwise copy of a fixed float32 buffer (a bandwidth kernel) and a fixed-size matmul, each evaluated. The
    inputs are built (and the kernels warmed) on the first call only: later calls time the repeats alone."""
    from agent.sentinel import SENTINEL_BUDGET_MS, SENTINEL_SIZES, measure

    _apply_device_override(mlx_device)
    backend = backend_name(mlx_device)
    first = backend not in _SENTINEL
    if first:
        n, side, dtype = SENTINEL_SIZES.get(backend, SENTINEL_SIZES["cpu"])
        src = mx.ones((n,), dtype=mx.float32)
        a = mx.random.normal((side, side), key=mx.random.key(0)).astype(getattr(mx, dtype))
        b = mx.random.normal((side, side), key=mx.random.key(1)).astype(getattr(mx, dtype))
        mx.eval(src, a, b)
        _SENTINEL[backend] = (src, a, b)
    src, a, b = _SENTINEL[backend]
    warm_ms, timed_ms = SENTINEL_BUDGET_MS.get(backend, (0.0, 0.0))
    return measure(lambda: mx.eval(src + 1.0), lambda: mx.eval(a @ b), backend=backend, warmup=first,
                   warmup_ms=warm_ms, min_timed_ms=timed_ms)  # fmt: skip


USAGE = "usage: python -m agent.adapter device-info [--mlx-device cpu]"

if __name__ == "__main__":
    # `python -m agent.adapter device-info`: lets the mlx-free hardware probe ask MLX about the device. The device
    # setting comes as an argument: this process is started by the probe, with no RunOptions to read.
    args = sys.argv[1:]
    if args[:1] != ["device-info"] or len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--mlx-device"):
        sys.exit(USAGE)
    print(json.dumps(device_info(args[2] if len(args) == 3 else "")))
