"""`grid prefetch SUITE`: warm every live node's Hugging Face cache with the suite's models, all nodes in parallel,
and report what each node holds. Each node downloads into its own normal HF cache (the agent fetches from there
before its timers start), so a run's first cell on a node does not wait for a download.

One task per node, pinned to it, holding its grid_slot: a download never runs beside a measurement.
"""

from __future__ import annotations

import socket
import time

from grid.core.suite import Suite
from grid.driver.scheduler import NODE_ROLE, SLOT, _ray, connect, grid_nodes


def _warm(models: list[tuple[str, str | None, str]]) -> dict:
    """On a node: fetch each Hugging Face model into the local cache; note local folders and twins."""
    import ray

    from grid.core.failures import redact

    out = []
    for model_id, revision, source in models:
        t0 = time.perf_counter()
        entry = {"model": model_id}
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
        out.append(entry)
    held = []
    try:
        from huggingface_hub import scan_cache_dir

        for repo in scan_cache_dir().repos:
            held.append({"repo": repo.repo_id, "size_gb": round(repo.size_on_disk / 1024**3, 3)})
    except Exception:  # no cache folder yet
        pass
    labels = ray.get_runtime_context().get_node_labels()
    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "hostname": socket.gethostname(),
        "hw_class": labels.get("hw_class", ""),
        "models": out,
        "cache": sorted(held, key=lambda r: r["repo"]),
    }


def prefetch(suite: Suite, address: str | None = None, timeout_s: float = 3600) -> list[dict]:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray = _ray()
    started = connect(address)
    try:
        models = [(m.id, m.revision, m.source) for m in suite.models]
        refs = {}
        for node in grid_nodes():
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            task = ray.remote(_warm).options(
                num_cpus=0,
                resources={SLOT: 1},
                scheduling_strategy=strategy,
                label_selector={"role": NODE_ROLE},
                max_retries=0,
                name=f"grid:prefetch:{suite.name}",
            )
            refs[task.remote(models)] = node
        reports = []
        ready, not_ready = ray.wait(list(refs), num_returns=len(refs), timeout=timeout_s)
        for ref in ready:
            try:
                reports.append(ray.get(ref))
            except Exception as e:
                node = refs[ref]
                reports.append(
                    {
                        "node_id": node["NodeID"],
                        "hostname": node.get("NodeManagerHostname", ""),
                        "hw_class": node["Labels"].get("hw_class", ""),
                        "error": f"{type(e).__name__}",
                        "models": [],
                        "cache": [],
                    }
                )
        for ref in not_ready:
            node = refs[ref]
            reports.append(
                {
                    "node_id": node["NodeID"],
                    "hostname": node.get("NodeManagerHostname", ""),
                    "hw_class": node["Labels"].get("hw_class", ""),
                    "error": f"timed out after {timeout_s:.0f} s",
                    "models": [],
                    "cache": [],
                }
            )
        return sorted(reports, key=lambda r: (r["hw_class"], r["node_id"]))
    finally:
        if started:
            ray.shutdown()
