"""python -m agent.twins make SPEC [--out DIR] | check SPEC...  — the mlx side of `grid twins` (run as a subprocess,
because the grid driver never imports mlx)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path


def make(spec: str, out: str | None) -> int:
    from agent.twins import TwinError, materialize

    text = spec if spec.startswith("twin") else f"twin:{spec}"
    try:
        folder = materialize(text)
    except TwinError as exc:
        print(json.dumps({"spec": text, "ok": False, "error": str(exc)}))
        return 1
    if out:
        dest = Path(out)
        if dest.exists() and any(dest.iterdir()):
            print(json.dumps({"spec": text, "ok": False, "error": f"--out {dest} exists and is not empty"}))
            return 1
        shutil.copytree(folder, dest, dirs_exist_ok=True)
        folder = dest
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(json.dumps({"spec": text, "ok": True, "path": str(folder), "bytes": size}))
    return 0


def main(argv: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if argv[:1] == ["make"] and len(argv) >= 2:
        out = argv[argv.index("--out") + 1] if "--out" in argv else None
        return make(argv[1], out)
    if argv[:1] == ["check"]:
        from agent.twins.check import main as check_main

        return check_main(argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
