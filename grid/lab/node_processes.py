"""The processes of one Ray node started by grid, found by its --temp-dir (never by name) and stopped by PID.

`ray stop` kills every Ray process on the host by name, other people's clusters and tests included; grid gives each
node its own temp dir and stops exactly the processes whose command line names it, plus their children.
"""

from __future__ import annotations

import os
from pathlib import Path


def _psutil():
    """psutil as Ray vendors it: `import ray` first puts it on sys.path (an import sorter must not swap the two,
    hence import_module)."""
    import importlib

    import ray  # noqa: F401

    return importlib.import_module("psutil")


def node_processes(temp_dir: str) -> list:
    """Processes whose command line names this node's temp dir, plus all their descendants (dashboard modules,
    workers, agents)."""
    psutil = _psutil()
    marker = str(Path(temp_dir))
    roots = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
        except (psutil.Error, TypeError):
            continue
        argv = p.info["cmdline"] or []
        is_ray = any("/ray/" in a for a in argv[:3])  # Ray's binaries and scripts, never e.g. a supervising `grid`
        if is_ray and (marker + "/" in cmd or cmd.endswith("=" + marker) or f"={marker} " in cmd):
            roots.append(p)
    found = {p.pid: p for p in roots}
    for p in roots:
        try:
            for child in p.children(recursive=True):
                found.setdefault(child.pid, child)
        except psutil.Error:
            continue
    found.pop(os.getpid(), None)
    return list(found.values())


def _is_raylet(p) -> bool:
    try:
        return p.name() == "raylet" or any(part.endswith("/raylet") for part in p.cmdline()[:1])
    except Exception:
        return False


def _alive(p) -> bool:
    try:
        return p.is_running() and p.status() != "zombie"
    except Exception:
        return False


def kill_processes(procs: list, grace_s: float = 5.0) -> list[int]:
    """SIGTERM, wait, then SIGKILL what is left. Returns the PIDs signalled."""
    psutil = _psutil()
    pids = []
    for p in procs:
        try:
            p.terminate()
            pids.append(p.pid)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace_s)
    return pids
