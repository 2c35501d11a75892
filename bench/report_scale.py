"""Reports at scale: generate N realistic result rows into a results root, then time `write_reports` over them.

    .venv/bin/python bench/report_scale.py --rows 1000000 --root /tmp/grid-scale           # generate + measure
    .venv/bin/python bench/report_scale.py --root /tmp/grid-scale --measure-only              # measure again
    .venv/bin/python bench/report_scale.py --rows 1000000 --rows-per-file 1 ...              # the uncompacted layout

Rows are built column-wise with numpy (never row by row): M models x C hardware classes x P prompts x I images, five
timed trials per ok cell (11 raw trial lists), an output text of ~300 characters, realistic failure mixes (whole
model/class pairs failing with one error class, scattered timeouts/OOMs/crashes, big models skipped on small classes).
Files follow the store's layout, `<root>/run_id=<id>/<name>.parquet`, run_id in the folder name only. One file holds
`--rows-per-file` rows (default 62,500: a compacted run of 16 files); see BENCHMARKS.md for why.

The report is built in a child process under /usr/bin/time: wall time around it, CPU seconds and peak RSS of the
child itself (the generator's memory never counts). CPU seconds do not depend on how loaded a shared machine is.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from grid.core.schema import RESULT_SCHEMA

ARCHS = [
    "qwen2_vl",
    "qwen2_5_vl",
    "qwen3_vl",
    "idefics3",
    "smolvlm",
    "llava",
    "llava_next",
    "gemma3",
    "gemma3n",
    "paligemma",
    "pixtral",
    "mistral3",
    "molmo",
    "phi3_v",
    "internvl_chat",
    "florence2",
    "lfm2_vl",
    "kimi_vl",
    "deepseek_vl_v2",
    "mllama",
    "glm4v",
    "aya_vision",
    "llama4",
    "mistral3",
]
QUANTS = ["4bit", "6bit", "8bit", "bf16"]
CLASSES = [  # (hw_class, chip, ram_gb, gpu_cores, bandwidth GB/s, relative speed)
    ("M4-Max-40c-128GB", "Apple M4 Max", 128.0, 40, 546.0, 1.00),
    ("M3-Ultra-80c-512GB", "Apple M3 Ultra", 512.0, 80, 819.0, 1.25),
    ("M2-Ultra-76c-192GB", "Apple M2 Ultra", 192.0, 76, 800.0, 1.10),
    ("M3-Max-40c-64GB", "Apple M3 Max", 64.0, 40, 400.0, 0.80),
    ("M1-Max-32c-64GB", "Apple M1 Max", 64.0, 32, 400.0, 0.62),
    ("M4-Pro-20c-48GB", "Apple M4 Pro", 48.0, 20, 273.0, 0.55),
    ("M2-Pro-19c-32GB", "Apple M2 Pro", 32.0, 19, 200.0, 0.40),
    ("M4-10c-24GB", "Apple M4", 24.0, 10, 120.0, 0.25),
]
ERRORS = [  # (error_class, package, message, fix)
    (
        "Processor Error",
        "mlx-vlm",
        "TypeError: Received a InternVLImageProcessor for argument image_processor",
        "Update the processor for transformers 5.x type checks",
    ),
    (
        "Lib Version",
        "model files",
        "ImportError: cannot import name '_validate_images_text_input_order'",
        "Pin transformers or update the model's processing code",
    ),
    (
        "Weight Mismatch",
        "mlx",
        "ValueError: Missing 1 parameters: language_model.lm_head.weight.",
        "Re-convert the model with tied weights",
    ),
    ("Type Cast Error", "mlx", "RuntimeError: std::bad_cast", "Cast indices explicitly before indexing"),
    (
        "Config Missing",
        "model files",
        "OSError: does not appear to have a file named image_processing_phi3_v.py",
        "Copy the processor file from the original repository",
    ),
]
WORDS = (
    "a red brick lighthouse stands on rocky point waves break below gulls circle lamp room late afternoon light "
    "clouds sea harbour boats moored pier people walking path grass flowers sign reads portland maine"
).split()


def build_table(rows: int, n_classes: int, prompts: int, images: int, run_id: str, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    per_group = prompts * images
    classes = CLASSES[:n_classes]
    n_models = max(1, rows // (per_group * len(classes)))
    n = n_models * len(classes) * per_group
    model_idx = np.repeat(np.arange(n_models), len(classes) * per_group)
    class_idx = np.tile(np.repeat(np.arange(len(classes)), per_group), n_models)
    cell = np.arange(n) % per_group
    size_b = np.array([1, 2, 3, 4, 7, 8, 11, 12, 14, 24, 27, 32, 72])[np.arange(n_models) % 13][model_idx]
    quant = np.arange(n_models) % len(QUANTS)
    bits = np.array([4, 6, 8, 16])[quant][model_idx]
    weight_bytes = (size_b * 1e9 * bits / 8).astype(np.int64)
    mem = weight_bytes / 1e9 * 1.15 + 1.5
    ram = np.array([c[2] for c in classes])[class_idx]
    bw = np.array([c[4] for c in classes])[class_idx]
    speed = np.array([c[5] for c in classes])[class_idx]

    # Status mix: big models skipped where they do not fit; ~8% of model x class pairs fail whole with one error
    # class; ~2% of cells time out, OOM or crash.
    status = np.full(n, "ok", dtype=object)
    status[mem > ram * 0.75] = "skipped"
    pair = model_idx * len(classes) + class_idx
    pair_fail = rng.random(n_models * len(classes)) < 0.08
    err_idx = rng.integers(0, len(ERRORS), n_models * len(classes))[pair]
    failed = pair_fail[pair] & (status == "ok")
    status[failed] = "failed"
    scatter = (rng.random(n) < 0.02) & (status == "ok")
    status[scatter] = rng.choice(np.array(["timeout", "oom", "crashed"], dtype=object), scatter.sum())
    ok = status == "ok"

    base_tps = 0.7 * bw * 1e9 / weight_bytes * np.clip(speed / (bw / 546.0), 0.5, 1.5)
    trials = 5
    tps = base_tps[:, None] * rng.normal(1.0, 0.02, (n, trials))
    tps[:, 0] *= 0.9  # first timed trial a little slow
    peak = mem[:, None] * rng.normal(1.0, 0.005, (n, trials))
    ttft = (0.2 + size_b[:, None] * 0.05) * rng.normal(1.0, 0.03, (n, trials))
    gen_tokens = rng.integers(80, 500, n)

    def scalar(values, mask=ok, dtype=None):
        return pa.array(values, type=dtype, mask=~mask)

    def trial_list(matrix, mask=ok, dtype=pa.float64()):
        lengths = np.where(mask, matrix.shape[1], 0)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix[mask].ravel(), type=dtype))

    err = np.array([e[0] for e in ERRORS], dtype=object)[err_idx]
    bad = ~ok & (status != "skipped")
    err_class = np.where(
        failed, err, np.where(status == "timeout", "Timeout", np.where(status == "oom", "OOM", "Crash"))
    )
    pkgs = np.array([e[1] for e in ERRORS], dtype=object)[err_idx]
    err_pkg = np.where(failed, pkgs, np.where(status == "oom", "mlx", "grid"))
    msg = np.where(failed, np.array([e[2] for e in ERRORS], dtype=object)[err_idx], "the child stopped: " + status)
    fix = np.where(failed, np.array([e[3] for e in ERRORS], dtype=object)[err_idx], "Check the node's logs")
    word_idx = rng.integers(0, len(WORDS), (min(n, 20000), 48))
    texts = np.array([" ".join(WORDS[i] for i in row) for row in word_idx], dtype=object)
    out_text = texts[np.arange(n) % len(texts)] + " #" + cell.astype(str)
    models = np.array(
        [
            f"mlx-community/{ARCHS[i % len(ARCHS)]}-{[1, 2, 3, 4, 7, 8, 11, 12, 14, 24, 27, 32, 72][i % 13]}B-"
            f"{QUANTS[i % len(QUANTS)]}-v{i}"
            for i in range(n_models)
        ],
        dtype=object,
    )
    flags_pool = [
        [],
        [],
        [],
        [],
        ["verbose(412)"],
        ["bullets(22)"],
        ["context-ignored"],
        ["verbose(350)", "bullets(18)"],
    ]
    flag_pick = (model_idx * 7 + cell) % len(flags_pool)
    q_flags = pa.array(
        [flags_pool[i] if o else [] for i, o in zip(flag_pick.tolist(), ok.tolist())], type=pa.list_(pa.string())
    )
    cols = {
        "run_id": pa.array(np.full(n, run_id, dtype=object)),
        "cell_id": pa.array(np.char.add("c", np.arange(n).astype(str)).astype(object)),
        "model": pa.array(models[model_idx]),
        "hw_class": pa.array(np.array([c[0] for c in classes], dtype=object)[class_idx]),
        "status": pa.array(status),
        "schema_version": pa.array(np.ones(n, dtype=np.int64)),
        "suite_name": pa.array(np.full(n, "scale", dtype=object)),
        "model_source": pa.array(np.full(n, "hf", dtype=object)),
        "arch": pa.array(np.array(ARCHS, dtype=object)[np.arange(n_models) % len(ARCHS)][model_idx]),
        "prompt_id": pa.array(np.char.add("p", (cell // images).astype(str)).astype(object)),
        "image_id": pa.array(np.char.add("i", (cell % images).astype(str)).astype(object)),
        "hostname": pa.array(np.char.add("mac-", class_idx.astype(str)).astype(object)),
        "chip": pa.array(np.array([c[1] for c in classes], dtype=object)[class_idx]),
        "ram_gb": pa.array(ram),
        "gpu_cores": pa.array(np.array([c[3] for c in classes])[class_idx]),
        "os_name": pa.array(np.full(n, "macOS", dtype=object)),
        "os_version": pa.array(np.full(n, "26.2", dtype=object)),
        "backend": pa.array(np.full(n, "metal", dtype=object)),
        "python_version": pa.array(np.full(n, "3.13.9", dtype=object)),
        "mlx_version": pa.array(np.full(n, "0.32.4", dtype=object)),
        "mlx_vlm_version": pa.array(np.full(n, "0.7.10", dtype=object)),
        "mlx_lm_version": pa.array(np.full(n, "0.32.2", dtype=object)),
        "transformers_version": pa.array(np.full(n, "5.24.0", dtype=object)),
        "grid_version": pa.array(np.full(n, "0.1.0", dtype=object)),
        "max_tokens": pa.array(np.full(n, 500)),
        "temperature": pa.array(np.zeros(n)),
        "trials": pa.array(np.full(n, 5)),
        "error_class": scalar(err_class, bad),
        "error_package": scalar(err_pkg, bad),
        "error_message": scalar(msg, bad),
        "error_fix": scalar(fix, bad),
        "traceback_tail": scalar(
            np.char.add('Traceback (most recent call last):\n  File "x.py"\n', msg.astype(str)).astype(object), bad
        ),
        "load_s": scalar(size_b * 0.4 + 1.0),
        "wall_s": pa.array(size_b * 0.4 + 10.0),
        "weight_bytes": pa.array(weight_bytes),
        "ttft_s": scalar(np.median(ttft, axis=1)),
        "prompt_tokens": scalar(np.full(n, 1200)),
        "generation_tokens": scalar(gen_tokens),
        "decode_tps": scalar(np.median(tps, axis=1)),
        "peak_memory_gb": scalar(np.median(peak, axis=1)),
        "decode_tps_iqr": scalar(np.subtract(*np.percentile(tps, [75, 25], axis=1))),
        "decode_tps_min": scalar(tps.min(axis=1)),
        "decode_tps_max": scalar(tps.max(axis=1)),
        "bandwidth_gbps": pa.array(bw),
        "trial_ttft_s": trial_list(ttft),
        "trial_decode_tps": trial_list(tps),
        "trial_peak_memory_gb": trial_list(peak),
        "trial_generation_tokens": trial_list(np.repeat(gen_tokens[:, None], trials, 1), dtype=pa.int64()),
        "output_text": scalar(out_text),
        "finish_reason": scalar(np.full(n, "stop", dtype=object)),
        "quality_flags": q_flags,
    }
    arrays = [
        cols[f.name].cast(f.type)
        if f.name in cols
        else pa.nulls(n, f.type)
        if f.nullable
        else pa.array([[]] * n, f.type)
        for f in RESULT_SCHEMA
    ]
    # list columns without data are empty lists, not nulls (the dataclass default)
    arrays = [
        a
        if not (pa.types.is_list(f.type) and f.name not in cols)
        else pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], f.type.value_type))
        for a, f in zip(arrays, RESULT_SCHEMA)
    ]
    return pa.Table.from_arrays(arrays, schema=RESULT_SCHEMA)


def generate(root: Path, rows: int, classes: int, prompts: int, images: int, rows_per_file: int, run_id: str) -> dict:
    started = time.perf_counter()
    table = build_table(rows, classes, prompts, images, run_id)
    folder = root / f"run_id={run_id}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    body = table.drop_columns(["run_id"])  # the store keeps run_id in the folder name only
    files = 0
    for start in range(0, table.num_rows, rows_per_file):
        pq.write_table(body.slice(start, rows_per_file), folder / f"part-{files:07d}.parquet")
        files += 1
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {
        "rows": table.num_rows,
        "files": files,
        "bytes_on_disk": size,
        "generate_s": round(time.perf_counter() - started, 1),
    }


CHILD = """
import sys, time
from pathlib import Path
from aggregator import write_reports
t = time.perf_counter()
paths = write_reports(sys.argv[1], sys.argv[2], Path(sys.argv[3]), formats=tuple(sys.argv[4].split(",")))
print(round(time.perf_counter() - t, 2))
"""


def measure(root: Path, run_id: str, out: Path, formats: str) -> dict:
    # /usr/bin/time reports the child's own peak RSS. rusage of a child forked straight from this process would count
    # the pages it inherited from the generator (GBs) before exec, so it is used only when GNU time is missing.
    cmd = [sys.executable, "-c", CHILD, str(root), run_id, str(out), formats]
    gnu_time = Path("/usr/bin/time").exists()
    if gnu_time:
        cmd = ["/usr/bin/time", "-f", "GRIDTIME %e %U %S %M"] + cmd
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = proc.stdout.read().decode(), proc.stderr.read().decode()
    if status != 0:
        raise SystemExit(f"report failed:\n{stderr}")
    cpu, rss_kb = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
    if gnu_time:
        line = next(ln for ln in stderr.splitlines() if ln.startswith("GRIDTIME "))
        _, _, user, system, rss = line.split()
        cpu, rss_kb = float(user) + float(system), int(rss)
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    return {
        "formats": formats,
        "wall_s_process": round(wall, 2),
        "wall_s_in_process": float(stdout.split()[-1]),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(rss_kb / 1024),
        "outputs_bytes": sizes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path("/tmp/grid-scale"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=8)
    ap.add_argument("--prompts", type=int, default=50)
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument(
        "--rows-per-file",
        type=int,
        default=62_500,
        help="rows per Parquet file (62,500: a run compacted into 16 files; 1: the store's per-cell layout)",
    )
    ap.add_argument("--run-id", default="scale-1m")
    ap.add_argument(
        "--formats",
        default="md,html,json,junit|md,html,json,csv,junit",
        help="'|'-separated format sets, each measured separately",
    )
    ap.add_argument("--measure-only", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="measure each format set this many times")
    args = ap.parse_args()
    report = {}
    if not args.measure_only:
        report["generate"] = generate(
            args.root, args.rows, args.classes, args.prompts, args.images, args.rows_per_file, args.run_id
        )
        print(json.dumps(report["generate"]), flush=True)
    report["measure"] = []
    for formats in args.formats.split("|"):
        out = args.root.parent / (args.root.name + "-reports") / formats.replace(",", "-")
        for _ in range(args.repeat):  # a shared machine's load varies: report every repetition, then min and median
            shutil.rmtree(out, ignore_errors=True)
            report["measure"].append(measure(args.root, args.run_id, out, formats))
            print(json.dumps(report["measure"][-1]), flush=True)
        runs = [m for m in report["measure"] if m["formats"] == formats]
        walls = sorted(m["wall_s_process"] for m in runs)
        rss = sorted(m["peak_rss_mb"] for m in runs)
        cpu = sorted(m["cpu_s"] for m in runs)
        print(
            json.dumps(
                {
                    "formats": formats,
                    "repeat": len(runs),
                    "wall_s_min": walls[0],
                    "cpu_s_min": cpu[0],
                    "wall_s_median": walls[len(walls) // 2],
                    "peak_rss_mb_max": rss[-1],
                    "load_average_1m": round(os.getloadavg()[0], 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
