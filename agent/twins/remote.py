"""Remote code shipped inside twin folders (the *.py files real checkpoints ship for trust_remote_code)."""

from __future__ import annotations

from pathlib import Path

REMOTE_CODE = Path(__file__).parent / "remote_code"


def remote_file(name: str) -> str:
    return (REMOTE_CODE / name).read_text()
