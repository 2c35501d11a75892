"""Results storage: one Parquet file per finished cell under `<results>/run_id=<id>/`, written to a temporary name and
renamed, so a killed run never leaves a half-written file and readers see one table.

The results root may be a local folder or any pyarrow filesystem URI (s3://bucket/prefix, file:///shared/grid).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from grid.core.errors import GridError
from grid.core.schema import RESULT_SCHEMA, TERMINAL_STATUSES, ResultRow, rows_to_table

MANIFEST = "_run.json"  # leading underscore: pyarrow and DuckDB globs over *.parquet skip it


class StoreError(GridError, RuntimeError):
    pass


def _fs(root: str | Path) -> tuple[pafs.FileSystem, str]:
    root = str(root)
    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), str(Path(root).expanduser().resolve())


def run_dir(root: str | Path, run_id: str) -> str:
    return f"{_fs(root)[1]}/run_id={run_id}"


def write_row(root: str | Path, row: ResultRow) -> str:
    """Write one row as `<cell_id>.parquet` atomically (temp name + rename); returns the final path."""
    fs, base = _fs(root)
    folder = f"{base}/run_id={row.run_id}"
    fs.create_dir(folder, recursive=True)
    final = f"{folder}/{row.cell_id}.parquet"
    tmp = f"{folder}/.{row.cell_id}.{uuid.uuid4().hex[:8]}.tmp"  # dot prefix: readers ignore it
    try:
        # run_id lives in the folder name (hive style), not in the file: pandas and pyarrow refuse a column that is
        # also a partition key, and DuckDB/polars read it back from the path.
        pq.write_table(rows_to_table([row]).drop_columns(["run_id"]), tmp, filesystem=fs)
        fs.move(tmp, final)
    except BaseException:
        try:
            fs.delete_file(tmp)
        except (OSError, FileNotFoundError):
            pass
        raise
    return final


def write_manifest(root: str | Path, run_id: str, manifest: dict) -> None:
    fs, base = _fs(root)
    folder = f"{base}/run_id={run_id}"
    fs.create_dir(folder, recursive=True)
    tmp = f"{folder}/.{MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
    with fs.open_output_stream(tmp) as f:
        f.write(json.dumps(manifest, indent=2, sort_keys=True).encode())
    fs.move(tmp, f"{folder}/{MANIFEST}")


def read_manifest(root: str | Path, run_id: str) -> dict:
    fs, base = _fs(root)
    path = f"{base}/run_id={run_id}/{MANIFEST}"
    try:
        with fs.open_input_stream(path) as f:
            return json.loads(f.read())
    except FileNotFoundError:
        raise StoreError(
            f"run {run_id} not found under {root}: check --results, or list runs with `grid runs`"
        ) from None


def list_runs(root: str | Path) -> list[str]:
    fs, base = _fs(root)
    try:
        infos = fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    except FileNotFoundError:
        return []
    return sorted(
        i.base_name.split("=", 1)[1]
        for i in infos
        if i.type == pafs.FileType.Directory and i.base_name.startswith("run_id=")
    )


def read_table(root: str | Path, run_id: str | list[str] | None = None) -> pa.Table:
    """Every row under the root (or of the given runs) as one table with RESULT_SCHEMA."""
    fs, base = _fs(root)
    runs = [run_id] if isinstance(run_id, str) else run_id
    paths = [f"{base}/run_id={r}" for r in runs] if runs else [base]
    files = []
    for p in paths:
        infos = fs.get_file_info(pafs.FileSelector(p, recursive=True, allow_not_found=True))
        files += [
            i.path
            for i in infos
            if i.type == pafs.FileType.File
            and i.base_name.endswith(".parquet")
            and not i.base_name.startswith((".", "_"))
        ]
    if not files:
        return RESULT_SCHEMA.empty_table()
    partitioning = ds.partitioning(pa.schema([("run_id", pa.string())]), flavor="hive")
    dataset = ds.dataset(
        sorted(files),
        schema=RESULT_SCHEMA,
        format="parquet",
        filesystem=fs,
        partitioning=partitioning,
        partition_base_dir=base,
    )
    return dataset.to_table().select(list(RESULT_SCHEMA.names))


def read_rows(root: str | Path, run_id: str | list[str] | None = None) -> list[ResultRow]:
    return [ResultRow.from_dict(d) for d in read_table(root, run_id).to_pylist()]


def terminal_cell_ids(root: str | Path, run_id: str) -> set[str]:
    table = read_table(root, run_id).select(["cell_id", "status"])
    return {c for c, s in zip(table["cell_id"].to_pylist(), table["status"].to_pylist()) if s in TERMINAL_STATUSES}


def new_run_id(suite_name: str) -> str:
    import datetime

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{suite_name}-{os.urandom(2).hex()}"
