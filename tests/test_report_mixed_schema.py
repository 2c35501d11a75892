"""A results root written by an older grid (fewer columns) beside a new run: one report over both reads every file,
the older file's missing columns as NULL (columns are only ever added to the schema)."""

from __future__ import annotations

import pyarrow.parquet as pq
from sample_data import seed_rows, write_root

from aggregator import write_reports
from aggregator.dataset import open_results

NEW_COLUMNS = ("spare_children", "preimport", "measure_bandwidth", "mlx_device", "simulated")


def _drop_new_columns(folder):
    for f in folder.glob("*.parquet"):
        table = pq.read_table(f)
        pq.write_table(table.drop_columns([c for c in NEW_COLUMNS if c in table.column_names]), f)


def test_old_and_new_files_in_one_report(tmp_path):
    write_root(tmp_path, seed_rows(run_id="old")[:4])
    write_root(tmp_path, seed_rows(run_id="new")[:4])
    _drop_new_columns(tmp_path / "run_id=old")
    ds = open_results(tmp_path, ["old", "new"])
    got = ds.con.execute(
        "SELECT run_id, count(*), count(simulated) FROM raw GROUP BY run_id ORDER BY run_id"
    ).fetchall()
    assert got == [("new", 4, 4), ("old", 4, 0)]
    written = write_reports(tmp_path, ["old", "new"], tmp_path / "out")
    assert set(written) >= {"md", "html", "csv"} and all(p.stat().st_size > 0 for p in written.values())
