"""Built-in test images, generated deterministically (no downloads), and user images that travelled with the cell."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from PIL import Image, ImageDraw

from grid.core.files import atomic_write_bytes

SIZES = {"chart": (320, 240), "photo": (320, 240), "text": (320, 160), "tiny": (32, 32), "large": (4096, 3072)}


def cache_dir() -> Path:
    return Path(os.environ.get("GRID_CACHE", Path.home() / ".cache" / "grid")).expanduser() / "images"


def _draw(name: str) -> Image.Image:
    w, h = SIZES[name]
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    if name == "chart":  # a bar chart with axes: something to describe
        d.line([(30, 10), (30, h - 30), (w - 10, h - 30)], fill="black", width=2)
        for i, value in enumerate((0.3, 0.8, 0.55, 0.95, 0.4)):
            x = 45 + i * (w - 70) // 5
            d.rectangle([x, h - 30 - int(value * (h - 50)), x + 30, h - 31], fill=("#4472c4", "#ed7d31")[i % 2])
    elif name in ("photo", "large"):  # a sky gradient, a sun, a hill: smooth regions and edges
        for y in range(h):
            d.line([(0, y), (w, y)], fill=(80 + 100 * y // h, 140 + 80 * y // h, 235))
        d.ellipse([w * 0.65, h * 0.1, w * 0.8, h * 0.1 + w * 0.15], fill="#ffd23f")
        d.polygon(
            [
                (0, h),
                (w * 0.35, h * 0.55),
                (w * 0.7, h),
            ],
            fill="#3a7d44",
        )
    elif name == "text":
        for i, line in enumerate(("GRID BENCHMARK", "Model x Hardware", "2026-11-28 Lyon")):
            d.text((12, 12 + 40 * i), line, fill="black")
    else:  # tiny: a quartered square
        d.rectangle([0, 0, w // 2, h // 2], fill="red")
        d.rectangle([w // 2, h // 2, w, h], fill="blue")
    return img


def image_path(builtin: str | None = None, data: bytes | None = None, suffix: str = ".png") -> str:
    """A file path for the cell's image: the generated built-in, or the user's bytes written once by content hash."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if builtin:
        path = folder / f"{builtin}.png"
        if not path.exists():
            png = io.BytesIO()
            _draw(builtin).save(png, format="PNG")
            atomic_write_bytes(path, png.getvalue())
        return str(path)
    if data is None:
        raise ValueError("an image needs a built-in name or its bytes")
    path = folder / f"user-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    if not path.exists():
        atomic_write_bytes(path, data)
    return str(path)
