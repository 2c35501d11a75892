"""A real multi-node Ray "lab" on one machine for tests: a head and labelled nodes started through the `grid` CLI as
separate processes, each with its own temp dir, loopback IP (127.x.y.n) and free ports, torn down by PID.

Never `ray stop` (host-wide: it would kill other engineers' clusters and tests).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRID = str(Path(sys.executable).parent / "grid")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_env(root: Path, ray_tmp: Path, auth: bool = False) -> dict:
    """The lab machines' environment. With auth, as a lab has it: RAY_AUTH_MODE unset, the token only in the file
    `grid head start` writes under this lab's own HOME (never the engineer's ~/.ray)."""
    env = dict(os.environ)
    env.update(
        RAY_USAGE_STATS_ENABLED="0",
        RAY_TMPDIR=str(ray_tmp),
        GRID_CACHE=str(root / "cache"),
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    for key in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(key, None)
    if auth:
        (root / "home").mkdir(exist_ok=True)
        env["HOME"] = str(root / "home")
    else:
        env["RAY_AUTH_MODE"] = "disabled"
    return env


class Lab:
    def __init__(self, root: Path, node_timeout_s: float = 6, auth: bool = False):
        self.root = root
        self.auth = auth
        # short: Ray's unix sockets live under it and Linux caps socket paths at 107 bytes (pytest's tmp is too deep)
        self.ray_tmp = Path(tempfile.mkdtemp(prefix="gl", dir="/tmp"))
        self.env = lab_env(root, self.ray_tmp, auth)
        self.port, self.dashboard_port, self.client_port = free_port(), free_port(), free_port()
        self.subnet = f"127.{random.randint(20, 250)}.{random.randint(1, 250)}"
        self.node_timeout_s = node_timeout_s
        self.address = ""
        self.nodes: dict[str, dict] = {}  # name -> {ip, hw_class, supervisor Popen | None}
        self._next_ip = 2

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def grid(self, *args: str, env: dict | None = None, timeout: float = 240, check: bool = True):
        proc = subprocess.run(
            [GRID, *args], env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"grid {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def start_head(self) -> None:
        self.grid(
            "head",
            "start",
            f"--port={self.port}",
            f"--dashboard-port={self.dashboard_port}",
            *([] if self.auth else ["--no-auth"]),
            "--num-cpus=0",
            "--object-store-memory=80000000",
            f"--node-timeout={self.node_timeout_s}",
            f"--ray-client-server-port={self.client_port}",
            f"--dashboard-agent-listen-port={free_port()}",
        )
        rec = json.loads((self.root / "cache" / "nodes" / "head.json").read_text())
        self.address = rec["address"]

    def _join_args(self, name: str, ip: str, hw_class: str, ram_gb: float | None = None) -> list[str]:
        """`grid node join` of a node that pretends to be `hw_class` (with `ram_gb` of RAM): labels say simulated."""
        return [
            "node",
            "join",
            self.address,
            f"--name={name}",
            f"--node-ip-address={ip}",
            *([] if self.auth else ["--no-auth"]),
            "--num-cpus=1",
            "--object-store-memory=80000000",
            f"--dashboard-agent-listen-port={free_port()}",
            "--no-device-info",
            f"--simulate-class={hw_class}",
            *([f"--simulate-ram-gb={ram_gb}"] if ram_gb else []),
        ]

    def add_node(
        self, name: str, hw_class: str, ram_gb: float | None = None, supervise: bool = False, wait: bool = True
    ) -> str:
        ip = f"{self.subnet}.{self._next_ip}"
        self._next_ip += 1
        self.nodes[name] = {"ip": ip, "hw_class": hw_class, "supervisor": None}
        if supervise:
            log = open(self.root / f"supervise-{name}.log", "w")
            self.nodes[name]["supervisor"] = subprocess.Popen(
                [GRID, *self._join_args(name, ip, hw_class, ram_gb), "--supervise"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            if wait:
                self.wait_joined([name])
        else:
            self.grid(*self._join_args(name, ip, hw_class, ram_gb))
        return ip

    def wait_joined(self, names: list[str], timeout: float = 420) -> None:
        self.wait_for(lambda: all(self.node_ids(n) for n in names), timeout, f"{', '.join(names)} to join")

    def add_nodes(self, specs: list[tuple[str, str, float | None]]) -> None:
        """Join several (name, hw_class, ram_gb) nodes at once: `ray start` is mostly waiting, so in parallel."""
        procs = []
        for name, hw_class, ram_gb in specs:
            ip = f"{self.subnet}.{self._next_ip}"
            self._next_ip += 1
            self.nodes[name] = {"ip": ip, "hw_class": hw_class, "supervisor": None}
            procs.append(
                (
                    name,
                    subprocess.Popen(
                        [GRID, *self._join_args(name, ip, hw_class, ram_gb)],
                        env=self.env,
                        text=True,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                    ),
                )
            )
        for name, proc in procs:
            out, _ = proc.communicate(timeout=420)  # a loaded 2-core box can need a retry or two
            assert proc.returncode == 0, f"join {name} failed:\n{out}"

    def label_of(self) -> dict[str, str]:
        """node_id -> hw_class label, over every node the head has seen (alive or dead)."""
        return {n["node_id"]: n["hw_class"] for n in self.nodes_json()}

    def nodes_json(self, cli: bool = False) -> list[dict]:
        """The head's node list: through `grid nodes --json` (a process, ~3 s) or in-process (fast, for polling)."""
        if cli or self.auth:  # with auth only the lab's processes hold the token, never the test process
            return json.loads(self.grid("nodes", "--json", f"--dashboard={self.dashboard}").stdout)
        from grid.lab.cluster import list_grid_nodes

        return list_grid_nodes(self.dashboard)

    def node_ids(self, name: str, alive: bool = True) -> list[str]:
        ip = self.nodes[name]["ip"]
        return [n["node_id"] for n in self.nodes_json() if n["node_ip"] == ip and n["alive"] == alive]

    def raylet_pid(self, name: str) -> int:
        from grid.lab.node_processes import _is_raylet, node_processes

        procs = [p for p in node_processes(self._temp_dir(name)) if _is_raylet(p)]
        assert procs, f"no raylet for {name}"
        return procs[0].pid

    def _temp_dir(self, name: str) -> str:
        return str(Path(self.env["RAY_TMPDIR"]) / "grid" / name)

    @staticmethod
    def wait_for(predicate, timeout: float, what: str):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def teardown(self) -> None:
        from grid.lab.node_processes import kill_processes, node_processes

        sups = [n["supervisor"] for n in self.nodes.values() if n["supervisor"] is not None]
        for sup in sups:  # supervisors first, so none rejoins while its node is being stopped
            if sup.poll() is None:
                sup.terminate()
        for sup in sups:
            try:
                sup.wait(20)
            except subprocess.TimeoutExpired:
                sup.kill()
        grid_dir = Path(self.env["RAY_TMPDIR"]) / "grid"
        procs = [p for d in (sorted(grid_dir.iterdir()) if grid_dir.exists() else []) for p in node_processes(str(d))]
        kill_processes(procs)  # all nodes at once: one grace period, not one per node
        shutil.rmtree(self.ray_tmp, ignore_errors=True)
