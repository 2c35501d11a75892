"""A results root that tolerates damage: a cell file that cannot be read (truncated, random bytes) or that is not a
grid result (a foreign schema) is moved aside to its run's `_quarantine/` folder with a one-line reason next to it,
named in one warning, and every reader goes on with the rest. Part of the store layer (grid/store.py uses it; the
aggregator's DuckDB reader calls `screen_files` when DuckDB refuses a file set).

Files are only screened one by one when reading them together failed, or when rows without a cell id or status
show up: the common, healthy path pays nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from grid.core.schema import RESULT_SCHEMA, STATUSES

QUARANTINE = "_quarantine"  # leading underscore: never read as results (grid.store.is_result_path)
SUPERSEDED = "_superseded"  # a re-run cell's earlier rows
WHY_SUFFIX = ".why.txt"
REQUIRED = ("cell_id", "model", "hw_class", "status")  # every schema version has them
_READ_ERRORS = (pa.ArrowException, OSError, ValueError)
_PYARROW_PREFIX = "Could not open Parquet input source '<Buffer>': "


@dataclass(frozen=True)
class Problem:
    """A file moved aside: where it was, why, and where it is now ("" when it could not be moved)."""

    path: str
    reason: str
    moved_to: str = ""

    @property
    def run_id(self) -> str:
        part = next((p for p in self.path.split("/") if p.startswith("run_id=")), "run_id=?")
        return part.split("=", 1)[1]

    def line(self) -> str:
        where = f"moved to {self.moved_to}" if self.moved_to else "left in place (could not be moved)"
        return f"{self.path}: {self.reason}; {where}"

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "path": self.path, "reason": self.reason, "moved_to": self.moved_to}


def warn(message: str) -> None:
    """One line on stderr (the store sits below the CLI's output module; the format matches its warnings)."""
    sys.stderr.write(f"warning: {message}\n")


def _one_line(e: BaseException) -> str:
    return ((str(e).strip().splitlines() or [type(e).__name__])[0])[:160]


def file_problem(fs: pafs.FileSystem, path: str) -> str | None:
    """Why the file is not a readable grid result file, or None when it is (reads it whole: pages can be damaged
    behind a good footer)."""
    try:
        with fs.open_input_file(path) as f:
            table = pq.read_table(f)
    except _READ_ERRORS as e:
        cause = _one_line(e)
        if "magic bytes" in cause:  # pyarrow's wording for both random bytes and a cut-off footer
            cause = "no Parquet footer: truncated, or not Parquet at all"
        return f"unreadable ({cause.removeprefix(_PYARROW_PREFIX)})"
    lacks = [c for c in REQUIRED if c not in table.column_names]
    if lacks:
        return f"foreign schema: not a grid result file (no {', '.join(lacks)} column)"
    for name in REQUIRED:
        want = RESULT_SCHEMA.field(name).type
        if table.schema.field(name).type != want:
            return f"foreign schema: column {name} is {table.schema.field(name).type}, not {want}"
    bad = set(table["status"].drop_null().unique().to_pylist()) - set(STATUSES)
    if bad or table["cell_id"].null_count or table["status"].null_count:
        return f"foreign schema: status values {sorted(map(str, bad)) or ['null']} are not grid statuses"
    return None


def quarantine(fs: pafs.FileSystem, path: str, reason: str) -> Problem:
    """Move the file to `<its run folder>/_quarantine/` with its reason beside it; warn once."""
    folder, _, name = path.rpartition("/")
    run_folder = folder
    while run_folder and not run_folder.rpartition("/")[2].startswith("run_id="):
        run_folder = run_folder.rpartition("/")[0]
    aside = f"{run_folder or folder}/{QUARANTINE}"
    target = f"{aside}/{name}"
    try:
        fs.create_dir(aside, recursive=True)
        if fs.get_file_info(target).type != pafs.FileType.NotFound:
            target = f"{aside}/{name}.{fs.get_file_info(aside).mtime_ns or 0}"
        fs.move(path, target)
        with fs.open_output_stream(target + WHY_SUFFIX) as f:
            f.write(f"{path}: {reason}\n".encode())
    except OSError:
        target = ""
    problem = Problem(path, reason, target)
    warn(f"damaged result file {problem.line()}")
    return problem


def screen_files(fs: pafs.FileSystem, files: list[str]) -> tuple[list[str], list[Problem]]:
    """Check every file on its own; quarantine the bad ones. Returns (good files, problems)."""
    good, problems = [], []
    for path in files:
        reason = file_problem(fs, path)
        if reason is None:
            good.append(path)
        else:
            problems.append(quarantine(fs, path, reason))
    return good, problems


def read_files_tolerant(
    fs: pafs.FileSystem, files: list[str], read: Callable[[list[str]], pa.Table]
) -> tuple[pa.Table, list[Problem]]:
    """`read(files)` (a table with a `__filename` column); when it fails, or yields rows without a cell id or a
    grid status, the files are screened one by one and read again without the bad ones."""
    try:
        table = read(files)
        suspect = _suspect_files(table)
    except _READ_ERRORS:
        table, suspect = None, set(files)
    if not suspect:
        return table.drop_columns(["__filename"]), []
    good, problems = screen_files(fs, [f for f in files if f in suspect])
    keep = [f for f in files if f not in suspect] + good
    table = read(sorted(keep)) if keep else _empty()
    return table.drop_columns(["__filename"]), problems


def _suspect_files(table: pa.Table) -> set[str]:
    known = pc.is_in(table["status"], value_set=pa.array(STATUSES))
    bad = pc.or_(pc.or_(pc.is_null(table["cell_id"]), pc.is_null(table["status"])), pc.invert(known))
    bad = pc.fill_null(bad, True)
    return set(table.filter(bad)["__filename"].unique().to_pylist())


def _empty() -> pa.Table:
    return RESULT_SCHEMA.empty_table().append_column("__filename", pa.array([], pa.string()))


def quarantined(fs: pafs.FileSystem, run_folder: str) -> list[Problem]:
    """The files an earlier reader moved aside in this run (a report keeps naming them until someone acts)."""
    aside = f"{run_folder}/{QUARANTINE}"
    infos = fs.get_file_info(pafs.FileSelector(aside, allow_not_found=True))
    out = []
    for i in sorted(infos, key=lambda i: i.path):
        if i.type != pafs.FileType.File or i.path.endswith(WHY_SUFFIX):
            continue
        try:
            with fs.open_input_stream(i.path + WHY_SUFFIX) as f:
                where, _, reason = f.read().decode(errors="replace").strip().partition(": ")
        except OSError:
            where, reason = i.path, "quarantined (no reason recorded)"
        out.append(Problem(where, reason, i.path))
    return out
