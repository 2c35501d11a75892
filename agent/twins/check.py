"""Check twins end to end: materialize, mlx_vlm.load, generate a few tokens with an image.

    python -m agent.twins.check twin:qwen2_vl twin:gemma3-q4 ...   # one JSON line per spec on stdout
    python -m agent.twins.check --load-only twin:nemotron_parse     # build, load, round trip; no generation

Runs mlx (through agent.twins.weights) in this process, so callers that must stay mlx-free run it as a subprocess.
A spec that fails prints {"spec", "ok": false, "error": "<type>: <message>"} and the run goes on.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path


def test_image(folder: Path, width: int = 320, height: int = 240) -> Path:
    """A small deterministic RGB gradient PNG (no numpy needed)."""
    from PIL import Image

    path = folder / f"check-{width}x{height}.png"
    if not path.exists():
        img = Image.new("RGB", (width, height))
        img.putdata([((x * 7) % 256, (y * 11) % 256, ((x + y) * 5) % 256) for y in range(height) for x in range(width)])
        img.save(path)
    return path


def check(spec: str, image: Path | None, max_tokens: int = 4, load_only: bool = False) -> dict:
    from agent.twins import materialize, weights

    extra: dict = {}
    try:
        folder = materialize(spec)
        trust = json.loads((folder / "twin.json").read_text()).get("trust_remote_code", False)
        # before generating, so a twin that fails at run time (an expected failure) still shows its weights load
        extra["round_trip"] = weights.weights_round_trip(folder, trust_remote_code=trust)
        if load_only:  # heavy twins: minutes per image on a CPU, so mlx_vlm.load (model and processor) and no more
            smoke = weights.twin_load(folder, trust_remote_code=trust)
        else:
            smoke = weights.twin_smoke(folder, image, max_tokens=max_tokens, trust_remote_code=trust)
        return {"spec": spec, "ok": True, "path": str(folder), **smoke, **extra}
    except Exception as exc:  # a check reports, it does not stop at the first failure
        tail = traceback.format_exc().strip().splitlines()[-6:]
        return {"spec": spec, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": tail, **extra}


def main(argv: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    image = test_image(Path(tempfile.gettempdir()))
    load_only = "--load-only" in argv
    failed = 0
    for spec in [a for a in argv if a != "--load-only"]:
        result = check(spec, image, load_only=load_only)
        failed += not result["ok"]
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
