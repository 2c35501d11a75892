"""agent.blas: the BLAS choice, the preload around a child's start, and — where OpenBLAS is installed — MLX's f32
matmuls under the preload checked against numpy in a fresh process (the child's situation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent import blas


def test_choice_and_preload_restore(monkeypatch):
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.setenv("GRID_BLAS", "reference")
    assert blas.choice()[1] is None and "reference" in blas.choice()[0]
    monkeypatch.delenv("GRID_BLAS")
    monkeypatch.setattr(blas, "find_openblas", lambda: "/x/libopenblas.so.0")
    if sys.platform.startswith("linux"):
        with blas.preloaded():
            assert os.environ["LD_PRELOAD"] == "/x/libopenblas.so.0"
        assert "LD_PRELOAD" not in os.environ
        monkeypatch.setenv("LD_PRELOAD", "/y/other.so")
        with blas.preloaded():
            assert os.environ["LD_PRELOAD"] == "/x/libopenblas.so.0:/y/other.so"
        assert os.environ["LD_PRELOAD"] == "/y/other.so"


@pytest.mark.skipif(blas.find_openblas() is None, reason="no OpenBLAS installed (apt install libopenblas0-pthread)")
def test_mlx_matmul_under_openblas_matches_numpy():
    code = (
        "import json, numpy as np, mlx.core as mx\n"
        "rng = np.random.default_rng(1); worst = 0.0\n"
        "for m, k, n in ((7, 33, 65), (64, 128, 96), (200, 300, 100)):\n"
        "    a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)\n"
        "    ref = a @ b; got = np.array(mx.array(a) @ mx.array(b))\n"
        "    worst = max(worst, float(np.max(np.abs(got - ref)) / np.max(np.abs(ref))))\n"
        "import sys; print(json.dumps({'err': worst, 'mapped': sys.argv[1] in open('/proc/self/maps').read()}))\n"
    )
    env = dict(os.environ, LD_PRELOAD=blas.find_openblas(), MLX_DEFAULT_DEVICE="cpu")
    # numpy maps its own bundled OpenBLAS in every case: look for the system library's path itself
    out = subprocess.run(
        [sys.executable, "-c", code, blas.find_openblas()],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["mapped"] is True and result["err"] < 1e-5
