"""`grid run` end to end with real parts: a real embedded Ray, real mlx-vlm inference on twins in spawned children,
real Parquet, the report. One run (session fixture) serves every assertion: it takes ~30 s on 2 cores."""

import json
import shutil
import struct
import textwrap

import pytest
from typer.testing import CliRunner

from agent.twins import materialize
from grid import store
from grid.cli import app
from grid.core.schema import RESULT_SCHEMA

pytestmark = pytest.mark.slow


def drop_tensor(folder, name_part):
    """Rewrite model.safetensors without the first tensor whose name contains name_part (a broken conversion)."""
    path = folder / "model.safetensors"
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    victim = next(k for k in sorted(header) if name_part in k)
    kept, blobs, offset = {}, [], 0
    for key, meta in header.items():
        if key == victim:
            continue
        if key == "__metadata__":
            kept[key] = meta
            continue
        start, end = meta["data_offsets"]
        blobs.append(data[start:end])
        kept[key] = {**meta, "data_offsets": [offset, offset + end - start]}
        offset += end - start
    head = json.dumps(kept).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    return victim


@pytest.fixture(scope="session")
def e2e(tmp_path_factory, grid_cache):
    base = tmp_path_factory.mktemp("e2e")
    broken = base / "broken-model"
    shutil.copytree(materialize("twin:qwen2_vl"), broken)
    victim = drop_tensor(broken, "language_model")
    suite = base / "suite.yaml"
    suite.write_text(
        textwrap.dedent(f"""
        name: e2e
        models:
          - id: twin:qwen2_vl
          - id: twin:smolvlm
          - id: {broken}
          - id: twin-broken:abort
            trust_remote_code: true
        prompts:
          - {{id: describe, text: Describe this image., context: "Lyon, 2026-01-16"}}
        images:
          - {{id: chart, builtin: chart}}
        generation: {{max_tokens: 12, warmup_runs: 1, trials: 2, exact_tokens: true}}
    """)
    )
    results, reports = base / "results", base / "reports"
    out = CliRunner().invoke(app, ["run", str(suite), "--results", str(results), "--reports", str(reports), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output[out.output.index("{") :])
    return {"summary": summary, "results": results, "reports": reports, "broken": str(broken), "victim": victim}


def test_every_cell_has_a_row_read_back_as_one_table(e2e):
    table = store.read_table(e2e["results"], e2e["summary"]["run_id"])
    assert table.num_rows == 4
    assert table.schema.equals(RESULT_SCHEMA, check_metadata=False)
    assert e2e["summary"]["by_status"] == {"crashed": 1, "failed": 1, "ok": 2}


def test_a_child_that_aborts_is_a_crashed_row_and_the_run_completes(e2e):
    r = next(r for r in store.read_rows(e2e["results"]) if r.model == "twin-broken:abort")
    assert r.status == "crashed" and r.error_class == "Crash"
    assert "exit code -6" in r.error_message  # SIGABRT
    assert "Aborted" in r.traceback_tail  # faulthandler's stack from the child's log


def test_ok_rows_carry_real_measurements_and_provenance(e2e):
    rows = {r.model: r for r in store.read_rows(e2e["results"])}
    for model in ("twin:qwen2_vl", "twin:smolvlm"):
        r = rows[model]
        assert r.status == "ok" and r.error_class is None
        assert r.decode_tps > 0 and r.prefill_tps > 0 and r.ttft_s > 0 and r.load_s > 0
        assert r.peak_memory_gb > 0
        assert r.generation_tokens == 12 and r.trial_generation_tokens == [12, 12]  # exact token mode
        assert len(r.trial_decode_tps) == 2 and r.cold_decode_tps is not None
        assert r.backend == "cpu" and r.hw_class and r.hostname and r.mlx_vlm_version and r.suite_hash
        assert r.arch in ("qwen2_vl", "smolvlm")
        assert r.child_start_s > 0  # spawn to imports done: grid.driver.spares sizes a node's spares from it
        assert r.spare_children in range(4)  # sized per group (the run left it to grid), the count the node kept
        assert r.output_text is not None


def test_broken_model_folder_is_a_failed_row_with_class_and_package(e2e):
    r = next(r for r in store.read_rows(e2e["results"]) if r.model == e2e["broken"])
    assert r.status == "failed"
    assert r.error_class == "Weight Mismatch" and r.error_package == "model files"
    assert e2e["victim"] in r.error_message
    assert r.error_fix and ("load_weights" in r.traceback_tail or "Missing" in r.traceback_tail)


def test_cell_ids_are_stable_and_unique(e2e):
    rows = store.read_rows(e2e["results"])
    assert len({r.cell_id for r in rows}) == len(rows)


def test_report_is_written(e2e):
    report = e2e["reports"] / e2e["summary"]["run_id"] / "report.md"
    text = report.read_text()
    assert "twin:qwen2_vl" in text and "Weight Mismatch" in text
