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
from grid.core.names import check_name, check_run_id, slug
from grid.core.schema import RESULT_SCHEMA, ResultRow, rows_to_table
from grid.store_damage import SUPERSEDED, Problem, read_files_tolerant

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
        # every path under the root goes through here: a run id that is not a plain name never becomes a folder
        return f"{self.base}/run_id={check_run_id(run_id)}"

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
    check_name(row.cell_id, "cell id")
    r.fs.create_dir(folder, recursive=True)
    final = f"{folder}/{row.cell_id}.parquet"
    _keep_superseded(r, folder, row.cell_id)
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


def _keep_superseded(r: ResultsRoot, folder: str, cell_id: str) -> None:
    """A re-run cell (grid resume --retry/--rerun) replaces its row; the old one is copied to `_superseded/` first,
    so readers see one current row per cell (the latest attempt) and no earlier row is lost."""
    final = f"{folder}/{cell_id}.parquet"
    if r.fs.get_file_info(final).type != pafs.FileType.File:
        return
    aside = f"{folder}/{SUPERSEDED}"
    r.fs.create_dir(aside, recursive=True)
    n = len(r.fs.get_file_info(pafs.FileSelector(aside, allow_not_found=True))) + 1
    r.fs.copy_file(final, f"{aside}/{cell_id}.{n}.{uuid.uuid4().hex[:6]}.parquet")


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
    path = f"{r.run_dir(run_id)}/{MANIFEST}"
    try:
        with r.fs.open_input_stream(path) as f:
            data = f.read()
    except FileNotFoundError:
        raise StoreError(f"run {run_id} not found under {r}: check --results, or list runs with `grid runs`") from None
    try:
        manifest = json.loads(data)
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as e:
        raise ManifestError(
            f"run {run_id}'s manifest {path} is damaged ({str(e).splitlines()[0][:80]})",
            f"rebuild it with `grid resume {run_id} --rebuild-manifest --suite SUITE`",
        ) from None
    return manifest


class ManifestError(StoreError):
    """The run's `_run.json` exists but cannot be read as a manifest."""

    @classmethod
    def lacking(cls, run_id: str, key: str) -> ManifestError:
        return cls(
            f"run {run_id}'s manifest has no {key!r}",
            f"rebuild it with `grid resume {run_id} --rebuild-manifest --suite SUITE`",
        )


def planned_cells(root: ResultsRoot | str | Path, run_id: str) -> list[dict] | None:
    """The cells the run's manifest planned (cell_id, model, hw_class, prompt_id, image_id), or None when the
    manifest is missing, damaged, or older than the plan record."""
    try:
        planned = read_manifest(root, run_id).get("planned")
    except StoreError:
        return None
    return list(planned) if isinstance(planned, list) else None


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
        # anything under a `_`-folder (`_quarantine/`, `_superseded/`) is kept, never read
        files += [f for f in visible_result_files(r.fs, infos) if is_result_path(f, r.base)]
    return sorted(files)


def is_result_path(path: str, base: str) -> bool:
    """No component below the root starts with `.` or `_` (the store's temp files, manifest, and aside folders)."""
    rel = path[len(base) :].lstrip("/") if path.startswith(base) else path
    return not any(p.startswith((".", "_")) for p in rel.split("/"))


# --- compaction's read side (the writer is grid/compact.py) ---------------------------------------------------------
# A compacted run holds `compact-<gen>-<i>.parquet` part files and a marker `_compacted.json` naming them and the
# `_compacted-<gen>.covers` file that lists the cell files merged into them. Readers see a part file only when the
# marker names it (parts of a killed compaction stay invisible) and a cell file only when the covers file does not
# list it (cell files not yet deleted after the marker was written are not read twice). The marker is written by one
# rename, so a reader sees the run before or after a compaction, never half of one.

COMPACTED = "_compacted.json"
COMPACT_PREFIX = "compact-"


def read_compaction(fs: pafs.FileSystem, folder: str) -> dict | None:
    try:
        with fs.open_input_stream(f"{folder}/{COMPACTED}") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return None


def read_covers(fs: pafs.FileSystem, folder: str, marker: dict) -> set[str]:
    try:
        with fs.open_input_stream(f"{folder}/{marker['covers']}") as f:
            return set(f.read().decode().split())
    except (FileNotFoundError, KeyError):
        return set()


def visible_result_files(fs: pafs.FileSystem, infos: list) -> list[str]:
    """The result files among a listing (`fs.get_file_info` of run folders): temp files and the manifest never, part
    files of a compaction only when its marker names them, cell files unless a completed compaction covers them
    (same name, size and mtime)."""
    by_dir: dict[str, list] = {}
    markers = set()
    for i in infos:
        if i.type != pafs.FileType.File:
            continue
        folder = i.path.rsplit("/", 1)[0]
        if i.base_name == COMPACTED:
            markers.add(folder)
        elif i.base_name.endswith(".parquet") and not i.base_name.startswith((".", "_")):
            by_dir.setdefault(folder, []).append(i)
    files = []
    for folder, items in by_dir.items():
        marker = read_compaction(fs, folder) if folder in markers else None
        if marker is None:
            files += [i.path for i in items if not i.base_name.startswith(COMPACT_PREFIX)]
            continue
        parts = set(marker.get("parts", []))
        cells = [i for i in items if not i.base_name.startswith(COMPACT_PREFIX)]
        covers = read_covers(fs, folder, marker) if cells else set()
        files += [i.path for i in items if i.base_name in parts]
        files += [i.path for i in cells if cover_key(i) not in covers]
    return files


def cover_key(info) -> str:
    """A cell file as a covers file names it: name, size and mtime, so a cell file written again after the
    compaction (a re-run) is a new file, not a covered one."""
    return f"{info.base_name}:{info.size}:{info.mtime_ns or 0}"


# what read_table always reads: the identity and status a row is screened and deduplicated by
_KEY_COLUMNS = ("run_id", "cell_id", "status", "attempt", "finished_at")


def read_table(
    root: ResultsRoot | str | Path,
    run_id: str | list[str] | None = None,
    problems: list[Problem] | None = None,
    columns: list[str] | None = None,
) -> pa.Table:
    """Every row under the root (or of the given runs) as one table with RESULT_SCHEMA, one row per cell (its latest
    attempt). An unreadable or foreign-schema file is quarantined (grid/store_damage.py: moved to its run's
    `_quarantine/`, one warning) and the rest is read; what was moved is appended to `problems` when given.
    `columns` reads only those (plus the key columns): Parquet is columnar, so `grid runs` over 100 runs of 10k rows
    reads a few columns, not all of them."""
    r = ResultsRoot.parse(root)
    files = result_files(r, run_id)
    names = list(RESULT_SCHEMA.names)
    if columns is not None:
        wanted = set(columns) | set(_KEY_COLUMNS)
        names = [n for n in names if n in wanted]
    if not files:
        return RESULT_SCHEMA.empty_table().select(names)
    partitioning = ds.partitioning(pa.schema([("run_id", pa.string())]), flavor="hive")

    def read(paths: list[str]) -> pa.Table:
        dataset = ds.dataset(
            paths,
            schema=RESULT_SCHEMA,
            format="parquet",
            filesystem=r.fs,
            partitioning=partitioning,
            partition_base_dir=r.base,
        )
        return dataset.to_table(columns=[*names, "__filename"])

    table, found = read_files_tolerant(r.fs, files, read)
    if problems is not None:
        problems.extend(found)
    return latest_per_cell(table).select(names)


def latest_per_cell(table: pa.Table) -> pa.Table:
    """One row per (run_id, cell_id): the latest one (a compacted part and a cell file may both hold a cell)."""
    keys = list(zip(table["run_id"].to_pylist(), table["cell_id"].to_pylist()))
    if len(set(keys)) == len(keys):
        return table
    attempts, finished = table["attempt"].to_pylist(), table["finished_at"].to_pylist()
    # finished_at first: a resumed cell starts again at attempt 1, yet its row is the newer one
    order = sorted(range(len(keys)), key=lambda i: (finished[i] or "", attempts[i] or 0))
    latest = {keys[i]: i for i in order}  # a later (newer) row overwrites an earlier one
    return table.take(sorted(latest.values()))


def read_rows(root: ResultsRoot | str | Path, run_id: str | list[str] | None = None) -> list[ResultRow]:
    return [ResultRow.from_dict(d) for d in read_table(root, run_id).to_pylist()]


def terminal_cell_ids(
    root: ResultsRoot | str | Path, run_id: str, retry: frozenset[str] | set[str] = frozenset()
) -> set[str]:
    """Cells of the run that are done: their latest row's status is not one the caller wants to run again."""
    return {c for c, s in latest_statuses(root, run_id).items() if s not in retry}


def latest_statuses(root: ResultsRoot | str | Path, run_id: str) -> dict[str, str]:
    """cell_id -> the status of its latest row."""
    table = read_table(root, run_id, columns=["cell_id", "status"])
    return dict(zip(table["cell_id"].to_pylist(), table["status"].to_pylist()))


def new_run_id(suite_name: str) -> str:
    import datetime

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    # a suite's `name:` is free text: only a safe slug of it goes into the folder name
    return f"{stamp}-{slug(suite_name, 'suite')}-{os.urandom(2).hex()}"
