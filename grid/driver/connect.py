"""The driver's Ray connection and the head's table of grid nodes.

With no address an embedded single-node Ray is started, labelled with this machine's hardware class; with an address
the same code path runs against a lab cluster whose nodes joined with `grid node join`.
"""

from __future__ import annotations

import os
import socket

from grid.core.errors import GridError

NODE_ROLE = "grid-node"  # label of nodes that run cells; the head of a lab cluster has none
SLOT = "grid_slot"  # one per node: one benchmark at a time, measurements never share a machine


def ray_module():
    """`ray`, imported on first use (with usage stats off unless the user chose otherwise)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    return ray


def connect(address: str | None, mlx_device: str = "") -> bool:
    """Connect to a cluster (an address, "auto", or RAY_ADDRESS as set inside a Ray Job), or start an embedded one
    labelled with this machine's class (its CPU's where `mlx_device` is "cpu"). Returns True if it started one."""
    ray = ray_module()
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    from grid.driver.ray_auth import ensure_token, sync_ray_config, use_token_if_available

    if address:
        check_reachable(address)
        use_token_if_available(address)
        ray.init(address=address, log_to_driver=False)
        return False
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "disabled":
        ensure_token()  # Ray's embedded start would create it world-readable (0644); grid creates it 0600 first
    sync_ray_config()
    from agent.hardware import probe

    hw = probe(device_info=False, mlx_device=mlx_device)
    # "local": with no address Ray would join the last cluster `ray start` left in /tmp/ray/ray_current_cluster (a
    # lab head on this machine, or a dead one it then waits for), not start the embedded one asked for
    ray.init(
        address="local",
        num_cpus=os.cpu_count() or 1,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 2**20,
        resources={SLOT: 1},
        labels={**hw.labels(), "role": NODE_ROLE},
    )
    return True


CONNECT_TIMEOUT_S = 20.0  # a head that does not accept a TCP connection in this time is not there


class UnreachableError(GridError):
    """A cluster address that does not answer: one line of advice instead of Ray retrying forever."""


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """A HEAD:PORT address must accept a TCP connection within timeout_s (Ray's own connect retries without end).
    "auto" and ray:// (Ray Client) addresses are left to Ray."""
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    advice = "start the head with `grid head start`, or check the address with `grid nodes`"
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UnreachableError(f"--address {address!r} is not HEAD:PORT (e.g. 192.168.1.10:6379)", advice)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except TimeoutError:
        raise UnreachableError(f"the Ray head at {address} did not answer in {timeout_s:.0f} s", advice) from None
    except OSError as e:
        raise UnreachableError(f"cannot reach the Ray head at {address} ({e.strerror or e})", advice) from None


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
