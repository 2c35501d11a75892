"""Broken model folders are diagnosed as the model files' fault, with the file named: broken copies of a real smolvlm
twin (`grid twins make smolvlm --out DIR`) run through the real agent (child process, mlx-vlm), as a folder that
changed after the suite was validated, or a hub snapshot, would. A load that falls back to defaults (no preprocessor
config: a different image pipeline) is an ok row with a load-fallback flag, never a clean ok."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.hardware import probe
from agent.runner import run_group
from grid.cli import app
from grid.core import modelfiles
from grid.core.failures import Frame, classify
from grid.core.plan import group_cells, plan_cells
from grid.core.suite import parse_suite


@pytest.fixture(scope="module")
def good(tmp_path_factory, grid_cache) -> Path:
    out = tmp_path_factory.mktemp("twin") / "smolvlm"
    result = CliRunner().invoke(app, ["twins", "make", "smolvlm", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _cut(path: Path, keep: float) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


def _shrink_text_model(d: Path) -> None:
    config = json.loads((d / "config.json").read_text())
    text = config.get("text_config", config)
    text["intermediate_size"] = int(text["intermediate_size"]) * 2  # the saved MLP weights no longer fit
    (d / "config.json").write_text(json.dumps(config))


BREAK = {
    "intact": lambda d: None,
    "no-tokenizer": lambda d: [(d / n).unlink() for n in ("tokenizer.json", "tokenizer_config.json")],
    "no-preprocessor": lambda d: (d / "preprocessor_config.json").unlink(),
    "config-invalid-json": lambda d: (d / "config.json").write_text('{"model_type": "smolvlm", '),
    "no-config": lambda d: (d / "config.json").unlink(),
    "tokenizer-invalid-json": lambda d: _cut(d / "tokenizer.json", 0.5),
    "truncated-weights": lambda d: _cut(d / "model.safetensors", 0.5),
    "no-weights": lambda d: (d / "model.safetensors").unlink(),
    "shapes-mismatch": _shrink_text_model,
}
# case -> (status, error_class, the file the fix names)
EXPECT = {
    "no-tokenizer": ("failed", "Config Missing", "tokenizer.json"),
    "config-invalid-json": ("failed", "Config Missing", "config.json"),
    "no-config": ("failed", "Config Missing", "config.json"),
    "tokenizer-invalid-json": ("failed", "Config Missing", "tokenizer.json"),
    "truncated-weights": ("failed", "Weight Mismatch", "model.safetensors"),
    "no-weights": ("failed", "Weight Mismatch", "model.safetensors"),
    # smolvlm's processor refuses to load without it (transformers' "Can't load image processor"): a failure, not a
    # fallback; architectures whose processor builds one from defaults are flagged instead (test below)
    "no-preprocessor": ("failed", "Config Missing", "preprocessor_config.json"),
}


@pytest.fixture(scope="module")
def broken_rows(good, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("broken")
    for case, breaker in BREAK.items():
        shutil.copytree(good, root / case)
        breaker(root / case)
    # qwen2_vl's processor builds an image processor from defaults when the file is missing: it loads and runs
    qwen = root / "qwen-no-preprocessor"
    made = CliRunner().invoke(app, ["twins", "make", "qwen2_vl", "--out", str(qwen)])
    assert made.exit_code == 0, made.output
    (qwen / "preprocessor_config.json").unlink()
    suite = parse_suite(
        {
            "models": [str(root / case) for case in BREAK] + [str(qwen)],
            "generation": {"max_tokens": 4, "trials": 1, "warmup_runs": 0},
        },
        "model-files.yaml",
    )
    cells = plan_cells(suite, "model-files", [("EPYC-2c-24GB", "")])
    hw = probe(device_info=False)
    rows = [row for group in group_cells(cells) for row in run_group(group, hw)]
    return {Path(r.model).name: r for r in rows}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EXPECT))
def test_a_broken_folder_is_the_model_files_fault_with_the_file_named(case, broken_rows):
    row = broken_rows[case]
    status, error_class, file = EXPECT[case]
    assert (row.status, row.error_class, row.error_package) == (status, error_class, "model files"), (
        case,
        row.error_class,
        row.error_package,
        row.error_message,
    )
    assert file in row.error_fix, row.error_fix


@pytest.mark.slow
def test_weights_of_other_shapes_are_a_weight_mismatch_of_the_model_files(broken_rows):
    row = broken_rows["shapes-mismatch"]
    assert (row.status, row.error_class, row.error_package) == ("failed", "Weight Mismatch", "model files"), (
        row.error_class,
        row.error_message,
    )


@pytest.mark.slow
def test_a_load_that_falls_back_is_flagged_never_a_clean_ok(broken_rows):
    row = broken_rows["qwen-no-preprocessor"]
    assert row.status == "ok", (row.error_class, row.error_message)
    assert "load-fallback(no preprocessor_config.json)" in row.quality_flags


@pytest.mark.slow
def test_the_intact_model_is_a_clean_ok(broken_rows):
    intact = broken_rows["intact"]
    assert intact.status == "ok" and intact.decode_tps > 0
    assert not [f for f in intact.quality_flags if f.startswith("load-fallback")]


# --- fast: the folder diagnosis itself ------------------------------------------------------------------------------


def test_the_intact_twin_has_no_problem_and_no_fallback(good):
    assert modelfiles.check_folder(good) == [] and modelfiles.fallbacks(good) == []


def test_an_mlx_error_in_a_folder_without_tokenizer_is_config_missing(good, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(good, copy)
    (copy / "tokenizer.json").unlink()
    frames = [Frame("/site-packages/mlx_vlm/generate.py", 1, "generate"), Frame("/site-packages/mlx/core.py", 2, "x")]
    seen = classify("ValueError", "[gather] Got indices with invalid dtype", frames)
    assert seen.error_class == "Model Error"  # without the folder, the exception alone misleads
    info = classify("ValueError", "[gather] Got indices with invalid dtype", frames, model_dir=str(copy))
    assert (info.error_class, info.error_package) == ("Config Missing", "model files")
    assert "tokenizer.json" in info.error_fix


def test_safetensors_header_check_sees_a_cut_file(good, tmp_path):
    path = tmp_path / "model.safetensors"
    raw = (good / "model.safetensors").read_bytes()
    path.write_bytes(raw)
    assert modelfiles.safetensors_problem(path) is None
    path.write_bytes(raw[:-1])
    assert "truncated" in modelfiles.safetensors_problem(path)


def test_the_run_table_names_a_local_model_by_its_folder(good):
    from grid.cli.run import model_label

    assert model_label(str(good)) == "smolvlm"
    assert model_label(str(good) + "/") == "smolvlm"
    assert model_label("twin:qwen2_vl@2b-q4") == "twin:qwen2_vl@2b-q4"
    assert model_label("mlx-community/SmolVLM2-2.2B-Instruct-mlx") == "mlx-community/SmolVLM2-2.2B-Instruct-mlx"
