"""What a model folder must hold for mlx-vlm to load it, checked from the files alone (pure Python, no mlx).

Used three times: before a run (grid.driver.validate: a local model folder with a missing or broken file is a suite
error), after a failed load (grid.core.failures.classify: the file that is missing or broken is the root cause, owned
by "model files", whatever exception it surfaced as), and after an ok load (`fallbacks`: a folder without a
preprocessor config loads with the image processor's defaults, a different image pipeline, so the row is flagged).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

# Architectures (config.json model_type) whose mlx-vlm processor needs no preprocessor_config.json: their image
# processing is configured in processor_config.json or in model-shipped code (as the twins of agent/twins have them).
NO_PREPROCESSOR = frozenset({"internvl_chat", "kimi_vl", "deepseek_vl_v2", "llava-qwen2", "llava_bunny"})
# Any of these is a tokenizer mlx-vlm (through transformers) can load.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model", "tiktoken.model")
TOKENIZER_SUFFIXES = (".tiktoken",)

CONFIG_FIX = "Add or repair the file (copy it from the original model repo) or re-run the conversion that wrote it."
WEIGHTS_FIX = "Re-download or re-convert the weights (a copy was cut short, or the conversion saved no weights)."


@dataclass(frozen=True)
class Problem:
    """One missing or broken file of a model folder."""

    error_class: str  # "Config Missing" (configs, tokenizer, processor files) or "Weight Mismatch" (weights)
    file: str  # the file's name inside the folder ("config.json", "model.safetensors", "tokenizer.json")
    problem: str  # what is wrong with it, one line
    fix: str

    @property
    def message(self) -> str:
        return f"{self.file}: {self.problem}"


def _json(folder: Path, name: str) -> tuple[dict | None, Problem | None]:
    """A JSON file of the folder: (its mapping, None), (None, None) when absent, or (None, the problem)."""
    path = folder / name
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None, Problem("Config Missing", name, "not a text JSON file", CONFIG_FIX)
    except json.JSONDecodeError as e:
        return None, Problem("Config Missing", name, f"not valid JSON (line {e.lineno}: {e.msg})", CONFIG_FIX)
    if not isinstance(data, dict):
        return None, Problem("Config Missing", name, f"expected a JSON object, got {type(data).__name__}", CONFIG_FIX)
    return data, None


def safetensors_problem(path: Path) -> str | None:
    """Why a .safetensors file cannot be read (header length, header JSON, data shorter than the header says), or
    None. Reads the header only."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return f"truncated ({size} bytes, no header)"
            (n,) = struct.unpack("<Q", head)
            if n > size - 8 or n > 100_000_000:
                return f"truncated or not safetensors (header of {n} bytes in a {size}-byte file)"
            header = json.loads(f.read(n).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, struct.error):
        return "not a safetensors file (unreadable header)"
    if not isinstance(header, dict):
        return "not a safetensors file (header is not a JSON object)"
    end = max(
        (t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)), default=0
    )
    if 8 + n + end > size:
        return f"truncated: {size} bytes, the header describes {8 + n + end}"
    return None


def _weights(folder: Path) -> list[Problem]:
    index, bad = _json(folder, "model.safetensors.index.json")
    if bad:
        return [Problem("Weight Mismatch", bad.file, bad.problem, WEIGHTS_FIX)]
    names = sorted({str(v) for v in (index or {}).get("weight_map", {}).values()})
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        return [
            Problem("Weight Mismatch", missing[0], "listed in model.safetensors.index.json but absent", WEIGHTS_FIX)
        ]
    files = sorted(p for p in folder.glob("*.safetensors") if p.is_file())
    if not files:
        return [Problem("Weight Mismatch", "model.safetensors", "no *.safetensors weights in the folder", WEIGHTS_FIX)]
    for p in files:
        why = safetensors_problem(p)
        if why:
            return [Problem("Weight Mismatch", p.name, why, WEIGHTS_FIX)]
    return []


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / n).is_file() for n in TOKENIZER_FILES) or any(
        p.suffix in TOKENIZER_SUFFIXES for p in folder.iterdir()
    )


def _auto_map_files(config: dict) -> list[str]:
    """The .py files an auto_map names (`module.Class`; `repo--module.Class` lives in another repo)."""
    refs = []
    for value in (config.get("auto_map") or {}).values():
        refs += value if isinstance(value, list) else [value]
    return sorted({f"{r.rsplit('.', 1)[0]}.py" for r in refs if isinstance(r, str) and "." in r and "--" not in r})


def _text_files(folder: Path, config: dict) -> list[Problem]:
    problems = []
    if not _has_tokenizer(folder):
        problems.append(
            Problem(
                "Config Missing",
                "tokenizer.json",
                "no tokenizer files (tokenizer.json, tokenizer.model, ...)",
                CONFIG_FIX,
            )
        )
    for name in (
        "tokenizer_config.json",
        "preprocessor_config.json",
        "processor_config.json",
        "generation_config.json",
    ):
        data, bad = _json(folder, name)
        if bad:
            problems.append(bad)
        elif data is not None and name != "generation_config.json":
            for py in _auto_map_files(data):
                if not (folder / py).is_file():
                    problems.append(Problem("Config Missing", py, f"named by {name}'s auto_map but absent", CONFIG_FIX))
    tokenizer, bad = _json(folder, "tokenizer.json")
    if bad:
        problems.append(bad)
    return problems


def check_folder(folder: str | Path) -> list[Problem]:
    """Every problem of a local model folder that mlx-vlm's load would trip on, most fundamental first ([] = fine).
    The preprocessor config is not among them (a missing one is a fallback: `fallbacks`)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [Problem("Config Missing", folder.name, "not a folder", CONFIG_FIX)]
    config, bad = _json(folder, "config.json")
    if bad:
        return [bad]
    if config is None:
        return [Problem("Config Missing", "config.json", "absent (every mlx-vlm model has one)", CONFIG_FIX)]
    if not isinstance(config.get("model_type"), str):
        return [Problem("Config Missing", "config.json", "has no model_type", CONFIG_FIX)]
    problems = _text_files(folder, config)
    for py in _auto_map_files(config):
        if not (folder / py).is_file():
            problems.append(Problem("Config Missing", py, "named by config.json's auto_map but absent", CONFIG_FIX))
    return problems + _weights(folder)


def fallbacks(folder: str | Path) -> list[str]:
    """Files whose absence makes the load fall back to defaults silently: today preprocessor_config.json, for the
    architectures whose processor reads one (an image processor built from defaults is a different image pipeline)."""
    folder = Path(folder)
    config, _ = _json(folder, "config.json")
    if config is None or config.get("model_type") in NO_PREPROCESSOR:
        return []
    if (folder / "preprocessor_config.json").is_file():
        return []
    processor, _ = _json(folder, "processor_config.json")
    if processor and isinstance(processor.get("image_processor"), dict):
        return []  # transformers v5 keeps the image processor's settings inside processor_config.json
    return ["preprocessor_config.json"]
