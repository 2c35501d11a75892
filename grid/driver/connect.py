"""The driver's Ray connection and the head's table of grid nodes.

With no address an embedded single-node Ray is started, labelled with this machine's hardware class; with an address
the same code path runs against a lab cluster whose nodes joined with `grid node join`.
"""

from __future__ import annotations

import os

NODE_ROLE = "grid-node"  # label of nodes that run cells; the head of a lab cluster has none
SLOT = "grid_slot"  # one per node: one benchmark at a time, measurements never share a machine


def ray_module():
    """`ray`, imported on first use (with usage stats off unless the user chose otherwise)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    return ray


def connect(address: str | None) -> bool:
    """Connect to a cluster (an address, "auto", or RAY_ADDRESS as set inside a Ray Job), or start an embedded one
    labelled with this machine's class. Returns True if it started one."""
    ray = ray_module()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    from grid.driver.ray_auth import ensure_token, use_token_if_available

    if address:
        use_token_if_available()
        ray.init(address=address, log_to_driver=False)
        return False
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "disabled":
        ensure_token()  # Ray's embedded start would create it world-readable (0644); grid creates it 0600 first
    from agent.hardware import probe

    hw = probe(device_info=False)
    ray.init(
        num_cpus=os.cpu_count() or 1,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 2**20,
        resources={SLOT: 1},
        labels={**hw.labels(), "role": NODE_ROLE},
    )
    return True


def grid_nodes(alive_only: bool = True) -> list[dict]:
    """`ray.nodes()` entries of the nodes that run cells (role grid-node, with a hw_class label)."""
    return [
        n
        for n in ray_module().nodes()
        if (n.get("Labels") or {}).get("role") == NODE_ROLE
        and "hw_class" in (n.get("Labels") or {})
        and (n.get("Alive") or not alive_only)
    ]


def grid_nodes_safe(alive_only: bool = True) -> list[dict]:
    """grid_nodes, or [] when the head does not answer."""
    try:
        return grid_nodes(alive_only)
    except Exception:  # a GCS hiccup must not kill a run's driver
        return []


def live_targets(per_node: bool = False) -> list[tuple[str, str]]:
    """(hw_class, node_id) targets: one per class of live grid nodes, or one per node with per_node."""
    return sorted({(n["Labels"]["hw_class"], n["NodeID"] if per_node else "") for n in grid_nodes()})
