"""Forming a lab: start a Ray head, join labelled nodes, supervise them, leave (node records: records.py; `grid nodes`:
listing.py, both re-exported here).

Every node grid starts gets its own --temp-dir, and grid records it in `$GRID_CACHE/nodes/<name>.json`. Leaving kills
exactly the processes whose command line names that temp dir, and their children, by PID: `ray stop` is host-wide
and would also kill other clusters on the machine (other users' or tests').

Ray facts this relies on (../shared/notes/ray.md): labels + label_selector for placement, one `grid_slot` resource per
node so measurements never share a machine, token auth via RAY_AUTH_MODE=token and ~/.ray/auth_token, the Jobs API
needs the dashboard, a node marked dead exits its raylet by itself and never rejoins unless something restarts it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from agent.hardware import SIMULATION_ENV, Hardware, label_value
from grid.core.options import NodeOptions
from grid.driver.ray_auth import (  # noqa: F401  (re-exported: the lab's token helpers have always lived here)
    auth_advice,
    ensure_token,
    secure_token_file,
    token_path,
    token_sources,
    use_token_if_available,
)
from grid.lab.listing import DEFAULT_DASHBOARD_PORT, HEAD_ROLE, dashboard_address, list_grid_nodes  # noqa: F401
from grid.lab.node_processes import _alive, _is_raylet, _psutil, kill_processes, node_processes  # noqa: F401
from grid.lab.records import (  # noqa: F401  (re-exported)
    ClusterError,
    NodeRecord,
    load_record,
    load_records,
    record_path,
    save_record,
    state_dir,
)

GRID_SLOT = "grid_slot"
NODE_ROLE = "grid-node"
DEFAULT_PORT = 6379
NODE_OBJECT_STORE_BYTES = 256 * 1024**2


# --- starting Ray -------------------------------------------------------------------------------------------------------


def ray_executable() -> str:
    """The `ray` next to this Python (a venv's), so nodes run the same Ray version as grid."""
    candidate = Path(sys.executable).parent / "ray"
    found = str(candidate) if candidate.exists() else shutil.which("ray")
    if not found:
        raise ClusterError("the `ray` command is not installed: pip install 'ray[default]'")
    return found


def _env(auth: bool, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["RAY_AUTH_MODE"] = "token" if auth else "disabled"
    if sys.platform == "darwin":
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "1"  # Ray refuses multi-node on macOS without it
    # the job entrypoint's `python` is resolved with the head's PATH: put this Python's bin first (ray.md §2)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def _ray_start(args: list[str], env: dict, timeout: float = 180) -> str:
    cmd = [ray_executable(), "start", *args]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ClusterError(f"`ray start` did not finish in {timeout:.0f} s") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stdout + proc.stderr).strip().splitlines() if ln.strip()]
        cause = next((ln for ln in reversed(lines) if "Error" in ln or "error" in ln), lines[-1] if lines else "")
        raise ClusterError(f"`ray start` failed (exit {proc.returncode}): {cause.strip()}\n" + "\n".join(lines[-12:]))
    return proc.stdout + proc.stderr


def simulation_env(options: NodeOptions) -> dict[str, str]:
    """The variables that make every process of a simulated node (its Ray workers' probes) see the same hardware."""
    env = {}
    for name, variable in SIMULATION_ENV.items():
        value = getattr(options, name)
        if value is not None and str(value).strip():
            env[variable] = str(value).strip()
    return env


def default_temp_dir(name: str) -> str:
    # short: Ray puts unix sockets under it and macOS caps socket paths at 104 bytes
    return str(Path(os.environ.get("RAY_TMPDIR") or "/tmp") / "grid" / name)


# --- head -----------------------------------------------------------------------------------------------------------------


def start_head(
    *,
    port: int = DEFAULT_PORT,
    dashboard_host: str = "127.0.0.1",
    dashboard_port: int = DEFAULT_DASHBOARD_PORT,
    node_ip: str | None = None,
    auth: bool = True,
    num_cpus: int | None = None,
    object_store_memory: int | None = None,
    node_timeout_s: float = 30,
    name: str = "head",
    temp_dir: str | None = None,
    ray_client_server_port: int | None = None,
    autoscaling_config: str | None = None,
    dashboard_agent_port: int | None = None,
    dashboard: bool = True,
) -> NodeRecord:
    """`ray start --head` with the dashboard (the Jobs API lives there), no grid_slot and label role=grid-head so cells
    never land on it. node_timeout_s: how long a silent node takes to be marked dead (Ray's default is ~65 s).
    dashboard=False: a head on a machine with Ray's minimal install; `grid run --address` works there, submit does not."""
    temp_dir = temp_dir or default_temp_dir(name)
    if auth:
        ensure_token()
    threshold = max(2, round(node_timeout_s / 2))
    env = _env(
        auth,
        {
            "RAY_health_check_period_ms": "1000",
            "RAY_health_check_timeout_ms": "1000",
            "RAY_health_check_failure_threshold": str(threshold),
        },
    )
    args = head_args(
        port=port,
        dashboard_host=dashboard_host,
        dashboard_port=dashboard_port,
        temp_dir=temp_dir,
        node_ip=node_ip,
        num_cpus=num_cpus,
        object_store_memory=object_store_memory,
        ray_client_server_port=ray_client_server_port,
        autoscaling_config=autoscaling_config,
        dashboard_agent_port=dashboard_agent_port,
        dashboard=dashboard,
    )
    _ray_start(args, env)
    address = (Path(temp_dir) / "ray_current_cluster").read_text().strip()
    rec = NodeRecord(
        name=name,
        role="head",
        temp_dir=temp_dir,
        address=address,
        node_ip=address.rsplit(":", 1)[0],
        dashboard_url=f"http://{dashboard_host}:{dashboard_port}" if dashboard else None,
        auth=auth,
    )
    save_record(rec)
    return rec


def head_args(
    *,
    port: int,
    dashboard_host: str,
    dashboard_port: int,
    temp_dir: str,
    node_ip: str | None = None,
    num_cpus: int | None = None,
    object_store_memory: int | None = None,
    ray_client_server_port: int | None = None,
    autoscaling_config: str | None = None,
    dashboard_agent_port: int | None = None,
    dashboard: bool = True,
) -> list[str]:
    args = ["--head", f"--port={port}", f"--temp-dir={temp_dir}", f"--labels=role={HEAD_ROLE}"]
    if dashboard:
        args += ["--include-dashboard=true", f"--dashboard-host={dashboard_host}", f"--dashboard-port={dashboard_port}"]
    else:
        args.append("--include-dashboard=false")
    if node_ip:
        args.append(f"--node-ip-address={node_ip}")
    if num_cpus is not None:
        args.append(f"--num-cpus={num_cpus}")
    if object_store_memory:
        args.append(f"--object-store-memory={object_store_memory}")
    if ray_client_server_port:
        args.append(f"--ray-client-server-port={ray_client_server_port}")
    if dashboard_agent_port:  # default 52365: taken when another Ray runs on the host, and then the Jobs API fails
        args.append(f"--dashboard-agent-listen-port={dashboard_agent_port}")  # ("No available agent to submit job")
    if autoscaling_config:  # `ray up cluster.yaml`: the head's autoscaler starts the listed workers
        args.append(f"--autoscaling-config={os.path.expanduser(autoscaling_config)}")
    return args


# --- worker nodes ---------------------------------------------------------------------------------------------------------


def node_labels(hw: Hardware) -> dict[str, str]:
    return {**hw.labels(), "role": NODE_ROLE}


def join_args(
    address: str,
    hw: Hardware,
    temp_dir: str,
    *,
    node_ip: str | None = None,
    num_cpus: int | None = None,
    object_store_memory: int | None = None,
    dashboard_agent_port: int | None = None,
) -> list[str]:
    labels = ",".join(f"{k}={v}" for k, v in node_labels(hw).items())
    # no log monitor: grid drivers never stream worker logs (log_to_driver=False), and one Python process fewer per
    # node is less noise beside a benchmark (and no orphan after a raylet dies, ../shared/notes/ray.md §3)
    args = [
        f"--address={address}",
        f"--labels={labels}",
        f"--resources={json.dumps({GRID_SLOT: 1})}",
        f"--temp-dir={temp_dir}",
        "--include-log-monitor=false",
    ]
    if node_ip:
        args.append(f"--node-ip-address={node_ip}")
    if num_cpus is not None:
        args.append(f"--num-cpus={num_cpus}")
    # grid moves only rows and cells through the object store; Ray's default (30% of RAM) would take 2.4 GB from
    # an 8 GB Mac's benchmark
    args.append(f"--object-store-memory={object_store_memory or NODE_OBJECT_STORE_BYTES}")
    if dashboard_agent_port:  # default 52365 clashes when several nodes share one host (tests)
        args.append(f"--dashboard-agent-listen-port={dashboard_agent_port}")
    return args


def join(
    address: str,
    hw: Hardware,
    *,
    name: str | None = None,
    auth: bool = True,
    attempts: int = 3,
    simulate: NodeOptions | None = None,
    disk_budget: str | None = None,
    **kw,
) -> NodeRecord:
    """`ray start` this machine as a labelled node. `simulate`: the pretended hardware `hw` was probed with; the
    node's processes carry it too, so the rows its workers write say the same (and `simulated`). `disk_budget`
    ("200GB"): the node's processes get GRID_DISK_BUDGET (agent.disk keeps grid's downloads inside it)."""
    name = name or label_value(f"node-{socket.gethostname()}")
    temp_dir = kw.pop("temp_dir", None) or default_temp_dir(name)
    if any(p.is_running() for p in node_processes(temp_dir)):
        raise ClusterError(f"node {name} is already running here (temp dir {temp_dir}); `grid node leave {name}` first")
    env = _env(auth, simulation_env(simulate) if simulate is not None else None)
    if disk_budget:
        env["GRID_DISK_BUDGET"] = disk_budget
    for attempt in range(1, attempts + 1):
        try:
            _ray_start(join_args(address, hw, temp_dir, **kw), env, timeout=120)
            break
        except ClusterError:  # a busy head times out RPCs ("Deadline Exceeded"): clean up the half-start, retry
            kill_processes(node_processes(temp_dir))
            if attempt == attempts:
                raise
            time.sleep(2 * attempt)
    rec = NodeRecord(
        name=name,
        role="node",
        temp_dir=temp_dir,
        address=address,
        node_ip=kw.get("node_ip"),
        hw_class=hw.hw_class,
        labels=node_labels(hw),
        auth=auth,
    )
    save_record(rec)
    return rec


def supervise(
    address: str,
    hw: Hardware,
    *,
    name: str | None = None,
    auth: bool = True,
    poll_s: float = 2.0,
    retry_s: float = 5.0,
    max_rejoins: int | None = None,
    log=print,
    **kw,
) -> None:
    """Join, then rejoin whenever this node's raylet exits (Ray marks a partitioned or stalled node dead and its raylet
    exits for good once it can reach the GCS again). Ends on SIGTERM/SIGINT by leaving."""
    name = name or label_value(f"node-{socket.gethostname()}")
    temp_dir = kw.pop("temp_dir", None) or default_temp_dir(name)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    rejoins = 0
    try:
        while not stopping:
            raylet = next((p for p in node_processes(temp_dir) if _is_raylet(p) and _alive(p)), None)
            rec = _adoptable(name) if raylet is not None and rejoins == 0 else None
            if rec is not None:  # adopt a node joined just before (cluster.yaml does this)
                log(f"supervising the running node {name}")
            else:
                kill_processes(node_processes(temp_dir))  # orphans of the last life (log_monitor outlives its raylet)
                try:
                    rec = join(address, hw, name=name, auth=auth, temp_dir=temp_dir, **kw)
                except ClusterError as e:
                    log(f"join failed, retrying in {retry_s:.0f} s: {e}")
                    _sleep_unless(stopping, retry_s)
                    continue
                log(f"joined {address} as {name} ({hw.hw_class})")
                raylet = next((p for p in node_processes(temp_dir) if _is_raylet(p)), None)
            rec.supervisor_pid = os.getpid()
            save_record(rec)
            while not stopping and raylet is not None and _alive(raylet):
                time.sleep(poll_s)
            if stopping:
                break
            rejoins += 1
            log(f"raylet of {name} exited (node marked dead?); rejoining ({rejoins})")
            if max_rejoins is not None and rejoins > max_rejoins:
                break
            _sleep_unless(stopping, retry_s)
    finally:
        kill_processes(node_processes(temp_dir))


def _adoptable(name: str) -> NodeRecord | None:
    try:
        return load_record(name, "node")
    except ClusterError:
        return None


def _sleep_unless(stopping: list, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not stopping and time.monotonic() < end:
        time.sleep(0.2)


def leave(name: str | None = None, role: str | None = None) -> tuple[NodeRecord, list[int]]:
    """Stop this machine's node (or head) started by grid: its supervisor first (so it does not rejoin), then every
    process under its temp dir."""
    rec = load_record(name, role)
    psutil = _psutil()
    if rec.supervisor_pid and rec.supervisor_pid != os.getpid() and psutil.pid_exists(rec.supervisor_pid):
        try:
            sup = psutil.Process(rec.supervisor_pid)
            if "grid" in " ".join(sup.cmdline()) or "supervise" in " ".join(sup.cmdline()):
                sup.terminate()
                psutil.wait_procs([sup], timeout=15)
        except psutil.Error:
            pass
    procs = node_processes(rec.temp_dir)
    known = {p.pid for p in procs}
    procs += [p for p in log_holders(rec.temp_dir) if p.pid not in known]
    pids = kill_processes(procs)
    record_path(rec.name).unlink(missing_ok=True)
    return rec, pids


def log_holders(temp_dir: str) -> list:
    """Ray processes that name no temp dir on their command line but write their logs under it (the head's Ray client
    server: `python -m ray.util.client.server --address=GCS`, started by `ray start --head` and reparented to init),
    plus their descendants. Found by their open files, stopped by PID like the rest."""
    psutil = _psutil()
    marker = str(Path(temp_dir).resolve()) + "/"
    found = {}
    for p in psutil.process_iter(["pid", "cmdline"]):
        argv = p.info.get("cmdline") or []
        if p.pid == os.getpid() or not any("ray" in a for a in argv[:4]):
            continue
        try:
            if any(f.path.startswith(marker) for f in p.open_files()):
                found[p.pid] = p
                for child in p.children(recursive=True):
                    found.setdefault(child.pid, child)
        except psutil.Error:
            continue
    found.pop(os.getpid(), None)
    return list(found.values())
