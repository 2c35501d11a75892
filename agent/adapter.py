"""The one mlx-vlm adapter: the only module in grid that imports mlx / mlx_vlm.

It runs inside the isolated child process (agent/child.py) and inside build tools (twins). Everything else in grid
imports without mlx installed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import mlx.core as mx  # noqa: E402
import mlx_vlm  # noqa: E402


# --- twins: random weights and quantized variants (used by agent/twins) -------------------------------------------


# --- runtime: load, generate with stage timings, device info --------------------------------------------------------
