"""Per-cell Parquet files: atomic writes, one table back, readable by pandas and DuckDB."""

import pyarrow.parquet as pq
import pytest

from grid import store
from grid.core.schema import COLUMNS, RESULT_SCHEMA, SCHEMA_VERSION, ResultRow


def row(run="r1", cell="c1", status="ok", **kw):
    return ResultRow(run_id=run, cell_id=cell, model="twin:qwen2_vl", hw_class="EPYC-2c-24GB", status=status, **kw)


def test_round_trip_keeps_every_column_and_raw_trials(tmp_path):
    original = row(trial_decode_tps=[10.0, 11.0, 9.5], outlier_trials=[2], decode_tps=10.0, quality_flags=["verbose"])
    store.write_row(tmp_path, original)
    back = store.read_rows(tmp_path, "r1")
    assert back == [original]
    table = store.read_table(tmp_path)
    assert table.schema.equals(RESULT_SCHEMA, check_metadata=False)
    assert tuple(table.column_names) == COLUMNS
    assert back[0].schema_version == SCHEMA_VERSION


def test_layout_is_hive_partitioned_and_readable_by_pandas_and_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pandas = pytest.importorskip("pandas")
    for run in ("a", "b"):
        for i in range(3):
            store.write_row(tmp_path, row(run=run, cell=f"c{i}"))
    assert sorted(p.name for p in (tmp_path / "run_id=a").iterdir()) == ["c0.parquet", "c1.parquet", "c2.parquet"]
    df = pandas.read_parquet(tmp_path)
    assert len(df) == 6 and sorted(set(df["run_id"].astype(str))) == ["a", "b"]
    counts = duckdb.sql(f"select run_id, count(*) from read_parquet('{tmp_path}/**/*.parquet') group by 1 order by 1")
    assert counts.fetchall() == [("a", 3), ("b", 3)]
    assert store.list_runs(tmp_path) == ["a", "b"]


def test_interrupted_write_leaves_no_parquet_file(tmp_path, monkeypatch):
    real_write = pq.write_table

    def write_then_die(table, where, **kw):
        real_write(table, where, **kw)  # the temp file exists ...
        raise KeyboardInterrupt  # ... and the run is killed before the rename

    monkeypatch.setattr(pq, "write_table", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        store.write_row(tmp_path, row())
    folder = tmp_path / "run_id=r1"
    assert list(folder.iterdir()) == []
    assert store.read_table(tmp_path).num_rows == 0


def test_leftover_temp_file_from_a_sigkill_is_ignored(tmp_path):
    store.write_row(tmp_path, row(cell="done"))
    (tmp_path / "run_id=r1" / ".half.abcd.tmp").write_bytes(b"PAR1 half written")
    assert [r.cell_id for r in store.read_rows(tmp_path)] == ["done"]
    assert store.terminal_cell_ids(tmp_path, "r1") == {"done"}


def test_unknown_run_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(store.StoreError, match="not found"):
        store.read_manifest(tmp_path, "nope")


def test_invalid_status_is_rejected():
    with pytest.raises(ValueError, match="status"):
        row(status="finished")


# --- the results root: parsed once, every promised form works, anything else is refused with advice ---------------


def _round_trip(root, run="r1"):
    store.write_row(root, row(run=run, cell="c1"))
    store.write_row(root, row(run=run, cell="c2", status="failed"))
    store.write_manifest(root, run, {"run_id": run})
    assert sorted(r.cell_id for r in store.read_rows(root, run)) == ["c1", "c2"]
    assert store.list_runs(root) == [run] and store.read_manifest(root, run) == {"run_id": run}
    assert store.terminal_cell_ids(root, run) == {"c1", "c2"}


def test_a_local_folder_root_as_str_path_or_parsed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _round_trip("results")  # relative to where grid runs, as `--results results`
    parsed = store.ResultsRoot.parse("results")
    assert parsed.local and parsed.base == str(tmp_path / "results") and str(parsed) == "results"
    assert store.read_rows(tmp_path / "results", "r1") == store.read_rows(parsed, "r1")  # a Path reads the same
    assert store.ResultsRoot.parse(parsed) is parsed  # parsing a parsed root is free


def test_a_file_uri_root_is_the_same_folder(tmp_path):
    uri = f"file://{tmp_path / 'shared'}"
    root = store.ResultsRoot.parse(uri)
    assert root.local and root.base == str(tmp_path / "shared") and str(root) == uri
    _round_trip(uri)
    assert (tmp_path / "shared" / "run_id=r1" / "c1.parquet").is_file()
    assert store.read_rows(tmp_path / "shared", "r1") == store.read_rows(uri, "r1")


def test_a_pyarrow_filesystem_uri_root(tmp_path):
    # mock:// is pyarrow's in-memory filesystem: the offline stand-in for s3:// and gs://, through the same from_uri.
    # A fresh one per parse, so this also shows the root is parsed once and then carried.
    root = store.ResultsRoot.parse("mock:///lab/grid")
    assert not root.local and root.fs.type_name == "mock" and root.base == "lab/grid"
    _round_trip(root)
    assert store.read_rows("mock:///lab/grid", "r1") == []  # another parse: another (empty) filesystem


def test_cloud_uris_parse_without_touching_the_network():
    s3 = store.ResultsRoot.parse("s3://bucket/grid?region=us-east-1")
    assert (s3.fs.type_name, s3.base, s3.local, str(s3)) == (
        "s3",
        "bucket/grid",
        False,
        "s3://bucket/grid?region=us-east-1",
    )


@pytest.mark.parametrize(
    "root, problem",
    [
        ("ftp://host/grid", "no filesystem for ftp://"),
        ("http://head:8265/grid", "no filesystem for http://"),
        ("s3:/bucket/grid", "without '//'"),
        ("file://relative/folder", "cannot be opened"),
        ("", "empty"),
    ],
)
def test_other_roots_are_refused_with_advice(root, problem):
    with pytest.raises(store.StoreError, match=problem) as info:
        store.ResultsRoot.parse(root)
    assert "s3://bucket/grid" in info.value.hint and "file:///" in info.value.hint


def test_a_uri_that_went_through_path_is_refused_not_made_a_folder(tmp_path):
    from pathlib import Path

    with pytest.raises(store.StoreError, match="without '//'"):  # the old bug: Path("s3://b/x") is "s3:/b/x"
        store.ResultsRoot.parse(Path("s3://bucket/grid"))
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(store.StoreError, match="is a file"):
        store.ResultsRoot.parse(tmp_path / "a-file")


def test_list_runs_newest_first(tmp_path):
    import os

    for i, run in enumerate(("b", "a", "c")):
        store.write_row(tmp_path, row(run=run))
        os.utime(tmp_path / f"run_id={run}", ns=(10**18 + i, 10**18 + i))
    assert store.list_runs(tmp_path) == ["a", "b", "c"]
    assert store.list_runs(tmp_path, newest_first=True) == ["c", "a", "b"]
    assert store.list_runs(tmp_path / "missing") == []


def test_read_table_reads_only_the_columns_asked_for_plus_the_key(tmp_path):
    """`grid runs` and resume ask for statuses only: the rest of the columns are never decoded."""
    for cell, status in (("c1", "ok"), ("c2", "failed"), ("c3", "timeout")):
        store.write_row(tmp_path, row(cell=cell, status=status, decode_tps=10.0))
    narrow = store.read_table(tmp_path, "r1", columns=["status"])
    assert narrow.column_names == ["run_id", "cell_id", "status", "finished_at", "attempt"]  # schema order
    full = store.read_table(tmp_path, "r1")
    assert sorted(narrow["status"].to_pylist()) == sorted(full["status"].to_pylist()) == ["failed", "ok", "timeout"]
    assert store.read_table(tmp_path / "none", columns=["decode_tps"]).column_names[-1] == "decode_tps"
    assert store.latest_statuses(tmp_path, "r1") == {"c1": "ok", "c2": "failed", "c3": "timeout"}
