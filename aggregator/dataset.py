"""Read a results root (`<root>/run_id=<id>/<cell>.parquet`) as one dataset, for one run or many, in DuckDB.

Every aggregate in a report is a DuckDB group-by over Parquet, never a Python loop over rows, so a report over a
million rows stays within seconds and a few hundred MB. Two relations are exposed on the connection:

- `raw`: every column of every selected file, straight from Parquet (used for streaming CSV, tracebacks, outputs);
- `rows`: the same rows without the bulky text and raw-trial columns the aggregates never read.

`raw` is copied into memory once when the run is many small files (see open_results).

run_id comes from the folder name (hive style): the store does not repeat it inside the file, and when a file does
carry it, the folder and the column agree. It is always typed VARCHAR: DuckDB's hive autodetection would turn a run id
like `20261128` into a BIGINT. Files written by an older schema lack newer columns; those read as NULL (or empty
lists), so old runs stay reportable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs

from grid import store
from grid import store_damage as damage
from grid.core.errors import GridError
from grid.core.schema import RESULT_SCHEMA, STATUSES


class ReportError(GridError, RuntimeError):
    """A report cannot be built for a reason the user can fix; the message is one line with advice."""


# Columns only the CSV, the error appendix and the HTML output cells need: read from `raw` on demand, with a LIMIT.
BULKY = ("output_text", "traceback_tail")
KEPT_TRIALS = ("trial_decode_tps", "trial_peak_memory_gb")
MATERIALIZE_MIN_FILES, MATERIALIZE_MAX_ROWS = 16, 200_000


def duck_type(t: pa.DataType) -> str:
    if pa.types.is_list(t):
        return duck_type(t.value_type) + "[]"
    return {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN"}[t]


def _filesystem(root: str | Path) -> tuple[pafs.FileSystem, str, bool]:
    text = str(root)
    if "://" in text and not text.startswith("file://"):
        fs, base = pafs.FileSystem.from_uri(text)
        return fs, base.rstrip("/"), False
    path = Path(text.removeprefix("file://")).expanduser().resolve()
    return pafs.LocalFileSystem(), str(path), True


def list_runs(root: str | Path) -> list[str]:
    """Run ids under the root, newest first (by folder modification time)."""
    fs, base, _ = _filesystem(root)
    try:
        infos = fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    except (FileNotFoundError, NotADirectoryError):
        return []
    runs = [i for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith("run_id=")]
    runs.sort(key=lambda i: (i.mtime_ns or 0, i.base_name), reverse=True)
    return [i.base_name.split("=", 1)[1] for i in runs]


def resolve_runs(root: str | Path, run_id: str | Sequence[str] | None) -> list[str]:
    """None means every run under the root; "latest" the newest one. Unknown ids raise ReportError with the list."""
    available = list_runs(root)
    if not available:
        raise ReportError(
            f"no runs under {root} (expected folders named run_id=<id>): check --results, or start one "
            f"with `grid run smoke`"
        )
    if run_id is None:
        return sorted(available)
    wanted = [run_id] if isinstance(run_id, str) else list(run_id)
    wanted = [available[0] if r == "latest" else r for r in wanted]
    missing = [r for r in wanted if r not in available]
    if missing:
        shown = ", ".join(available[:5]) + (" ..." if len(available) > 5 else "")
        raise ReportError(
            f"run {', '.join(missing)} not found under {root}; newest runs there: {shown} "
            f"(check the id or pass --results)"
        )
    return list(dict.fromkeys(wanted))


def result_files(root: str | Path, runs: Sequence[str]) -> list[str]:
    fs, base, _ = _filesystem(root)
    files: list[str] = []
    for run in runs:
        infos = fs.get_file_info(pafs.FileSelector(f"{base}/run_id={run}", recursive=True, allow_not_found=True))
        # the store's rule: no temp files or manifest; a compacted run's marked part files, not the cells they cover
        files += [f for f in store.visible_result_files(fs, infos) if store.is_result_path(f, base)]
    return sorted(files)


@dataclass
class ResultsDataset:
    root: str
    run_ids: list[str]
    files: list[str]
    con: duckdb.DuckDBPyConnection
    row_count: int = 0
    present_columns: frozenset[str] = field(default_factory=frozenset)
    problems: list = field(default_factory=list)  # grid.store_damage.Problem: files quarantined while opening

    def query(self, sql: str, params: Sequence | None = None) -> pa.Table:
        return self.con.sql(sql, params=list(params) if params else None).to_arrow_table()

    def records(self, sql: str, params: Sequence | None = None) -> list[dict]:
        """Small result sets only (aggregates, LIMITed lists): rows as dicts."""
        return self.query(sql, params).to_pylist()

    def scalar(self, sql: str, params: Sequence | None = None):
        rows = self.con.sql(sql, params=list(params) if params else None).fetchall()
        return rows[0][0] if rows else None

    def close(self) -> None:
        self.con.close()


def execute(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a statement to completion (DuckDB keeps an unfinished result open on the connection otherwise)."""
    con.execute(sql).fetchall()


def connect(threads: int | None = None, memory_limit: str = "768MB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={
            "threads": threads or max(1, min(os.cpu_count() or 1, 8)),
            "memory_limit": memory_limit,
            "preserve_insertion_order": False,
        }
    )
    execute(con, "SET enable_progress_bar = false")  # grid's CLI prints its own output
    return con


def _parquet_sources(files: list[str]) -> list[str]:
    """DuckDB read_parquet expressions over the files, to try in order.

    union_by_name reads every file's schema up front: ~6 ms a file, minutes for a run stored one cell per file. So
    the plain reader comes first, with the newest file (the widest schema: columns are only ever added) leading, as
    DuckDB takes the columns from the first file and matches the others by name, filling what they lack with NULL.
    Should a DuckDB version refuse differing files, union_by_name is the fallback."""
    import pyarrow.parquet as pq

    newest = max(files, key=lambda f: (os.stat(f).st_mtime_ns, f))
    widest = max({newest, files[0], files[-1]}, key=lambda f: (len(pq.read_schema(f).names), f == newest))
    ordered = [widest] + [f for f in files if f != widest]
    return [
        f"read_parquet({ordered!r}, hive_partitioning = true, hive_types = {{'run_id': VARCHAR}}, "
        f"union_by_name = {union})"
        # few files: reading each schema is cheap, and a view over mixed schemas fails only when a query touches a
        # column the first file lacks (after the fallback point), so union_by_name goes first
        for union in (("true", "false") if len(files) <= MATERIALIZE_MIN_FILES else ("false", "true"))
    ]


def _raw_select(present: set[str]) -> str:
    cols = []
    for f in RESULT_SCHEMA:
        name = f'"{f.name}"'
        if f.name in present:
            cols.append(f"CAST({name} AS {duck_type(f.type)}) AS {name}" if f.name == "run_id" else name)
        elif pa.types.is_list(f.type):
            cols.append(f"CAST([] AS {duck_type(f.type)}) AS {name}")
        else:
            cols.append(f"CAST(NULL AS {duck_type(f.type)}) AS {name}")
    return ", ".join(cols)


def open_results(
    root: str | Path,
    run_id: str | Sequence[str] | None = None,
    *,
    threads: int | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    materialize: bool = True,
) -> ResultsDataset:
    """Open the rows of the given runs (None: every run) as DuckDB relations `raw` and `rows`."""
    runs = resolve_runs(root, run_id)
    files = result_files(root, runs)
    if not files:
        raise ReportError(
            f"run {', '.join(runs)} under {root} has no finished cells yet (no *.parquet files); wait for "
            f"cells to finish or check the run's logs"
        )
    con = con or connect(threads)
    files, present, total, problems = _open_tolerant(con, root, runs, files, materialize)
    slim = [
        f'"{n}"' for n in RESULT_SCHEMA.names if n not in BULKY and (not n.startswith("trial_") or n in KEPT_TRIALS)
    ]
    execute(con, f"CREATE OR REPLACE TEMP VIEW rows AS SELECT {', '.join(slim)} FROM raw")
    if total == 0:
        raise ReportError(
            f"run {', '.join(runs)} under {root} has result files but no rows; the files may be "
            f"truncated: re-run the affected cells"
        )
    return ResultsDataset(str(root), runs, files, con, total, frozenset(present), problems)


def _open_tolerant(con, root, runs: list[str], files: list[str], materialize: bool):
    """Create `raw` over the files; when DuckDB refuses them, or rows without a cell id or a grid status show up
    (a foreign file), screen the files one by one, quarantine the bad ones (grid/store_damage.py) and read the rest.
    Returns (files read, columns present, rows, problems)."""
    try:
        present, total = _build_raw(con, root, files, materialize)
        if not _suspect_rows(con):
            return files, present, total, []
    except (duckdb.Error, pa.ArrowException, OSError, ValueError):
        pass
    fs, _, _ = _filesystem(root)
    files, problems = damage.screen_files(fs, files)
    if not files:
        raise ReportError(
            f"every result file of run {', '.join(runs)} under {root} is damaged (moved to _quarantine/)",
            f"re-run the cells with `grid resume {runs[0]} --rerun`",
        )
    present, total = _build_raw(con, root, files, materialize)
    return files, present, total, problems


def _suspect_rows(con: duckdb.DuckDBPyConnection) -> int:
    return con.sql(
        f"SELECT count(*) FROM raw WHERE cell_id IS NULL OR status IS NULL OR status NOT IN {tuple(STATUSES)!r}"
    ).fetchall()[0][0]


def _build_raw(con, root, files: list[str], materialize: bool) -> tuple[set[str], int]:
    """`raw` over the files, one row per cell (its latest row: a compacted part and a re-run cell file may both
    hold one)."""
    for kind in ("VIEW", "TABLE"):  # a retry after a refused file set starts clean
        try:
            execute(con, f"DROP {kind} IF EXISTS raw")
        except duckdb.Error:
            pass
    sources, estimate = _sources(con, root, files)
    # Many small files (the store writes one per cell): the per-file cost dominates every scan, so read them once
    # into memory. Few large files (a compacted run): DuckDB scans only the needed columns of each query straight
    # from Parquet, faster and far smaller than a copy. Above MATERIALIZE_MAX_ROWS the copy could outgrow memory.
    copy = materialize and len(files) > MATERIALIZE_MIN_FILES and estimate <= MATERIALIZE_MAX_ROWS
    # Footers are cached only when every query re-reads the files; a one-pass copy would just hold them in memory.
    execute(con, f"SET parquet_metadata_cache = {str(not copy).lower()}")
    present, total = _create_raw(con, sources, copy)
    repeated = con.sql("SELECT count(*) - count(DISTINCT (run_id, cell_id)) FROM raw").fetchall()[0][0]
    if repeated:
        execute(
            con,
            "CREATE OR REPLACE TEMP TABLE raw_latest AS SELECT * FROM raw QUALIFY row_number() OVER "
            "(PARTITION BY run_id, cell_id ORDER BY finished_at DESC NULLS LAST, attempt DESC NULLS LAST) = 1",
        )
        execute(con, f"DROP {'TABLE' if copy else 'VIEW'} raw")
        execute(con, "ALTER TABLE raw_latest RENAME TO raw")
        total -= repeated
    return present, total


def _sources(con: duckdb.DuckDBPyConnection, root: str | Path, files: list[str]) -> tuple[list[str], int]:
    """The relations `raw` may be read from (to try in order), and an estimate of the row count."""
    fs, base, local = _filesystem(root)
    if local:
        import pyarrow.parquet as pq

        estimate = pq.read_metadata(files[0]).num_rows * len(files)  # one footer: the store writes alike files
        return _parquet_sources(files), estimate
    import pyarrow.dataset as ds

    partitioning = ds.partitioning(pa.schema([("run_id", pa.string())]), flavor="hive")
    arrow_ds = ds.dataset(
        files,
        schema=RESULT_SCHEMA,
        format="parquet",
        filesystem=fs,
        partitioning=partitioning,
        partition_base_dir=base,
    )
    con.register("arrow_results", arrow_ds)
    return ["arrow_results"], arrow_ds.count_rows()


def _create_raw(con: duckdb.DuckDBPyConnection, sources: list[str], copy: bool) -> tuple[set[str], int]:
    """Create `raw` (a table when `copy`, else a view) from the first source DuckDB accepts; its columns and rows."""
    for i, source in enumerate(sources):
        try:
            present = {r[0] for r in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
            execute(
                con,
                f"CREATE OR REPLACE TEMP {'TABLE' if copy else 'VIEW'} raw AS SELECT "
                f"{_raw_select(present)} FROM {source}",
            )
            total = con.sql("SELECT count(*) FROM raw").fetchall()[0][0]  # every footer read: a mismatch shows
            return present, total
        except duckdb.Error:
            if i == len(sources) - 1:
                raise
    raise AssertionError("no source")  # unreachable: the last source's error is raised
