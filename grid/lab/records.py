"""What grid remembers about the Ray nodes it started on this machine: one JSON record per node under
`$GRID_CACHE/nodes/<name>.json` (its temp dir, address, labels, supervisor), so `leave` finds exactly its processes."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grid.core.errors import GridError
from grid.core.files import atomic_write_text


class ClusterError(GridError, RuntimeError):
    """A user-facing problem forming or reading a lab (one line of advice)."""


@dataclass
class NodeRecord:
    name: str
    role: str  # head | node
    temp_dir: str
    address: str  # GCS address, host:port
    node_ip: str | None = None
    dashboard_url: str | None = None
    hw_class: str | None = None
    labels: dict = field(default_factory=dict)
    supervisor_pid: int | None = None
    auth: bool = True
    started_at: float = field(default_factory=time.time)


def state_dir() -> Path:
    root = Path(os.environ.get("GRID_CACHE") or Path.home() / ".cache" / "grid")
    return root / "nodes"


def record_path(name: str) -> Path:
    return state_dir() / f"{name}.json"


def save_record(rec: NodeRecord) -> None:
    atomic_write_text(record_path(rec.name), json.dumps(asdict(rec), indent=2))


def load_records() -> list[NodeRecord]:
    out = []
    for p in sorted(state_dir().glob("*.json")):
        try:
            out.append(NodeRecord(**json.loads(p.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return out


def load_record(name: str | None, role: str | None = None) -> NodeRecord:
    recs = [r for r in load_records() if role is None or r.role == role]
    if name:
        recs = [r for r in recs if r.name == name]
    if not recs:
        raise ClusterError(f"no {role or 'node'} {name or ''} started by grid on this machine (records: {state_dir()})")
    if len(recs) > 1:
        raise ClusterError(f"several nodes here ({', '.join(r.name for r in recs)}): name one")
    return recs[0]
