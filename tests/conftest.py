"""Shared test setup: offline hub, quiet Ray, one twin cache per session (TMPDIR stays, so MLX's CPU kernel cache,
compiled with g++ on first use, is shared by every test and child process)."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def grid_cache(tmp_path_factory):
    """A GRID_CACHE shared by the whole session, so each twin is built once."""
    path = tmp_path_factory.getbasetemp() / "grid-cache"
    path.mkdir(exist_ok=True)
    os.environ["GRID_CACHE"] = str(path)
    return path
