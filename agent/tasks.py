"""The Ray task bodies: the only code the driver sends to a node. A group task runs one model group (streaming a row
per cell), a warm task fills the node's Hugging Face cache (`grid prefetch`).

What a worker process keeps between tasks lives in one `NodeState` (the hardware probe: seconds of sysctl and a
subprocess, taken once per worker process). `ray` is imported inside the functions: this module is imported by the
driver too, which decides whether and how Ray starts.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable

from agent.hardware import Hardware
from grid.core.options import RunOptions
from grid.core.plan import Cell


def node_hardware(hw: Hardware, labels: dict[str, str]) -> Hardware:
    """The probe as the node's labels say: the label decided placement, so rows carry it. A node joined with
    simulated hardware (label `simulated=true`) also pretends its RAM / working set and says so on every row. A probe
    that is simulated already (the worker inherited the node's simulation) keeps its figures: the labels say the same,
    rounded (`ram_gb` is a whole number)."""
    changes: dict = {}
    label = labels.get("hw_class")
    if label and label != hw.hw_class:
        changes["hw_class"] = label
    if labels.get("simulated") == "true" and not hw.simulated:
        changes["simulated"] = True
        for key in ("ram_gb", "working_set_gb"):
            try:
                if labels.get(key):
                    changes[key] = float(labels[key])
            except ValueError:  # a malformed label: keep the probed figure
                pass
    return dataclasses.replace(hw, **changes) if changes else hw


class NodeState:
    """What one worker process keeps between tasks (Ray reuses a worker process for the next task of the node)."""

    def __init__(self, probe: Callable[[], Hardware] | None = None):
        self._probe = probe
        self._hardware: Hardware | None = None

    def hardware(self, labels: dict[str, str], mlx_device: str = "") -> Hardware:
        """This node's hardware: probed once per worker process, then seen through the node's labels. `mlx_device`
        "cpu" (the run forces MLX's CPU backend) describes the CPU the cells run on, not the node's GPU."""
        if self._hardware is None:
            if self._probe is None:
                from functools import partial

                from agent.hardware import probe

                self._probe = partial(probe, mlx_device=mlx_device)
            self._hardware = self._probe()
        return node_hardware(self._hardware, labels)


NODE = NodeState()  # the one per worker process


def group_task(cells: list[Cell], attempt: int, options: RunOptions | None = None, state: NodeState | None = None):
    """One model group on this node. First yields where it runs (the driver's watchdog needs the node before any row
    exists), then a row per cell as it finishes."""
    import ray

    from agent.runner import run_group

    context = ray.get_runtime_context()
    node_id = context.get_node_id()
    yield {"node_id": node_id, "hostname": socket.gethostname()}
    options = options or RunOptions()
    hw = (state or NODE).hardware(context.get_node_labels(), options.mlx_device)
    yield from run_group(cells, hw, node_id, attempt, options=options)


def _warm_one(model_id: str, revision: str | None, source: str) -> dict:
    from grid.core.failures import redact

    t0 = time.perf_counter()
    entry: dict = {"model": model_id}
    try:
        if source == "twin":
            entry.update(status="twin", detail="built on the node on first use (offline, seconds)")
        elif source == "local":
            from pathlib import Path

            path = Path(model_id).expanduser()
            entry.update(status="present" if path.is_dir() else "missing", detail=str(path))
        else:
            from huggingface_hub import snapshot_download

            path = snapshot_download(model_id, revision=revision)
            entry.update(status="cached", detail=path, seconds=round(time.perf_counter() - t0, 2))
    except Exception as e:  # gated, missing, offline: reported per node, never raised
        entry.update(status="error", detail=redact(f"{type(e).__name__}: {e}")[:500])
    return entry


def _cache_held() -> list[dict]:
    held = []
    try:
        from huggingface_hub import scan_cache_dir

        for repo in scan_cache_dir().repos:
            held.append({"repo": repo.repo_id, "size_gb": round(repo.size_on_disk / 1024**3, 3)})
    except Exception:  # no cache folder yet
        pass
    return sorted(held, key=lambda r: r["repo"])


def warm_task(models: list[tuple[str, str | None, str]]) -> dict:
    """On a node: fetch each Hugging Face model into the local cache; note local folders and twins; report what the
    node's cache holds."""
    import ray

    out = [_warm_one(model_id, revision, source) for model_id, revision, source in models]
    context = ray.get_runtime_context()
    return {
        "node_id": context.get_node_id(),
        "hostname": socket.gethostname(),
        "hw_class": context.get_node_labels().get("hw_class", ""),
        "models": out,
        "cache": _cache_held(),
    }


def env_probe_task() -> dict:
    """In a package environment (a Ray runtime_env): the versions it resolved, read by this interpreter. Running it
    at all is what makes Ray build (or find cached) the environment on the node."""
    from agent.provenance import versions

    return dict(versions())
