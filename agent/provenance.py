"""Versions of what ran a cell, read from installed metadata (no imports of the packages themselves).

The child calls this too (agent/child.py, in its FetchInfo reply): in a package environment (a Ray runtime_env) the
child's interpreter and site-packages are the environment's, and those are the versions a row must carry.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from functools import lru_cache

from grid.core.environments import PROVENANCE


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Row columns: python, every PROVENANCE distribution, grid, and the interpreter's path."""
    out = {"python_version": platform.python_version()}
    out.update({column: _version(dist) for column, dist in PROVENANCE.items()})
    out["grid_version"] = _version("grid")
    out["env_python"] = sys.executable
    return out
