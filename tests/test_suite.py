"""Suite loading and validation, cell planning (pure logic)."""

import textwrap

import pytest
from typer.testing import CliRunner

from grid.cli import app
from grid.core.plan import group_cells, plan_cells
from grid.core.suite import SuiteError, builtin_suites, load_suite, parse_suite


def write(tmp_path, text):
    p = tmp_path / "suite.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_builtin_smoke_has_three_twins():
    suite = load_suite("smoke")
    assert "smoke" in builtin_suites()
    assert len(suite.models) >= 3 and all(m.id.startswith("twin:") for m in suite.models)
    assert suite.hash == load_suite("smoke").hash


@pytest.mark.parametrize(
    "body, key, problem",
    [
        ("models: []", "models", "non-empty list"),
        ("models: [{id: twin:qwen2_vl, colour: red}]", "models[0].colour", "unknown key"),
        ("models: [twin:qwen2_vl]\ngeneration: {trials: 0}", "generation.trials", ">= 1"),
        ("models: [twin:qwen2_vl]\ngeneration: {max_tokens: many}", "generation.max_tokens", "integer"),
        ("models: [twin:qwen2_vl]\nimages: [{id: a, builtin: unicorn}]", "images[0].builtin", "unknown image"),
        ("models: [twin:qwen2_vl]\nimages: [{id: a, path: nope.png}]", "images[0].path", "not found"),
        ("models: [twin:a, twin:a]", "models", "duplicate"),
        ("models: [{id: x, trust_remote_code: yes please}]", "models[0].trust_remote_code", "true or false"),
        ("models: [twin:a]\nprompts: [{id: p}]", "prompts[0].text", "required"),
        ("models: [twin:a\n", "line", "YAML"),
    ],
)
def test_malformed_suites_name_file_key_and_problem(tmp_path, body, key, problem):
    path = write(tmp_path, body)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert info.value.file == str(path)
    assert info.value.key.startswith(key)
    assert problem in info.value.problem


def test_cli_malformed_suite_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, "models: [{id: twin:qwen2_vl, colour: red}]")
    result = CliRunner().invoke(app, ["run", str(path), "--results", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "models[0].colour" in result.output and "unknown key" in result.output
    assert not (tmp_path / "r").exists()  # nothing run, nothing written


def test_cli_unknown_suite_exits_2():
    result = CliRunner().invoke(app, ["run", "no-such-suite"])
    assert result.exit_code == 2
    assert "built-ins" in result.output


def test_cell_ids_are_deterministic_and_distinct():
    suite = parse_suite(
        {"models": ["twin:a", "twin:b"], "prompts": [{"id": "p", "text": "t"}, {"id": "q", "text": "u"}]}, "s.yaml"
    )
    a = plan_cells(suite, "run1", [("M2-10c-16GB", ""), ("M4-Max-40c-128GB", "")])
    b = plan_cells(suite, "run2", [("M2-10c-16GB", ""), ("M4-Max-40c-128GB", "")])
    assert len(a) == 2 * 2 * 1 * 2
    assert [c.cell_id for c in a] == [c.cell_id for c in b]  # run id is not part of what defines a cell
    assert len({c.cell_id for c in a}) == len(a)
    groups = group_cells(a)
    assert len(groups) == 4 and all(len(g) == 2 for g in groups)  # one group per model × class: 2 prompts each


def test_generation_settings_change_cell_ids():
    base = {"models": ["twin:a"]}
    one = plan_cells(parse_suite(base, "s.yaml"), "r", [("c", "")])[0]
    two = plan_cells(parse_suite({**base, "generation": {"max_tokens": 7}}, "s.yaml"), "r", [("c", "")])[0]
    assert one.cell_id != two.cell_id


def test_cli_refuses_to_mix_another_suite_into_an_existing_run(tmp_path):
    from grid import store
    from grid.driver.scheduler import _manifest

    results = tmp_path / "r"
    store.write_manifest(results, "r1", _manifest(load_suite("smoke"), "r1", [("EPYC-2c-24GB", "")], "", False))
    before = sorted(p.name for p in (results / "run_id=r1").iterdir())
    result = CliRunner().invoke(app, ["run", "failures", "--results", str(results), "--run-id", "r1", "--no-report"])
    assert result.exit_code == 1
    assert "another suite ('smoke'" in result.output and "grid resume r1" in result.output
    assert sorted(p.name for p in (results / "run_id=r1").iterdir()) == before  # nothing run, nothing written
