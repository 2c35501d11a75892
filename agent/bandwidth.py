"""Memory bandwidth of a node without a table entry: measured once, cached under $GRID_CACHE, recorded in every row.

Apple chips and NVIDIA GPUs have a spec bandwidth in agent/hardware.py's table. For any other CPU (an x86 Linux box,
a cloud VM) the physical limit is measured here:

- What: a STREAM-style copy of a 256 MiB float32 buffer with numpy (memcpy underneath, GIL released), once on one
  thread and once on one thread per usable core (each thread copies its own slice); best of BANDWIDTH_REPEATS.
  Bytes counted = read + write (2 × buffer), as STREAM's "copy" does. The figure kept is the larger of the two.
- Why numpy and not MLX's own copy: on the x86 CPU backend MLX's elementwise kernels reach 1-2 GB/s where memcpy
  reaches ~20 GB/s on the same box (measured 2026-11-28, EPYC 2 cores): an MLX copy would measure MLX's kernels, not
  the memory, and every decode would look far from the physical limit for the wrong reason.
- Where: in the runner (the Ray worker process on the node), before the node's first child starts, so nothing else of
  grid's runs during it. The result goes to $GRID_CACHE/bandwidth/<hostname>__<hw_class>.json; later cells, runs and
  processes on that node read it back.

This module imports numpy only inside `measure_copy_gbps`; never mlx.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path

from grid.core.files import atomic_write_text

BANDWIDTH_BUFFER_BYTES = 256 * 2**20  # well past any L3 cache, small enough for a 8 GB Mac
BANDWIDTH_REPEATS = 5
METHOD = "numpy copy, 256 MiB float32, read+write bytes, best of 5, max(1 thread, 1 thread per core)"


def cache_path(hostname: str, hw_class: str) -> Path:
    root = Path(os.environ.get("GRID_CACHE") or Path.home() / ".cache" / "grid").expanduser()
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{hostname}__{hw_class}")
    return root / "bandwidth" / f"{safe}.json"


def read_cached(hostname: str, hw_class: str) -> dict | None:
    try:
        data = json.loads(cache_path(hostname, hw_class).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data.get("bandwidth_gbps"), (int, float)) and data["bandwidth_gbps"] > 0 else None


def write_cached(hostname: str, hw_class: str, record: dict) -> Path:
    """Atomic write (temp file + rename): two workers on one node may measure at once; either result is fine."""
    return atomic_write_text(cache_path(hostname, hw_class), json.dumps(record, indent=2))


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset / cgroup pinning (Linux)
    except AttributeError:
        return os.cpu_count() or 1


def measure_copy_gbps(
    threads: int, buffer_bytes: int = BANDWIDTH_BUFFER_BYTES, repeats: int = BANDWIDTH_REPEATS
) -> float:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    n = buffer_bytes // 4
    src = np.ones(n, dtype=np.float32)
    dst = np.zeros_like(src)  # touched: page faults stay out of the timing
    edges = np.linspace(0, n, threads + 1, dtype=np.int64)
    slices = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(pool.map(lambda s: np.copyto(dst[s], src[s]), slices))
            best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best / 1e9


def measure() -> dict:
    cores = usable_cores()
    single = measure_copy_gbps(1)
    multi = measure_copy_gbps(cores) if cores > 1 else single
    return {
        "bandwidth_gbps": round(max(single, multi), 2),
        "single_thread_gbps": round(single, 2),
        "all_cores_gbps": round(multi, 2),
        "threads": cores,
        "method": METHOD,
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def node_bandwidth_gbps(
    hostname: str, hw_class: str, table_gbps: float | None, measure_bandwidth: bool = True
) -> tuple[float | None, str]:
    """(GB/s, source): the spec table's figure, else the cached measurement, else measure now and cache it.
    measure_bandwidth=False (RunOptions.measure_bandwidth) turns measuring off (the row then has no bandwidth_fraction)."""
    if table_gbps:
        return table_gbps, "table"
    cached = read_cached(hostname, hw_class)
    if cached:
        return float(cached["bandwidth_gbps"]), "measured (cached)"
    if not measure_bandwidth:
        return None, "off"
    record = measure() | {"hostname": hostname, "hw_class": hw_class}
    write_cached(hostname, hw_class, record)
    return float(record["bandwidth_gbps"]), "measured"
