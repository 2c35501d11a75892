"""agent.adapter's CPU override re-makes the generation streams mlx-vlm / mlx-lm created at import.

On the H200 (2026-12-02) `grid run --mlx-device cpu` generated on the GPU: mlx-vlm's `generation_stream` is made on
the default device when the module is imported (by the child's pre-import thread, before the override). A GPU is not
here, so the test plants a stand-in for a stream made earlier and checks that the override replaces it with a CPU one.
"""

from __future__ import annotations

import sys
import types

import pytest

mx = pytest.importorskip("mlx.core")


def test_cpu_override_remakes_streams_created_at_import(monkeypatch):
    import importlib

    from agent import adapter

    # as the pre-import thread does (import_module: the package's `generate` attribute is mlx_vlm's function)
    dispatch = importlib.import_module("mlx_vlm.generate.dispatch")

    planted = object()  # what a module imported on a GPU machine holds: a stream on the GPU
    fake = types.ModuleType("mlx_lm.grid_test_fake")
    fake.generation_stream = planted
    monkeypatch.setitem(sys.modules, "mlx_lm.grid_test_fake", fake)
    monkeypatch.setattr(dispatch, "generation_stream", planted)

    adapter._apply_device_override("")  # the default device: nothing is touched
    assert fake.generation_stream is planted and dispatch.generation_stream is planted

    adapter._apply_device_override("cpu")
    for module in (fake, dispatch):
        assert module.generation_stream is not planted
        assert module.generation_stream.device == mx.cpu
    assert mx.default_device() == mx.cpu
