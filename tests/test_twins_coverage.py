"""Coverage: every mlx-vlm model folder with a vision tower is a twin, not a generative VLM, or not yet buildable,
each with its reason; the installed mlx-vlm gets no generative folder that nobody classified."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agent.twins import coverage, registry
from grid.cli.twins import app

runner = CliRunner()


def test_every_vision_folder_of_the_installed_mlx_vlm_is_classified():
    rows = coverage.coverage()
    assert rows, "no mlx_vlm/models/*/vision.py found: is mlx-vlm installed?"
    unclassified = [r.folder for r in rows if r.status == coverage.UNCLASSIFIED]
    assert not unclassified, (
        f"mlx-vlm {coverage.mlx_vlm_version()} has vision folders with no twin and no recorded reason: "
        f"{unclassified}; build a twin or add a reason to agent/twins/coverage.py"
    )


def test_reasons_are_recorded_once_and_one_line():
    twins = set(registry.BUILDERS)
    not_generative = set(coverage.NOT_A_GENERATIVE_VLM)
    not_yet = set(coverage.NOT_YET_BUILT) | set(registry.NOT_BUILDABLE)
    assert not twins & not_generative and not twins & not_yet and not not_generative & not_yet
    for reason in [*coverage.NOT_A_GENERATIVE_VLM.values(), *coverage.NOT_YET_BUILT.values()]:
        assert reason and "\n" not in reason


def test_classify_a_new_folder_as_unclassified(tmp_path):
    (tmp_path / "brand_new_vlm").mkdir()
    (tmp_path / "brand_new_vlm" / "vision.py").write_text("")
    (tmp_path / "qwen2_vl").mkdir()
    (tmp_path / "qwen2_vl" / "vision.py").write_text("")
    rows = {r.folder: r.status for r in coverage.coverage(tmp_path)}
    assert rows == {"brand_new_vlm": coverage.UNCLASSIFIED, "qwen2_vl": coverage.TWIN}


def test_coverage_command_prints_the_figure():
    result = runner.invoke(app, ["coverage"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == coverage.summary()
    assert " generative VLM architectures of mlx-vlm " in result.output
    data = json.loads(runner.invoke(app, ["coverage", "--json"]).output)
    assert data["twin"] + data["not yet buildable"] + data["not a generative VLM"] == data["folders"]


def test_list_coverage_fits_80_columns_and_names_every_folder():
    result = runner.invoke(app, ["list", "--coverage"])
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for folder in coverage.vision_folders():
        assert f"  {folder}\n" in result.output or f"  {folder} " in result.output
    rows = json.loads(runner.invoke(app, ["list", "--coverage", "--json"]).output)
    assert {r["folder"] for r in rows} == set(coverage.vision_folders())


def test_list_fits_80_columns():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_readme_states_the_computed_coverage_line():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert coverage.summary() in readme, "README's coverage line is stale: paste `grid twins coverage` into it"
