"""Compaction: merge a finished run's one-file-per-cell Parquet into a few part files, without ever showing a reader
half of it.

Steps (the read side, grid.store.visible_result_files, makes each safe to kill):

1. list what readers see now (cell files, and the part files of an earlier compaction);
2. stream those rows into `compact-<gen>-<i>.parquet` (invisible: no marker names them yet);
3. write `_compacted-<gen>.covers`, the names of the cell files merged (temp name + rename);
4. commit: rename a new `_compacted.json` over the old one, naming the new parts and covers file: one rename, so a
   reader sees the old layout or the new one;
5. delete the merged cell files, the earlier parts and covers, and stray parts of killed compactions.

Killed before 4: the run reads as before, with unnamed part files left over (the next compaction deletes them).
Killed after 4: the run reads as compacted; covered cell files left over are not read (and deleted next time).
A cell file written during a compaction (a resume) is not covered and stays visible. Run ids are kept in folder names
only, as grid.store writes them.

`GRID_COMPACT_PAUSE=<step>` (tests only) prints `GRID_COMPACT_PAUSED <step>` and sleeps at that step, so a test can
kill a real compaction there: after-part, before-commit, after-commit, mid-delete.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from grid import store
from grid.core.schema import RESULT_SCHEMA

ROWS_PER_PART = 250_000  # a 1M-row run: 4 part files; DuckDB reads row groups of a part in parallel
ROW_GROUP = 64_000
FILES_PER_READ = 512  # cell files read into memory at once while compacting
FILE_SCHEMA = pa.schema([f for f in RESULT_SCHEMA if f.name != "run_id"])  # run_id lives in the folder name


@dataclass
class CompactResult:
    run_id: str
    rows: int
    files_before: int
    parts: list[str]
    deleted: int
    skipped: bool = False  # nothing to merge

    def to_dict(self) -> dict:
        return dict(
            run_id=self.run_id,
            rows=self.rows,
            files_before=self.files_before,
            parts=self.parts,
            deleted=self.deleted,
            skipped=self.skipped,
        )


def _pause(step: str) -> None:
    if os.environ.get("GRID_COMPACT_PAUSE") == step:
        print(f"GRID_COMPACT_PAUSED {step}", flush=True)
        time.sleep(float(os.environ.get("GRID_COMPACT_PAUSE_S", "60")))


def _write_text(fs: pafs.FileSystem, path: str, text: str) -> None:
    folder, name = path.rsplit("/", 1)
    tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:8]}.tmp"
    with fs.open_output_stream(tmp) as f:
        f.write(text.encode())
    fs.move(tmp, path)


def _delete(fs: pafs.FileSystem, path: str) -> bool:
    try:
        fs.delete_file(path)
        return True
    except FileNotFoundError:
        return False


def _cleanup(
    fs: pafs.FileSystem, folder: str, infos: list, marker: dict, old_parts: set[str], pause: bool = False
) -> int:
    """After a commit: delete the cell files the marker covers (only the very files merged), part files it does not
    name, and older covers files. Safe to kill and to repeat."""
    parts, covers_name = set(marker.get("parts", [])), marker.get("covers")
    covered = store.read_covers(fs, folder, marker)
    doomed = [
        i for i in infos
        if i.type == pafs.FileType.File and (
            store.cover_key(i) in covered
            or i.base_name.startswith(store.COMPACT_PREFIX) and i.base_name not in parts
            or i.base_name.startswith("_compacted-") and i.base_name.endswith(".covers") and i.base_name != covers_name
        )
    ]  # fmt: skip
    deleted = 0
    for k, info in enumerate(doomed):
        if not info.base_name.startswith((store.COMPACT_PREFIX, "_")):  # a cell file: still the very one merged?
            now = fs.get_file_info(info.path)
            if now.type != pafs.FileType.File or store.cover_key(now) not in covered:
                continue
        deleted += _delete(fs, info.path)
        if pause and k == len(doomed) // 2:
            _pause("mid-delete")
    return deleted


def compact_run(root, run_id: str, rows_per_part: int | None = None, min_files: int = 2) -> CompactResult:
    """Merge run_id's result files into part files of at most rows_per_part rows (default ROWS_PER_PART, or
    $GRID_COMPACT_ROWS_PER_PART). Safe to kill at any point, and to run again. Does nothing when fewer than min_files
    files would be merged."""
    rows_per_part = rows_per_part or int(os.environ.get("GRID_COMPACT_ROWS_PER_PART") or ROWS_PER_PART)
    r = store.ResultsRoot.parse(root)
    folder = r.run_dir(run_id)
    infos = r.fs.get_file_info(pafs.FileSelector(folder, recursive=False, allow_not_found=True))
    if not infos:
        raise store.StoreError(f"run {run_id} not found under {r}: check --results, or list runs with `grid runs`")
    visible = store.visible_result_files(r.fs, infos)
    old = store.read_compaction(r.fs, folder) or {}
    old_parts = set(old.get("parts", []))
    names = {p.rsplit("/", 1)[1] for p in visible}
    cells = sorted(n for n in names if n not in old_parts)
    if len(visible) < min_files or not cells:  # nothing new since the last compaction: finish a killed one's cleanup
        deleted = _cleanup(r.fs, folder, infos, old, set(old_parts)) if old else 0
        return CompactResult(run_id, 0, len(visible), sorted(old_parts), deleted, skipped=True)

    gen = f"{datetime.datetime.now(datetime.UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    # a cell re-run after an earlier compaction (resume --retry) has a new cell file and an old row in a part: the
    # cell file wins, so the merged run holds each cell once
    cell_paths = [p for p in visible if p.rsplit("/", 1)[1] in set(cells)]
    part_paths = [p for p in visible if p.rsplit("/", 1)[1] in old_parts]
    rerun = set()
    if part_paths and cell_paths:
        rerun = set(
            ds.dataset(cell_paths, format="parquet", filesystem=r.fs)
            .to_table(columns=["cell_id"])["cell_id"]
            .to_pylist()
        )

    def batches():
        if part_paths:  # a few large files: streamed
            dataset = ds.dataset(part_paths, schema=FILE_SCHEMA, format="parquet", filesystem=r.fs)
            for batch in dataset.to_batches(batch_size=ROW_GROUP, fragment_readahead=2, batch_readahead=2):
                if rerun:
                    keep = pa.compute.invert(pa.compute.is_in(batch.column("cell_id"), pa.array(sorted(rerun))))
                    batch = batch.filter(keep)
                yield batch
        # many one-row files: read FILES_PER_READ at a time into one contiguous batch. One scanner over every file
        # held them all open and their one-row batches all buffered (4.7 GB peak for 10,000 files, BENCHMARKS.md)
        for i in range(0, len(cell_paths), FILES_PER_READ):
            chunk = cell_paths[i : i + FILES_PER_READ]
            table = ds.dataset(chunk, schema=FILE_SCHEMA, format="parquet", filesystem=r.fs).to_table()
            yield from table.combine_chunks().to_batches(max_chunksize=ROW_GROUP)

    parts: list[str] = []
    writer, in_part, total = None, 0, 0
    pending: list[pa.RecordBatch] = []  # cell files give 1-row batches: buffer them into whole row groups

    def flush() -> None:
        nonlocal writer, in_part, total
        if not pending:
            return
        if writer is None:
            parts.append(f"{store.COMPACT_PREFIX}{gen}-{len(parts):05d}.parquet")
            writer = pq.ParquetWriter(f"{folder}/{parts[-1]}", FILE_SCHEMA, filesystem=r.fs)
            in_part = 0
        table = pa.Table.from_batches(pending, schema=FILE_SCHEMA)
        pending.clear()
        writer.write_table(table, row_group_size=ROW_GROUP)
        in_part, total = in_part + table.num_rows, total + table.num_rows

    try:
        buffered = 0
        for batch in batches():
            offset = 0
            while offset < batch.num_rows:
                room = min(rows_per_part - in_part - buffered, ROW_GROUP - buffered)
                take = min(batch.num_rows - offset, room)
                pending.append(batch.slice(offset, take))
                offset, buffered = offset + take, buffered + take
                if buffered >= ROW_GROUP or in_part + buffered >= rows_per_part:
                    flush()
                    buffered = 0
                    if in_part >= rows_per_part:
                        writer.close()
                        writer = None
                        _pause("after-part")
        flush()
    finally:
        if writer is not None:
            writer.close()
    _pause("after-part")

    old_covers = store.read_covers(r.fs, folder, old) if old else set()
    by_name = {i.base_name: i for i in infos}
    present = {store.cover_key(i) for i in infos}
    merged = {store.cover_key(by_name[n]) for n in cells}
    covers = sorted(merged | (old_covers & present))  # old ones: covered cell files a killed deletion left behind
    covers_name = f"_compacted-{gen}.covers"
    _write_text(r.fs, f"{folder}/{covers_name}", "\n".join(covers) + "\n")
    _pause("before-commit")
    marker = {
        "generation": gen,
        "parts": parts,
        "covers": covers_name,
        "rows": total,
        "files_merged": len(visible),
        "compacted_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    _write_text(r.fs, f"{folder}/{store.COMPACTED}", json.dumps(marker, indent=1))  # the commit
    _pause("after-commit")

    infos = r.fs.get_file_info(pafs.FileSelector(folder, recursive=False, allow_not_found=True))
    deleted = _cleanup(r.fs, folder, infos, marker, old_parts, pause=True)
    return CompactResult(run_id, total, len(visible), parts, deleted)


AUTO_COMPACT_MIN_FILES = 256  # a finished run of fewer cell files reads fast enough as it is


def compact_finished(root, run_id: str) -> CompactResult | None:
    """At the end of a run (every planned cell has its row): compact it when it is large enough to gain. Never fails
    the run: a compaction that cannot finish leaves the run readable as it was, and says why on stderr."""
    try:
        return compact_run(root, run_id, min_files=AUTO_COMPACT_MIN_FILES)
    except Exception as exc:  # the rows are safe; the report just reads more files
        print(
            f"grid: run {run_id} not compacted ({type(exc).__name__}: {exc}); `grid compact {run_id}` retries",
            file=sys.stderr,
        )
        return None


def main(argv: list[str] | None = None) -> int:  # `python -m grid.compact ROOT RUN` (the CLI is `grid compact`)
    argv = sys.argv[1:] if argv is None else argv
    print(json.dumps(compact_run(argv[0], argv[1]).to_dict()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
