"""Laptop-side pieces without a cluster: the export framing `grid fetch` decodes, a direct copy from a results URI, and
the staged suite a submission uploads (only the suite and the images it names)."""

from __future__ import annotations

import io

import pytest
import yaml

from grid import store
from grid.core.schema import ResultRow
from grid.core.suite import load_suite
from grid.lab import remote


def _rows(root, run_id="r1", n=3):
    for i in range(n):
        store.write_row(
            root,
            ResultRow(
                run_id=run_id,
                cell_id=f"c{i}",
                model="twin:qwen2_vl",
                hw_class="M2-8c-8GB",
                status="ok",
                decode_tps=10.0 + i,
            ),
        )


def test_export_then_unpack_round_trips_rows_and_reports(tmp_path):
    results, reports = tmp_path / "results", tmp_path / "reports"
    _rows(results)
    (reports / "r1").mkdir(parents=True)
    (reports / "r1" / "report.md").write_text("# report")
    out = io.StringIO()
    remote.export("r1", str(results), str(reports), out=out)
    files = remote.unpack_export("job log noise\n" + out.getvalue() + "more noise\n", tmp_path / "laptop")
    assert (tmp_path / "laptop" / "reports" / "r1" / "report.md").read_text() == "# report"
    rows = store.read_rows(tmp_path / "laptop" / "results", "r1")
    assert sorted(r.decode_tps for r in rows) == [10.0, 11.0, 12.0]
    assert len([f for f in files if f.suffix == ".parquet"]) == 3


def test_a_corrupt_export_is_refused(tmp_path):
    _rows(tmp_path / "results")
    out = io.StringIO()
    remote.export("r1", str(tmp_path / "results"), None, out=out)
    lines = out.getvalue().splitlines()
    lines[1] = ("A" if lines[1][0] != "A" else "B") + lines[1][1:]  # one flipped base64 character
    with pytest.raises(remote.RemoteError, match="corrupt"):
        remote.unpack_export("\n".join(lines), tmp_path / "laptop")


def test_fetch_straight_from_a_results_uri(tmp_path):
    uri = f"file://{tmp_path / 'shared'}"
    _rows(uri, run_id="r2", n=2)
    files = remote.fetch("r2", tmp_path / "laptop", results=uri)
    assert sorted(f.name for f in files) == ["c0.parquet", "c1.parquet"]
    assert len(store.read_rows(tmp_path / "laptop" / "results", "r2")) == 2


def test_staged_suite_carries_only_its_images(tmp_path):
    (tmp_path / "big-unrelated.bin").write_bytes(b"x" * 1000)
    from PIL import Image

    Image.new("RGB", (8, 8), "orange").save(tmp_path / "cat.png")  # suites now refuse a file that is not an image
    png = (tmp_path / "cat.png").read_bytes()
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(
        yaml.safe_dump(
            {
                "name": "mine",
                "models": ["twin:qwen2_vl"],
                "images": [{"id": "cat", "path": "cat.png"}, {"id": "c", "builtin": "chart"}],
            }
        )
    )
    original = load_suite(suite_file)
    staging = tmp_path / "staging"
    staging.mkdir()
    name = remote._stage_suite(original, staging)
    assert sorted(p.name for p in staging.rglob("*") if p.is_file()) == ["0-cat.png", "suite.yaml"]
    staged = load_suite(staging / name)
    assert (staged.models, staged.prompts, staged.generation) == (
        original.models,
        original.prompts,
        original.generation,
    )
    assert [im.builtin for im in staged.images] == [None, "chart"]
    assert (staging / "images" / "0-cat.png").read_bytes() == png


def test_submit_refuses_a_non_dashboard_address():
    with pytest.raises(remote.RemoteError, match="dashboard URL"):
        remote.client("192.168.1.10:6379")


def test_submit_retries_while_the_head_has_no_job_agent_yet(monkeypatch):
    monkeypatch.setattr(remote.time, "sleep", lambda s: None)
    calls = []

    class Head:
        def submit_job(self, **kw):
            calls.append(kw)
            if len(calls) < 3:
                raise RuntimeError(
                    "Request failed with status code 500: No available agent to submit job, please try again later.."
                )

    remote._submit_job(Head(), entrypoint="python -m grid run x", submission_id="grid-r")
    assert len(calls) == 3

    class Refusing:
        def submit_job(self, **kw):
            raise RuntimeError("Request failed with status code 400: bad runtime_env")

    with pytest.raises(remote.RemoteError, match="refused the job: .*bad runtime_env"):
        remote._submit_job(Refusing(), entrypoint="x", submission_id="grid-s")
