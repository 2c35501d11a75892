"""Disk budget of a node: will a hub model fit, and what grid-downloaded models to evict (least recently used) so
that it does. Never touches anything grid did not download itself.

- Predicted size: the sum of the repo's file sizes from the hub API (HfApi.model_info(files_metadata=True)), minus
  what the local cache already holds of that repo. Unreachable hub -> unknown, the cell goes on (the fetch reports it).
- The ledger ($GRID_CACHE/disk/ledger.json): each repo grid itself downloaded (it was not in the cache before grid's
  fetch), its bytes and when a cell last used it. Only ledger entries are ever evicted.
- The budget: `grid node join --disk-budget 200GB` gives the node's processes GRID_DISK_BUDGET; grid's downloads are
  kept inside it. Free space is always checked (DISK_MARGIN_BYTES kept free).
- A model that cannot fit even after evicting every other ledger entry: the cell is `skipped`, with the free space
  (disk_free_gb) and the predicted need (disk_needed_gb) in the row.

`plan` is the pure decision (tests/test_disk.py with given sizes); the rest reads the hub, the cache and the ledger.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from grid.core.files import atomic_write_text

DISK_MARGIN_BYTES = 2 * 10**9  # never fill a disk to the last byte (logs, Ray's object spill, the OS)
BUDGET_ENV = "GRID_DISK_BUDGET"

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def parse_size(text: str) -> int:
    """ "200GB" / "1.5 TB" / "500GiB" / "123456" -> bytes (decimal units, as disks are sold; *iB binary)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?I?B?)\s*", str(text).upper())
    if not m:
        raise ValueError(f"not a size: {text!r} (e.g. 200GB, 1.5TB, 500GiB)")
    return int(float(m.group(1)) * _UNITS[m.group(2) if m.group(2) in _UNITS else m.group(2) + "B"])


@dataclass(frozen=True)
class Decision:
    fits: bool
    evict: tuple[str, ...] = ()  # ledger repos to delete first, least recently used first
    needed_bytes: int | None = None
    free_bytes: int | None = None
    reason: str = ""


@dataclass
class Entry:
    repo: str
    bytes: int
    last_used: float
    path: str = ""


def plan(
    repo: str,
    needed_bytes: int | None,
    free_bytes: int,
    ledger: list[Entry],
    budget_bytes: int | None = None,
    margin_bytes: int = DISK_MARGIN_BYTES,
) -> Decision:
    """Whether `repo` (still missing `needed_bytes` on disk) fits, and which ledger entries to evict, LRU first."""
    if needed_bytes is None:
        return Decision(True, free_bytes=free_bytes, reason="size unknown (hub not reachable): not checked")
    if needed_bytes <= 0:
        return Decision(True, needed_bytes=0, free_bytes=free_bytes, reason="already cached")
    others = sorted((e for e in ledger if e.repo != repo), key=lambda e: e.last_used)
    used = sum(e.bytes for e in ledger if e.repo != repo)
    evict: list[str] = []
    free, budget_used = free_bytes, used

    def fits() -> bool:
        in_budget = budget_bytes is None or budget_used + needed_bytes <= budget_bytes
        return in_budget and free - margin_bytes >= needed_bytes

    for e in others:
        if fits():
            break
        evict.append(e.repo)
        free += e.bytes
        budget_used -= e.bytes
    if fits():
        return Decision(True, tuple(evict), needed_bytes, free_bytes)
    why = []
    if budget_bytes is not None and needed_bytes > budget_bytes:
        why.append(f"needs {needed_bytes / 1e9:.1f} GB, over the node's disk budget of {budget_bytes / 1e9:.1f} GB")
    if free - margin_bytes < needed_bytes:
        why.append(
            f"needs {needed_bytes / 1e9:.1f} GB, {free_bytes / 1e9:.1f} GB free"
            + (f" ({free / 1e9:.1f} GB after evicting every model grid downloaded)" if others else "")
            + f", {margin_bytes / 1e9:.0f} GB kept free"
        )
    return Decision(False, (), needed_bytes, free_bytes, "; ".join(why) or "does not fit")


# --- the ledger ---------------------------------------------------------------------------------------------------


def ledger_path() -> Path:
    root = Path(os.environ.get("GRID_CACHE") or Path.home() / ".cache" / "grid").expanduser()
    return root / "disk" / "ledger.json"


def read_ledger(path: Path | None = None) -> list[Entry]:
    try:
        data = json.loads((path or ledger_path()).read_text())
        return [Entry(**e) for e in data.get("entries", [])]
    except (OSError, ValueError, TypeError):
        return []


def write_ledger(entries: list[Entry], path: Path | None = None) -> None:
    body = {"entries": [e.__dict__ for e in sorted(entries, key=lambda e: e.repo)]}
    atomic_write_text(path or ledger_path(), json.dumps(body, indent=2))


def record_download(repo: str, nbytes: int, path: str, was_cached: bool, ledger: Path | None = None) -> None:
    """After a fetch: a repo that was not in the cache before grid fetched it enters the ledger; a ledger entry's
    last use is refreshed. A repo the user had already is never added (so never evicted)."""
    entries = {e.repo: e for e in read_ledger(ledger)}
    if repo in entries:
        entries[repo].last_used, entries[repo].bytes = time.time(), nbytes
    elif not was_cached:
        entries[repo] = Entry(repo, nbytes, time.time(), path)
    else:
        return
    write_ledger(list(entries.values()), ledger)


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_cache_folder(repo: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or hub_cache_dir()) / ("models--" + repo.replace("/", "--"))


def evict(repos: list[str] | tuple[str, ...], cache_dir: Path | None = None, ledger: Path | None = None) -> list[str]:
    """Delete these repos from the hub cache: only ledger entries (anything else is refused), then drop them."""
    entries = {e.repo: e for e in read_ledger(ledger)}
    done = []
    for repo in repos:
        if repo not in entries:
            continue  # not downloaded by grid: never deleted
        folder = repo_cache_folder(repo, cache_dir)
        if folder.is_dir():
            shutil.rmtree(folder)
        entries.pop(repo)
        done.append(repo)
    write_ledger(list(entries.values()), ledger)
    return done


# --- live figures ---------------------------------------------------------------------------------------------------


def cached_bytes(repo: str, cache_dir: Path | None = None) -> int:
    folder = repo_cache_folder(repo, cache_dir) / "blobs"
    return sum(p.stat().st_size for p in folder.glob("*") if p.is_file()) if folder.is_dir() else 0


def hub_size_bytes(repo: str, revision: str | None = None) -> int | None:
    """The repo's files' total size from the hub API; None when the hub cannot be asked (offline, gated, absent)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip() in ("1", "true", "True", "YES", "yes"):
        return None
    try:
        from huggingface_hub import HfApi

        info = HfApi().model_info(repo, revision=revision, files_metadata=True)
        return sum(int(s.size or 0) for s in info.siblings or [])
    except Exception:  # noqa: BLE001 — unknown size: not checked
        return None


def budget_from_env() -> int | None:
    value = os.environ.get(BUDGET_ENV, "").strip()
    return parse_size(value) if value else None


@dataclass
class Check:
    decision: Decision
    evicted: list[str] = field(default_factory=list)
    was_cached: bool = False


def check_and_make_room(repo: str, revision: str | None = None, cache_dir: Path | None = None) -> Check:
    """Before a hub model's fetch on this node: predict, decide, evict (ledger only). Never raises."""
    try:
        cache_dir = cache_dir or hub_cache_dir()
        have = cached_bytes(repo, cache_dir)
        total = hub_size_bytes(repo, revision)
        needed = max(total - have, 0) if total is not None else None
        target = cache_dir if cache_dir.exists() else cache_dir.parent
        while not target.exists() and target != target.parent:
            target = target.parent
        free = shutil.disk_usage(target).free
        decision = plan(repo, needed, free, read_ledger(), budget_from_env())
        evicted = evict(decision.evict, cache_dir) if decision.fits and decision.evict else []
        return Check(decision, evicted, was_cached=have > 0)
    except Exception as exc:  # noqa: BLE001 — the disk check must not fail a cell by itself
        return Check(Decision(True, reason=f"disk check failed: {type(exc).__name__}: {exc}"[:200]))
