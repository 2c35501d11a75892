"""A results root with known contents: the seed report's 36 models (check-models-report-2026-01-16.md), on the seed's
M4 Max and on two more classes, written in the store's layout. Used by the tests, the browser check and the docs.

On `M4-Max-40c-128GB` every figure is the seed's (decode tok/s, peak memory, status, error class, flags). The other
classes are derived with fixed factors so tests can assert exact values: `M3-Max-30c-96GB` decodes at 0.70× and
`M2-Pro-19c-32GB` at 0.40× the M4 Max; models needing more than 24 GB are skipped on the 32 GB class. Three timed
trials per ok cell at 0.98×, 1.00× and 1.03× the median.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from grid.core.schema import ResultRow, rows_to_table

CLASSES = {  # hw_class: (chip, ram_gb, gpu_cores, bandwidth_gbps, speed factor)
    "M4-Max-40c-128GB": ("Apple M4 Max", 128.0, 40, 546.0, 1.00),
    "M3-Max-30c-96GB": ("Apple M3 Max", 96.0, 30, 300.0, 0.70),
    "M2-Pro-19c-32GB": ("Apple M2 Pro", 32.0, 19, 200.0, 0.40),
}
ERRORS = {  # error class: (package, message, fix, traceback tail)
    "Processor Error": (
        "mlx-vlm",
        "TypeError: Received a InternVLImageProcessor for argument image_processor, but a "
        "ImageProcessingMixin was expected.",
        "Update InternVLChatProcessor for transformers 5.x type checking",
        'File "mlx_vlm/models/internvl_chat/processor.py", line 288, in __init__\n'
        "TypeError: Received a InternVLImageProcessor for argument image_processor",
    ),
    "Lib Version": (
        "model files",
        "ImportError: cannot import name '_validate_images_text_input_order' from 'transformers.processing_utils'",
        "Update processing_kimi_vl.py to not use private transformers APIs, or pin transformers",
        'File "processing_kimi_vl.py", line 25, in <module>\nImportError: '
        "cannot import name '_validate_images_text_input_order'",
    ),
    "Weight Mismatch": (
        "mlx",
        "ValueError: Missing 1 parameters: language_model.lm_head.weight.",
        "Re-convert the model with tied weights",
        'File "mlx/nn/layers/base.py", line 191, in '
        "load_weights\nValueError: Missing 1 parameters: language_model.lm_head.weight.",
    ),
    "Model Error": (
        "mlx-vlm",
        "AttributeError: RobertaTokenizer has no attribute additional_special_tokens.",
        "Use tokenizer.additional_special_tokens_ids",
        'File "processing_florence2.py", line 87\n'
        "AttributeError: RobertaTokenizer has no attribute additional_special_tokens.",
    ),
    "Config Missing": (
        "model files",
        "OSError: does not appear to have a file named image_processing_phi3_v.py",
        "Copy image_processing_phi3_v.py from microsoft/Phi-3.5-vision-instruct",
        "OSError: does not appear to have a file named image_processing_phi3_v.py.",
    ),
    "OOM": (
        "mlx",
        "RuntimeError: [metal::malloc] Attempting to allocate 135433060352 bytes which is greater than the "
        "maximum allowed buffer size of 86586540032 bytes.",
        "Downscale large images before encoding",
        'File "mlx_vlm/generate.py", line 332, in generate_step\nRuntimeError: [metal::malloc] Attempting to '
        "allocate 135433060352 bytes",
    ),
    "Type Cast Error": (
        "mlx",
        "RuntimeError: std::bad_cast",
        "Cast batch_num_tiles explicitly before indexing",
        'File "mlx_vlm/models/deepseek_vl_v2/deepseek_vl_v2.py", line 340\nRuntimeError: std::bad_cast',
    ),
}
# model, arch, decode tok/s (None: failed), peak GB, quality flags or error class
SEED = [
    ("HuggingFaceTB/SmolVLM-Instruct", "idefics3", 111.8, 5.5, []),
    ("Qwen/Qwen3-VL-2B-Instruct", "qwen3_vl", 71.9, 12.0, ["verbose(452)", "bullets(22)"]),
    ("meta-llama/Llama-3.2-11B-Vision-Instruct", "mllama", 3.8, 25.0, []),
    ("microsoft/Florence-2-large-ft", "florence2", None, None, "Weight Mismatch"),
    ("microsoft/Phi-3.5-vision-instruct", "phi3_v", 10.8, 12.0, ["hallucination", "language-mixing(Han)"]),
    ("mlx-community/Apriel-1.5-15b-Thinker-6bit-MLX", "mistral3", 33.2, 15.0, []),
    ("mlx-community/Devstral-Small-2-24B-Instruct-2512-5bit", "mistral3", 26.0, 22.0, []),
    ("mlx-community/GLM-4.6V-Flash-6bit", "glm4v", 46.7, 13.0, ["formatting(headers=6)"]),
    ("mlx-community/Idefics3-8B-Llama3-bf16", "idefics3", 29.3, 19.0, ["formatting(headers=5)"]),
    ("mlx-community/InternVL3-14B-8bit", "internvl_chat", None, None, "Processor Error"),
    ("mlx-community/Kimi-VL-A3B-Thinking-2506-bf16", "kimi_vl", None, None, "Lib Version"),
    ("mlx-community/Kimi-VL-A3B-Thinking-8bit", "kimi_vl", None, None, "Lib Version"),
    ("mlx-community/LFM2-VL-1.6B-8bit", "lfm2_vl", 316.8, 53.0, []),
    ("mlx-community/LFM2.5-VL-1.6B-bf16", "lfm2_vl", 196.6, 4.4, []),
    ("mlx-community/Llama-3.2-11B-Vision-Instruct-8bit", "mllama", 8.3, 15.0, []),
    ("mlx-community/Ministral-3-3B-Instruct-2512-4bit", "mistral3", 155.9, 7.9, []),
    ("mlx-community/Molmo-7B-D-0924-8bit", "molmo", 43.7, 41.0, []),
    ("mlx-community/Molmo-7B-D-0924-bf16", "molmo", 28.5, 48.0, ["bullets(18)"]),
    ("mlx-community/Phi-3.5-vision-instruct-bf16", "phi3_v", None, None, "Config Missing"),
    ("mlx-community/Qwen2-VL-2B-Instruct-4bit", "qwen2_vl", None, None, "OOM"),
    ("mlx-community/Qwen3-VL-2B-Thinking-bf16", "qwen3_vl", 71.8, 12.0, []),
    ("mlx-community/SmolVLM-Instruct-bf16", "idefics3", 112.8, 5.5, ["verbose(500)", "formatting(headers=7)"]),
    ("mlx-community/SmolVLM2-2.2B-Instruct-mlx", "smolvlm", 116.1, 5.5, []),
    ("mlx-community/deepseek-vl2-8bit", "deepseek_vl_v2", None, None, "Type Cast Error"),
    ("mlx-community/gemma-3-27b-it-qat-4bit", "gemma3", 27.8, 19.0, ["bullets(25)"]),
    ("mlx-community/gemma-3-27b-it-qat-8bit", "gemma3", 15.3, 34.0, ["bullets(26)"]),
    ("mlx-community/gemma-3n-E4B-it-bf16", "gemma3n", 41.5, 17.0, ["verbose(380)"]),
    ("mlx-community/llava-v1.6-mistral-7b-8bit", "llava_next", 48.0, 12.0, ["context-ignored"]),
    ("mlx-community/paligemma2-10b-ft-docci-448-6bit", "paligemma", 41.4, 12.0, ["context-ignored"]),
    ("mlx-community/paligemma2-10b-ft-docci-448-bf16", "paligemma", 4.9, 27.0, ["context-ignored"]),
    ("mlx-community/paligemma2-3b-ft-docci-448-bf16", "paligemma", 17.7, 11.0, ["context-ignored"]),
    ("mlx-community/paligemma2-3b-pt-896-4bit", "paligemma", 126.9, 8.7, ["context-ignored"]),
    ("mlx-community/pixtral-12b-8bit", "pixtral", 34.0, 16.0, ["verbose(302)", "bullets(22)"]),
    ("mlx-community/pixtral-12b-bf16", "pixtral", 19.2, 27.0, ["bullets(20)"]),
    ("prince-canuma/Florence-2-large-ft", "florence2", None, None, "Model Error"),
    ("qnguyen3/nanoLLaVA", "llava", 100.0, 7.8, []),
]
HOSTILE_MODEL = "mlx-community/SmolVLM2-2.2B-Instruct-mlx"
HOSTILE_OUTPUT = '<script>alert(1)</script> A lighthouse & "quotes" </td></tr> ``` | pipe \x1b[31m'
VERSIONS = dict(
    python_version="3.13.9",
    mlx_version="0.30.4.dev20260116+3fe7794f",
    mlx_vlm_version="0.3.10",
    mlx_lm_version="0.30.2",
    transformers_version="5.0.0rc3",
    grid_version="0.1.0",
)
TRIAL_FACTORS = (0.98, 1.00, 1.03)


def seed_rows(
    run_id: str = "seed", classes: dict = CLASSES, versions: dict | None = None, speed: dict[str, float] | None = None
) -> list[ResultRow]:
    """`speed` multiplies a model's decode tok/s (to build regressions for compare)."""
    rows = []
    for hw_class, (chip, ram, cores, bw, factor) in classes.items():
        for i, (model, arch, tps, peak, extra) in enumerate(SEED):
            base = dict(
                run_id=run_id,
                cell_id=f"{hw_class}-{i:02d}",
                model=model,
                hw_class=hw_class,
                arch=arch,
                prompt_id="describe",
                image_id="lighthouse",
                chip=chip,
                ram_gb=ram,
                gpu_cores=cores,
                backend="metal",
                os_name="macOS",
                os_version="26.2",
                hostname=f"mac-{hw_class.lower()}",
                node_id=f"node-{hw_class.lower()}",
                suite_name="seed-2026-01",
                bandwidth_gbps=bw,
                started_at="2026-01-16T21:50:00Z",
                finished_at="2026-01-16T22:01:14Z",
                wall_s=18.0,
                trials=3,
                **(versions or VERSIONS),
            )
            if isinstance(extra, str):
                pkg, msg, fix, tb = ERRORS[extra]
                status = "oom" if extra == "OOM" else "failed"
                rows.append(
                    ResultRow(
                        status=status,
                        error_class=extra,
                        error_package=pkg,
                        error_message=msg,
                        error_fix=fix,
                        traceback_tail=tb,
                        **base,
                    )
                )
                continue
            if peak > ram * 0.75:  # the planner would not place it: predicted memory over the class's working set
                rows.append(
                    ResultRow(status="skipped", error_message="predicted memory exceeds the working set", **base)
                )
                continue
            median = round(tps * factor * (speed or {}).get(model, 1.0), 4)
            trials = [round(median * f, 4) for f in TRIAL_FACTORS]
            text = HOSTILE_OUTPUT if model == HOSTILE_MODEL else f"A red-brick lighthouse on rocks, by {model}."
            weight = int(0.5 * 546e9 / tps)  # weights that make decode 50% of the M4 Max's bandwidth
            rows.append(
                ResultRow(
                    status="ok",
                    decode_tps=median,
                    trial_decode_tps=trials,
                    decode_tps_iqr=round((trials[2] - trials[0]) / 2, 4),
                    peak_memory_gb=peak,
                    trial_peak_memory_gb=[peak] * 3,
                    ttft_s=0.5,
                    trial_ttft_s=[0.5] * 3,
                    generation_tokens=200,
                    weight_bytes=weight,
                    load_s=2.0,
                    quality_flags=list(extra),
                    output_text=text,
                    finish_reason="stop",
                    outlier_trials=[2] if model == "qnguyen3/nanoLLaVA" else [],
                    **base,
                )
            )
    return rows


def write_root(root: Path, rows: list[ResultRow], drop_run_id: bool = True) -> list[Path]:
    """One file per cell under `<root>/run_id=<id>/`, run_id kept in the folder name only (as grid.store does)."""
    paths = []
    for row in rows:
        folder = Path(root) / f"run_id={row.run_id}"
        folder.mkdir(parents=True, exist_ok=True)
        table = rows_to_table([row])
        path = folder / f"{row.cell_id}.parquet"
        pq.write_table(table.drop_columns(["run_id"]) if drop_run_id else table, path)
        paths.append(path)
    return paths
