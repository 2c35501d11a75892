"""`grid prefetch SUITE`: warm every live node's Hugging Face cache with the suite's models, all nodes in parallel,
and report what each node holds. Each node downloads into its own normal HF cache (the agent fetches from there
before its timers start), so a run's first cell on a node does not wait for a download.

One task per node, pinned to it, holding its grid_slot: a download never runs beside a measurement.
"""

from __future__ import annotations

from agent.tasks import warm_task
from grid.core.suite import Suite
from grid.driver.connect import NODE_ROLE, SLOT, connect, grid_nodes, ray_module


def _node_error(node: dict, error: str) -> dict:
    """A node's report when its warm task gave none."""
    return {
        "node_id": node["NodeID"],
        "hostname": node.get("NodeManagerHostname", ""),
        "hw_class": node["Labels"].get("hw_class", ""),
        "error": error,
        "models": [],
        "cache": [],
    }


def prefetch(suite: Suite, address: str | None = None, timeout_s: float = 3600) -> list[dict]:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray = ray_module()
    started = connect(address)
    try:
        models = [(m.id, m.revision, m.source) for m in suite.models]
        refs = {}
        for node in grid_nodes():
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            task = ray.remote(warm_task).options(
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
                reports.append(_node_error(refs[ref], f"{type(e).__name__}"))
        for ref in not_ready:
            reports.append(_node_error(refs[ref], f"timed out after {timeout_s:.0f} s"))
        return sorted(reports, key=lambda r: (r["hw_class"], r["node_id"]))
    finally:
        if started:
            ray.shutdown()


def prefetch_envs(suite: Suite, address: str | None = None) -> list[dict]:
    """`grid prefetch --env`: build every package environment of the suite on every live node now (Ray caches each
    per node), so a run's cells find them built. One record per environment × node: built (seconds, the mlx-vlm it
    resolved) or the resolver's message."""
    from grid.driver.envs import build_on_nodes

    ray = ray_module()
    started = connect(address)
    try:
        pairs = [(env, node) for env in suite.environments for node in grid_nodes()]
        builds = build_on_nodes(pairs) if pairs else []
        return sorted(
            (
                {
                    "env_id": b.env_id,
                    "node_id": b.node_id,
                    "hw_class": b.hw_class,
                    "status": "error" if b.error else "built",
                    "seconds": round(b.seconds, 2),
                    "mlx_vlm_version": (b.versions or {}).get("mlx_vlm_version", ""),
                    "detail": b.error,
                }
                for b in builds
            ),
            key=lambda r: (r["env_id"], r["hw_class"], r["node_id"]),
        )
    finally:
        if started:
            ray.shutdown()
