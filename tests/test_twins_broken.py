"""Every broken twin, run by the real agent (spawned child, runner, error classes), yields the failure it reproduces:
the status, error class and owning package that grid/suites/failures.yaml expects. Also: the suite and the cases
agree, and the llava twin stays an honest failure."""

from __future__ import annotations

import json

import pytest

from agent.twins import broken, materialize
from grid.core.suite import load_suite

FAILURES = load_suite("failures")


def test_failures_suite_lists_every_case_with_its_expectation_and_options():
    by_id = {m.id: m for m in FAILURES.models}
    assert set(by_id) == {f"twin-broken:{case}" for case in broken.CASES}
    for case, info in broken.CASES.items():
        model = by_id[f"twin-broken:{case}"]
        assert model.expect == info.expect, case
        assert model.trust_remote_code == info.suite.get("trust_remote_code", False), case
        assert model.timeout_s == info.suite.get("timeout_s"), case
        assert model.memory_limit_gb == info.suite.get("memory_limit_gb"), case


def test_broken_twins_build_and_say_what_they_reproduce(grid_cache):
    for case, info in broken.CASES.items():
        folder = materialize(f"twin-broken:{case}")
        note = json.loads((folder / "BROKEN.json").read_text())
        assert note["case"] == case and note["expect"] == info.expect
        assert (folder / "config.json").exists() and (folder / "tokenizer.json").exists()


def test_missing_lm_head_twin_really_lacks_the_weight(grid_cache):
    import struct

    folder = materialize("twin-broken:missing_lm_head")
    raw = (folder / "model.safetensors").read_bytes()
    header = json.loads(raw[8 : 8 + struct.unpack("<Q", raw[:8])[0]])
    assert "language_model.lm_head.weight" not in header
    assert any(k.endswith("embed_tokens.weight") for k in header)


@pytest.fixture(scope="module")
def failure_rows(grid_cache):
    """The failures suite through the agent (no Ray): one spawned child per model, as in `grid run failures`."""
    from agent.hardware import probe
    from agent.runner import run_group
    from grid.core.plan import group_cells, plan_cells

    suite = FAILURES
    cells = plan_cells(suite, "twins-broken-test", [("EPYC-2c-24GB", "")])
    hw = probe(device_info=False)
    return {row.model: row for group in group_cells(cells) for row in run_group(group, hw)}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(broken.CASES))
def test_broken_twin_yields_its_class_and_package(case, failure_rows):
    row = failure_rows[f"twin-broken:{case}"]
    expect = broken.CASES[case].expect
    got = {"status": row.status, "error_class": row.error_class, "error_package": row.error_package}
    assert got == expect, row.error_message
    assert row.error_fix  # every failure comes with a suggested fix
    assert row.error_message


@pytest.mark.slow
def test_failure_messages_are_the_seed_reports(failure_rows):
    messages = {m.split(":", 1)[1]: r.error_message for m, r in failure_rows.items()}
    assert "but a ImageProcessingMixin was expected" in messages["processor_mismatch"]
    assert "_validate_images_text_input_order" in messages["remote_code_import"]
    assert "language_model.lm_head.weight" in messages["missing_lm_head"]
    assert "additional_special_tokens" in messages["tokenizer_attribute"]
    assert "image_processing_phi3_v.py" in messages["missing_processor_file"]
    assert "std::bad_cast" in messages["type_cast"]
