"""`grid nodes`: every node a lab's head knows (alive or dead), its labels, and the grid task each one runs, read
through the dashboard's state API."""

from __future__ import annotations

import os

from grid.driver.ray_auth import auth_advice, use_token_if_available
from grid.lab.records import ClusterError, load_record

DEFAULT_DASHBOARD_PORT = 8265
HEAD_ROLE = "grid-head"


def dashboard_address(dashboard: str | None) -> str:
    """The dashboard URL to talk to: --dashboard, RAY_ADDRESS when it is http(s), else the head started here."""
    dashboard = dashboard or os.environ.get("RAY_ADDRESS", "")
    if dashboard.startswith(("http://", "https://")):
        return dashboard
    if dashboard:
        raise ClusterError(
            f"{dashboard!r} is not a dashboard URL: use --dashboard http://HEAD:{DEFAULT_DASHBOARD_PORT}"
        )
    try:
        rec = load_record(None, "head")
    except ClusterError:
        raise ClusterError(f"no head started here: pass --dashboard http://HEAD:{DEFAULT_DASHBOARD_PORT}") from None
    if not rec.dashboard_url:
        raise ClusterError(
            "the head here was started with --no-dashboard: restart it with the dashboard "
            "(it needs the packages of Ray's 'default' extra) to list nodes or submit"
        )
    return rec.dashboard_url


def _running_tasks(url: str) -> dict[str, list[str]]:
    """node id -> the grid tasks running there. Best-effort: never hide the nodes behind it."""
    from ray.util.state import list_tasks

    running: dict[str, list[str]] = {}
    try:
        tasks = list_tasks(address=url, filters=[("state", "=", "RUNNING")], limit=10000, raise_on_missing_output=False)
        for t in tasks:
            if (t.name or "").startswith("grid:"):
                running.setdefault(t.node_id, []).append(t.name.removeprefix("grid:"))
    except Exception:
        pass
    return running


def list_grid_nodes(dashboard: str | None = None) -> list[dict]:
    """Every node the head knows (alive or dead): name, class, RAM, backend, alive, simulated, and the grid task it
    runs."""
    url = dashboard_address(dashboard)
    use_token_if_available()
    from ray.util.state import list_nodes

    try:
        nodes = list_nodes(address=url, detail=True, limit=10000, raise_on_missing_output=False)
    except Exception as e:
        advice = auth_advice(e)
        if advice:
            raise ClusterError(advice) from None
        raise
    running = _running_tasks(url)
    out = []
    for n in nodes:
        labels = n.labels or {}
        out.append(
            {
                "node_id": n.node_id,
                "node_ip": n.node_ip,
                "node_name": n.node_name,
                "role": labels.get("role", "head" if n.is_head_node else ""),
                "hw_class": labels.get("hw_class", ""),
                "chip": labels.get("chip", ""),
                "ram_gb": float(labels["ram_gb"]) if labels.get("ram_gb") else None,
                "backend": labels.get("backend", ""),
                "simulated": labels.get("simulated") == "true",
                "alive": n.state == "ALIVE",
                "running": running.get(n.node_id, []),
            }
        )
    return sorted(out, key=lambda d: (d["role"] != HEAD_ROLE, d["hw_class"], d["node_ip"]))
