"""Real-size twins take the published dimensions of the real model they name: the built config keeps them, passes
transformers' validation, and mlx-vlm's model built from it has the published parameter count. Configs only: the
weights (gigabytes) are never built in tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent.twins import sizes
from agent.twins.build import twin_files
from agent.twins.files import lint_config
from agent.twins.spec import parse

ENTRIES = [(arch, size) for arch, by_size in sizes.REAL_SIZES.items() for size in by_size]


def _leaves(d: dict, prefix: str = ""):
    for key, value in d.items():
        if isinstance(value, dict) and key != "rope_scaling":
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d


@pytest.mark.parametrize("arch, size", ENTRIES)
def test_real_size_config_keeps_the_published_dimensions_and_validates(arch, size, tmp_path):
    real = sizes.real_size(arch, size)
    assert real.model_id.count("/") == 1 and real.params_b > 0
    files = twin_files(parse(f"twin:{arch}@{size}"))
    # config.json (and any remote config code) only: the 150k-260k-token tokenizers are built by materialize, not here
    (tmp_path / "config.json").write_text(json.dumps(files.config))
    for name, text in files.extra_files.items():
        (tmp_path / name).write_text(text)
    lint_config(tmp_path, files.trust_remote_code)
    written = json.loads((tmp_path / "config.json").read_text())
    for dotted, value in _leaves(real.config):
        assert _get(written, dotted) == value, f"{dotted} of {real.model_id}"
    assert files.tokenizer.vocab_size == max(
        written.get("vocab_size") or 0, (written.get("text_config") or {}).get("vocab_size") or 0
    )


# Spot checks against values quoted from the public config.json files (independent of the table above).
PUBLISHED = {
    ("qwen2_vl", "2b"): {"hidden_size": 1536, "num_hidden_layers": 28, "vision_config.embed_dim": 1280},
    ("qwen2_vl", "7b"): {"hidden_size": 3584, "intermediate_size": 18944, "vocab_size": 152064},
    ("gemma3", "27b"): {"text_config.hidden_size": 5376, "text_config.num_hidden_layers": 62},
    ("mllama", "11b"): {"text_config.num_hidden_layers": 40, "vision_config.vision_output_dim": 7680},
}


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_spot_checks(key):
    config = twin_files(parse(f"twin:{key[0]}@{key[1]}")).config
    for dotted, value in PUBLISHED[key].items():
        assert _get(config, dotted) == value


@pytest.mark.slow
def test_real_size_twins_have_the_published_parameter_count():
    """mlx-vlm's own Model from each config (lazy arrays, nothing allocated) counts the published total within 2%."""
    code = (
        "import json; from agent.twins import weights; from agent.twins.build import twin_files; "
        "from agent.twins.spec import parse; from agent.twins import sizes\n"
        "print(json.dumps({f'{a}@{s}': weights.count_parameters(twin_files(parse(f'twin:{a}@{s}')).config) "
        "for a, d in sizes.REAL_SIZES.items() for s in d}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    for arch, size in ENTRIES:
        published = sizes.real_size(arch, size).params_b * 1e9
        assert abs(counts[f"{arch}@{size}"] / published - 1) < 0.02, (arch, size, counts[f"{arch}@{size}"])
