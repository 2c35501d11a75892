"""Results storage: one Parquet file per finished cell under `<results>/run_id=<id>/`, written to a temporary name and
renamed, so a killed run never leaves a half-written file and readers see one table.

The results root is what the user typed, parsed once into a `ResultsRoot`: a local folder, a `file:///abs/path` URI,
or a pyarrow filesystem URI (`s3://bucket/prefix`, `gs://bucket/prefix`, `hdfs://host/path`, ...). Anything else is
refused with advice. Every function here takes a ResultsRoot, or a str / Path that it parses the same way.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from grid.core.errors import GridError
from grid.core.schema import RESULT_SCHEMA, TERMINAL_STATUSES, ResultRow, rows_to_table

MANIFEST = "_run.json"  # leading underscore: pyarrow and DuckDB globs over *.parquet skip it
# URI schemes pyarrow's FileSystem.from_uri knows (mock: an in-memory filesystem, for tests)
URI_SCHEMES = ("file", "local", "s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss", "mock")
ROOT_ADVICE = "give a folder, file:///absolute/path, or a pyarrow filesystem URI such as s3://bucket/grid"
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class StoreError(GridError, RuntimeError):
    pass


@dataclass(frozen=True, eq=False)
class ResultsRoot:
    """A results root, parsed once: the filesystem, the base path inside it, and the text the user gave (messages and
    `str()` show that text, so a report names the root as the user wrote it)."""

    text: str
    fs: pafs.FileSystem
    base: str
    local: bool

    @classmethod
    def parse(cls, root: ResultsRoot | str | os.PathLike) -> ResultsRoot:
        if isinstance(root, ResultsRoot):
            return root
        text = os.fspath(root) if isinstance(root, os.PathLike) else str(root)
        if not text.strip():
            raise StoreError("the results root is empty", ROOT_ADVICE)
        scheme, sep, _ = text.partition("://")
        if not sep:
            return cls._local(text)
        if scheme.lower() not in URI_SCHEMES:
            raise StoreError(f"results root {text!r}: pyarrow has no filesystem for {scheme}://", ROOT_ADVICE)
        try:
            fs, base = pafs.FileSystem.from_uri(text)
        except (pa.ArrowException, OSError, ValueError) as e:
            cause = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise StoreError(f"results root {text!r} cannot be opened: {cause}", ROOT_ADVICE) from None
        if isinstance(fs, pafs.LocalFileSystem):
            return cls._local(base, text=text)
        return cls(text=text, fs=fs, base=base.rstrip("/"), local=False)

    @classmethod
    def _local(cls, path: str, text: str | None = None) -> ResultsRoot:
        match = _SCHEME_RE.match(path)
        if text is None and match and match.group(1).lower() in (*URI_SCHEMES, "http", "https"):
            # Path("s3://b/x") is "s3:/b/x": a URI that lost a slash must not become a local folder named "s3:"
            raise StoreError(f"results root {path!r} looks like a URI without '//'", ROOT_ADVICE)
        resolved = Path(path).expanduser().resolve()
        if resolved.exists() and not resolved.is_dir():
            raise StoreError(f"results root {text or path!r} is a file, not a folder", ROOT_ADVICE)
        return cls(text=text or path, fs=pafs.LocalFileSystem(), base=str(resolved), local=True)

    def run_dir(self, run_id: str) -> str:
        return f"{self.base}/run_id={run_id}"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"ResultsRoot({self.text!r})"


def _fs(root: ResultsRoot | str | Path) -> tuple[pafs.FileSystem, str]:
    """(filesystem, base path) of a root; kept for the modules that read the root's folder themselves."""
    r = ResultsRoot.parse(root)
    return r.fs, r.base


def run_dir(root: ResultsRoot | str | Path, run_id: str) -> str:
    return ResultsRoot.parse(root).run_dir(run_id)


def write_row(root: ResultsRoot | str | Path, row: ResultRow) -> str:
    """Write one row as `<cell_id>.parquet` atomically (temp name + rename); returns the final path."""
    r = ResultsRoot.parse(root)
    folder = r.run_dir(row.run_id)
    r.fs.create_dir(folder, recursive=True)
    final = f"{folder}/{row.cell_id}.parquet"
    tmp = f"{folder}/.{row.cell_id}.{uuid.uuid4().hex[:8]}.tmp"  # dot prefix: readers ignore it
    try:
        # run_id lives in the folder name (hive style), not in the file: pandas and pyarrow refuse a column that is
        # also a partition key, and DuckDB/polars read it back from the path.
        pq.write_table(rows_to_table([row]).drop_columns(["run_id"]), tmp, filesystem=r.fs)
        r.fs.move(tmp, final)
    except BaseException:
        try:
            r.fs.delete_file(tmp)
        except (OSError, FileNotFoundError):
            pass
        raise
    return final


def write_manifest(root: ResultsRoot | str | Path, run_id: str, manifest: dict) -> None:
    r = ResultsRoot.parse(root)
    folder = r.run_dir(run_id)
    r.fs.create_dir(folder, recursive=True)
    tmp = f"{folder}/.{MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
    with r.fs.open_output_stream(tmp) as f:
        f.write(json.dumps(manifest, indent=2, sort_keys=True).encode())
    r.fs.move(tmp, f"{folder}/{MANIFEST}")


def read_manifest(root: ResultsRoot | str | Path, run_id: str) -> dict:
    r = ResultsRoot.parse(root)
    try:
        with r.fs.open_input_stream(f"{r.run_dir(run_id)}/{MANIFEST}") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        raise StoreError(f"run {run_id} not found under {r}: check --results, or list runs with `grid runs`") from None


def list_runs(root: ResultsRoot | str | Path, newest_first: bool = False) -> list[str]:
    """Run ids under the root: sorted by id, or newest first (by folder modification time)."""
    r = ResultsRoot.parse(root)
    try:
        infos = r.fs.get_file_info(pafs.FileSelector(r.base, allow_not_found=True))
    except (FileNotFoundError, NotADirectoryError):
        return []
    runs = [i for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith("run_id=")]
    if newest_first:
        runs.sort(key=lambda i: (i.mtime_ns or 0, i.base_name), reverse=True)
    else:
        runs.sort(key=lambda i: i.base_name)
    return [i.base_name.split("=", 1)[1] for i in runs]


def result_files(root: ResultsRoot | str | Path, run_id: str | list[str] | None = None) -> list[str]:
    """The Parquet files of the given runs (every run: None), sorted; temp files and the manifest are never results."""
    r = ResultsRoot.parse(root)
    runs = [run_id] if isinstance(run_id, str) else run_id
    files = []
    for p in [r.run_dir(x) for x in runs] if runs else [r.base]:
        infos = r.fs.get_file_info(pafs.FileSelector(p, recursive=True, allow_not_found=True))
        files += [
            i.path
            for i in infos
            if i.type == pafs.FileType.File
            and i.base_name.endswith(".parquet")
            and not i.base_name.startswith((".", "_"))
        ]
    return sorted(files)


def read_table(root: ResultsRoot | str | Path, run_id: str | list[str] | None = None) -> pa.Table:
    """Every row under the root (or of the given runs) as one table with RESULT_SCHEMA."""
    r = ResultsRoot.parse(root)
    files = result_files(r, run_id)
    if not files:
        return RESULT_SCHEMA.empty_table()
    partitioning = ds.partitioning(pa.schema([("run_id", pa.string())]), flavor="hive")
    dataset = ds.dataset(
        files,
        schema=RESULT_SCHEMA,
        format="parquet",
        filesystem=r.fs,
        partitioning=partitioning,
        partition_base_dir=r.base,
    )
    return dataset.to_table().select(list(RESULT_SCHEMA.names))


def read_rows(root: ResultsRoot | str | Path, run_id: str | list[str] | None = None) -> list[ResultRow]:
    return [ResultRow.from_dict(d) for d in read_table(root, run_id).to_pylist()]


def terminal_cell_ids(root: ResultsRoot | str | Path, run_id: str) -> set[str]:
    table = read_table(root, run_id).select(["cell_id", "status"])
    return {c for c, s in zip(table["cell_id"].to_pylist(), table["status"].to_pylist()) if s in TERMINAL_STATUSES}


def new_run_id(suite_name: str) -> str:
    import datetime

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{suite_name}-{os.urandom(2).hex()}"
