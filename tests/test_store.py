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
