"""An optimized BLAS for MLX's CPU kernels on Linux nodes.

The `mlx[cpu]` Linux wheel links a bundled netlib reference BLAS/LAPACK (`ldd mlx/lib/libmlx.so` ->
mlx_cpu.libs/libblas-<hash>.so.3.10.0, liblapack-<hash>.so.3.10.0). Its symbols (sgemm_, cblas_sgemm ...) resolve
through the dynamic linker's global lookup, so a BLAS given in LD_PRELOAD wins: with Debian's `libopenblas0-pthread`
installed, the child starts with LD_PRELOAD=<its libopenblas.so.0> (the `spawn` child is a fresh exec that inherits
os.environ at start; the runner sets it around Process.start and restores it). GRID_BLAS=reference turns it off.
f32 matmuls go through it; bf16/f16 matmuls and gemv-shaped decode paths are MLX's own kernels and do not change
(BENCHMARKS.md). The BLAS in use is the row's `blas` column. Never imports mlx.
"""

from __future__ import annotations

import os
import platform
import sys
from contextlib import contextmanager

OPENBLAS_CANDIDATES = (
    "/usr/lib/{arch}-linux-gnu/openblas-pthread/libopenblas.so.0",  # Debian/Ubuntu libopenblas0-pthread
    "/usr/lib/{arch}-linux-gnu/libopenblas.so.0",  # the alternatives link
    "/usr/lib64/libopenblasp.so.0",  # Fedora openblas-threads
    "/usr/lib64/libopenblas.so.0",
)


def find_openblas() -> str | None:
    arch = platform.machine()
    for candidate in OPENBLAS_CANDIDATES:
        path = candidate.format(arch=arch)
        if os.path.exists(path):
            return os.path.realpath(path)
    return None


def choice() -> tuple[str, str | None]:
    """(blas label for the row, library to preload or None)."""
    if sys.platform == "darwin":
        return "accelerate", None
    if not sys.platform.startswith("linux"):
        return "", None
    if os.environ.get("GRID_BLAS", "").strip().lower() == "reference":
        return "reference (mlx wheel's bundled netlib, GRID_BLAS=reference)", None
    lib = find_openblas()
    if lib is None:
        return "reference (mlx wheel's bundled netlib)", None
    return f"openblas ({lib}, LD_PRELOAD)", lib


@contextmanager
def preloaded():
    """Around a child's start: LD_PRELOAD the optimized BLAS (prepended to any preload already set), then restore."""
    _, lib = choice()
    old = os.environ.get("LD_PRELOAD")
    if lib:
        os.environ["LD_PRELOAD"] = f"{lib}:{old}" if old else lib
    try:
        yield
    finally:
        if lib:
            if old is None:
                os.environ.pop("LD_PRELOAD", None)
            else:
                os.environ["LD_PRELOAD"] = old
