"""`grid twins` through typer's CliRunner: list (table and --json), make into a folder, errors as one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from grid.cli.twins import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRID_CACHE", str(tmp_path_factory.getbasetemp() / "cli-grid-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_list_json_names_the_foundation_twins():
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    for arch in ("qwen2_vl", "qwen2_5_vl", "smolvlm", "gemma3", "paligemma"):
        assert rows[f"twin:{arch}"]["buildable"] is True
        assert rows[f"twin:{arch}"]["arch"] == arch


def test_list_table_mentions_twins():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert "twin:qwen2_vl" in result.output


def test_make_writes_a_loadable_looking_folder(tmp_path):
    out = tmp_path / "twin"
    result = runner.invoke(app, ["make", "qwen2_vl", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["path"] == str(out)
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "chat_template.jinja",
    ):
        assert (out / name).is_file(), name


def test_make_unknown_arch_is_one_line_and_exit_1():
    result = runner.invoke(app, ["make", "no_such_arch"])
    assert result.exit_code == 1
    assert "unknown twin architecture" in result.output
