"""Package environments on the cluster: each grid.core.environments.Environment becomes a Ray runtime_env, built on
every node that will run it before any cell does, so a build's time and outcome are recorded apart from every timer
and an environment that cannot be built becomes one `skipped` row per affected cell (EnvBuildError, the resolver's
own message), never a crashed run.

Ray builds a runtime_env once per node and caches it (keyed by its content), so a second run, a second group or a
bisect probe in the same environment starts at once. The installer is `uv` where the driver has it, else `pip`
(GRID_ENV_INSTALLER=pip|uv overrides). In a virtualenv, Ray's pip plugin clones the node's venv and installs only
the pins into the clone: pinning `mlx-vlm==0.7.9` installs just that (its other requirements are already met).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace

from grid.core import rows
from grid.core.environments import ENV_BUILD_ERROR, Environment, package_name, version_key
from grid.core.errors import GridError
from grid.core.plan import Cell
from grid.core.schema import ResultRow
from grid.core.status import Status
from grid.driver.connect import grid_nodes_safe, ray_module

BUILD_TIMEOUT_S = float(os.environ.get("GRID_ENV_BUILD_TIMEOUT_S", "600"))
FIX = "check the pins exist on the index (`pip index versions PKG`) and agree with each other; offline: prefetch --env"


def installer() -> str:
    choice = os.environ.get("GRID_ENV_INSTALLER", "").strip().lower()
    if choice in ("pip", "uv"):
        return choice
    return "uv" if shutil.which("uv") else "pip"


def runtime_env(env: Environment | None) -> dict | None:
    """The Ray runtime_env of an environment (None: the node's own)."""
    if env is None:
        return None
    if installer() == "uv":
        return {"uv": {"packages": list(env.packages)}}
    return {"pip": {"packages": list(env.packages), "pip_check": False}}


def resolver_message(text: str) -> str:
    """One line out of a RuntimeEnvSetupError: the installer's own error, without Ray's traceback around it."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    wanted = ("ERROR:", "error:", "No matching distribution", "ResolutionImpossible", "conflict", "Could not find")
    picked = [ln for ln in lines if any(w in ln for w in wanted) and "Traceback" not in ln]
    line = "; ".join(dict.fromkeys(picked)) if picked else (lines[-1] if lines else "runtime_env setup failed")
    line = re.sub(r"\(from versions: ([^)]*)\)", _versions_tail, line)
    return re.sub(r"\x1b\[[0-9;]*m", "", line)[:600]


def _versions_tail(m: re.Match) -> str:
    listed = [v.strip() for v in m.group(1).split(",") if v.strip()]
    return f"(index has {len(listed)} versions, newest {', '.join(listed[-3:])})" if listed else "(index has none)"


class IndexError_(GridError, ValueError):
    """The package index cannot list a package (unknown package, unreachable index): one line, exit code 2."""

    exit_code = 2


def index_versions(package: str, timeout_s: float = 120) -> list[str]:
    """Every version of `package` on the index, oldest first (pip's own index configuration)."""
    cmd = [sys.executable, "-m", "pip", "index", "versions", package, "--pre", "--disable-pip-version-check"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise IndexError_(f"the package index did not answer within {timeout_s:.0f} s for {package!r}") from None
    m = re.search(r"Available versions:\s*(.+)", out.stdout)
    if out.returncode != 0 or not m:
        lines = [ln for ln in (out.stderr + out.stdout).splitlines() if ln.startswith("ERROR")]
        raise IndexError_(f"cannot list versions of {package!r}: {(lines or ['no versions found'])[-1]}")
    return sorted((v.strip() for v in m.group(1).split(",") if v.strip()), key=version_key)


OFFLINE_ADVICE = (
    "the package index cannot be reached from here, so only environments already built on the node can run: build "
    "them ahead with `grid prefetch SUITE --env` while the index is reachable"
)


def index_reachable(listed: dict[str, list[str] | None]) -> bool:
    """Whether pip's index answers at all (it lists pip itself); asked once, remembered in `listed`."""
    if "pip" not in listed:
        try:
            listed["pip"] = index_versions("pip", timeout_s=60)
        except IndexError_:
            listed["pip"] = None
    return listed["pip"] is not None


def missing_pin(env: Environment, listed: dict[str, list[str] | None]) -> str | None:
    """An exact pin (`pkg==V`) whose version the index does not have, said before any build is tried. An index that
    cannot be asked says nothing here: Ray's build (or a prebuilt, cached environment) decides."""
    for pin in env.packages:
        name = package_name(pin)
        exact = re.fullmatch(r"[^=<>~!]+==\s*([A-Za-z0-9.+!_-]+)", pin.strip())
        if not exact:
            continue
        if name not in listed:
            try:
                listed[name] = index_versions(name, timeout_s=60)
            except IndexError_ as exc:
                # an index that cannot be reached says "No matching distribution" too: only one that lists pip itself
                # has really no such package
                if "No matching distribution" in str(exc) and index_reachable(listed):
                    return f"ERROR: no package {name!r} on the index"
                listed[name] = None
        versions = listed[name]
        if versions is not None and exact.group(1) not in versions:
            newest = ", ".join(versions[-3:])
            return f"ERROR: No matching distribution found for {pin} (index has {len(versions)}, newest {newest})"
    return None


@dataclass
class Build:
    """One environment on one node: how long it took (a cached one: about a worker start) and what it resolved."""

    env_id: str
    node_id: str
    hw_class: str
    seconds: float
    error: str = ""  # the resolver's message; "" when built
    versions: dict | None = None  # what the probe read inside the environment (agent.provenance.versions)


def _nodes_for(hw_class: str, node_id: str, nodes: list[dict]) -> list[dict]:
    if node_id:
        return [n for n in nodes if n["NodeID"] == node_id]
    return [n for n in nodes if not hw_class or (n.get("Labels") or {}).get("hw_class") == hw_class]


def build_on_nodes(pairs: list[tuple[Environment, dict]], timeout_s: float = BUILD_TIMEOUT_S) -> list[Build]:
    """Build each (environment, node) at once, all in parallel: a tiny probe task in the runtime_env, pinned to the
    node. A failed build (RuntimeEnvSetupError, a timeout) is a Build with its error, never an exception."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from agent.tasks import env_probe_task

    ray = ray_module()
    probe = ray.remote(env_probe_task)
    flights = {}
    for env, node in pairs:
        ref = probe.options(
            num_cpus=0,
            max_retries=0,
            runtime_env=runtime_env(env),
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            name=f"grid:env:{env.id}",
        ).remote()
        flights[ref] = (env, node, time.perf_counter())
    out: list[Build] = []
    pending = list(flights)
    deadline = time.perf_counter() + timeout_s
    while pending:
        ready, pending = ray.wait(pending, num_returns=1, timeout=max(deadline - time.perf_counter(), 0.0))
        if not ready:
            break
        for ref in ready:
            env, node, t0 = flights[ref]
            hw_class = (node.get("Labels") or {}).get("hw_class", "")
            try:
                got = ray.get(ref)
                out.append(Build(env.id, node["NodeID"], hw_class, time.perf_counter() - t0, versions=got))
            except Exception as exc:  # RuntimeEnvSetupError above all: the resolver's message is the row's
                out.append(Build(env.id, node["NodeID"], hw_class, time.perf_counter() - t0, resolver_message(exc)))
    for ref in pending:
        env, node, t0 = flights[ref]
        ray.cancel(ref, force=True)
        hw = (node.get("Labels") or {}).get("hw_class", "")
        out.append(Build(env.id, node["NodeID"], hw, timeout_s, f"environment not built within {timeout_s:.0f} s"))
    return out


def prepare(cells: list[Cell], nodes: list[dict] | None = None) -> tuple[list[Cell], list[ResultRow], list[Build]]:
    """Build every environment the cells use on every node that may run them. Returns the cells that can run (each
    carrying its environment's build seconds), a skipped row per cell whose environment failed on every node of its
    target, and the builds (for the manifest)."""
    if not any(c.environment is not None for c in cells):
        return cells, [], []
    nodes = grid_nodes_safe() if nodes is None else nodes
    wanted: dict[tuple[str, str, str], Environment] = {}
    for c in cells:
        if c.environment is not None:
            wanted[(c.env_id, c.hw_class, c.node_id)] = c.environment
    pairs = {
        (env.id, n["NodeID"]): (env, n) for (_, hw, nid), env in wanted.items() for n in _nodes_for(hw, nid, nodes)
    }
    listed: dict[str, list[str] | None] = {}
    missing = {e.id: missing_pin(e, listed) for e in {env.id: env for env in wanted.values()}.values()}
    builds = [Build(e.id, n["NodeID"], n["Labels"].get("hw_class", ""), 0.0, missing[e.id]) for e, n in pairs.values()]
    builds = [b for b in builds if b.error] + build_on_nodes([(e, n) for e, n in pairs.values() if not missing[e.id]])
    offline = any(v is None for v in listed.values()) and not index_reachable(listed)
    keep, skipped = [], []
    for c in cells:
        if c.environment is None:
            keep.append(c)
            continue
        mine = [b for b in builds if b.env_id == c.env_id and (b.node_id == c.node_id or not c.node_id)]
        mine = [b for b in mine if not c.hw_class or b.hw_class == c.hw_class]
        ok = [b for b in mine if not b.error]
        if ok:
            keep.append(replace(c, env_build_s=round(max(b.seconds for b in ok), 3)))
            continue
        message = mine[0].error if mine else "no node of the class to build the environment on"
        if mine and offline:  # say why it was not there, and what to do
            message = f"{message} ({OFFLINE_ADVICE})"
        skipped.append(skipped_row(c, message, mine[0].seconds if mine else None))
    return keep, skipped, builds


def skipped_row(cell: Cell, message: str, build_s: float | None) -> ResultRow:
    env = cell.environment
    text = f"environment {env.label if env else '?'} could not be built: {message}"
    return rows.driver_row(
        cell,
        Status.SKIPPED,
        ENV_BUILD_ERROR,
        text,
        FIX,
        error_package="environment",
        env_build_s=round(build_s, 3) if build_s is not None else None,
    )


def builds_manifest(builds: list[Build]) -> list[dict]:
    """The builds as the run's manifest keeps them."""
    return [
        {
            "env_id": b.env_id,
            "node_id": b.node_id,
            "hw_class": b.hw_class,
            "seconds": round(b.seconds, 3),
            "error": b.error,
        }
        for b in builds
    ]
