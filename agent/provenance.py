"""Versions of what ran a cell, read from installed metadata (no imports of the packages themselves)."""

from __future__ import annotations

import importlib.metadata
import platform
from functools import lru_cache


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    return {
        "python_version": platform.python_version(),
        "mlx_version": _version("mlx"),
        "mlx_vlm_version": _version("mlx-vlm"),
        "mlx_lm_version": _version("mlx-lm"),
        "transformers_version": _version("transformers"),
        "grid_version": _version("grid"),
    }
