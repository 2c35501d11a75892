"""Shared pieces of the bench scripts: the machine and date a figure was measured on, suites of twins, the standalone
baseline's plan, and JSON output. Bench scripts are run from the repo root: `python bench/<script>.py ...`."""

from __future__ import annotations

import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Eleven tiny twins: every buildable architecture, plus 4-bit variants of four of them (different kernels).
P2_MODELS = (
    "twin:qwen2_vl",
    "twin:qwen2_5_vl",
    "twin:qwen3_vl",
    "twin:smolvlm",
    "twin:idefics3",
    "twin:gemma3",
    "twin:paligemma",
    "twin:qwen2_vl-q4",
    "twin:qwen2_5_vl-q4",
    "twin:smolvlm-q4",
    "twin:gemma3-q4",
)
PROMPT = {"id": "describe", "text": "Describe this image in one sentence."}
IMAGE = {"id": "chart", "builtin": "chart"}


def machine() -> dict:
    from agent.hardware import probe

    hw = probe(device_info=False)
    return {
        "hostname": hw.hostname,
        "hw_class": hw.hw_class,
        "chip": hw.chip,
        "cpu_cores": hw.cpu_cores,
        "ram_gb": hw.ram_gb,
        "backend": hw.backend,
        "os": f"{hw.os_name} {hw.os_version}",
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "loadavg_1m": os.getloadavg()[0],
        "git_commit": _git_commit(),
        "command": " ".join(sys.argv),
    }


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def suite_dict(name: str, models, max_tokens: int, trials: int, warmup_runs: int = 1) -> dict:
    return {
        "name": name,
        "models": [{"id": m} for m in models],
        "prompts": [PROMPT],
        "images": [IMAGE],
        "generation": {
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "warmup_runs": warmup_runs,
            "trials": trials,
            "exact_tokens": True,
            "seed": 0,
            "timeout_s": 1800,
        },
    }


def write_suite_yaml(path: Path, suite: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def cells_of(suite: dict, hw_class: str = "bench"):
    from grid.core.plan import plan_cells
    from grid.core.suite import parse_suite

    return plan_cells(parse_suite(suite, "bench.yaml"), "bench", [(hw_class, "")])


def with_prompts(spec: dict, n: int) -> dict:
    """The suite with n prompts (cells per model group) instead of one: the same text, numbered."""
    if n > 1:
        spec["prompts"] = [{"id": f"p{i}", "text": f"{PROMPT['text']} ({i})"} for i in range(n)]
    return spec


def standalone_plan(suite: dict) -> dict:
    """The same cells as grid would run, for bench/standalone.py: model folders resolved, same prompt text and image."""
    from agent.images import image_path
    from agent.twins import materialize

    paths: dict[str, str] = {}
    cells = []
    for cell in cells_of(suite):
        if cell.model.id not in paths:
            paths[cell.model.id] = str(materialize(cell.model.id))
        g = cell.generation
        cells.append(
            {
                "model": cell.model.id,
                "model_path": paths[cell.model.id],
                "prompt": cell.prompt.full_text,
                "image": image_path(builtin=cell.image.builtin),
                "max_tokens": g.max_tokens,
                "temperature": g.temperature,
                "warmup_runs": g.warmup_runs,
                "trials": g.trials,
                "exact_tokens": g.exact_tokens,
                "seed": g.seed,
            }
        )
    return {"cells": cells}


def run_standalone(plan: dict, workdir: Path, tag: str) -> tuple[dict, float]:
    """Run bench/standalone.py in a fresh interpreter; returns its output and the wall time measured around it."""
    plan_path, out_path = workdir / f"plan-{tag}.json", workdir / f"standalone-{tag}.json"
    plan_path.write_text(json.dumps(plan))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "standalone.py"), "--plan", str(plan_path), "--out", str(out_path)],
        check=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - t0
    return json.loads(out_path.read_text()), wall


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def geomean(values) -> float:
    values = list(values)
    return float(statistics.geometric_mean(values)) if values else float("nan")


def write_json(out_dir: Path, name: str, data: dict) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"wrote {path}")
    return path
