"""A lab whose head and nodes live in their own Linux network namespaces ("hosts" with their own IPs), joined by a
bridge inside a private namespace, so one node can be partitioned by taking its link down (../shared/notes/ray.md §4).
Needs root / CAP_NET_ADMIN; `available()` says why not when it cannot be made.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab_cluster import GRID, free_port, lab_env


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def available() -> str | None:
    """None if namespaces can be made here, else the reason."""
    if not shutil.which("ip"):
        return "the `ip` command (iproute2) is not installed"
    name = f"gprobe{random.randint(0, 99999)}"
    proc = _ip("netns", "add", name, check=False)
    if proc.returncode != 0:
        return f"cannot create a network namespace: {proc.stderr.strip()}"
    try:
        bridge = _ip("-n", name, "link", "add", "br0", "type", "bridge", check=False)
        if bridge.returncode != 0:
            return f"cannot create a bridge in a namespace: {bridge.stderr.strip()}"
        veth = _ip("-n", name, "link", "add", "va", "type", "veth", "peer", "name", "vb", check=False)
        if veth.returncode != 0:
            return f"cannot create a veth pair: {veth.stderr.strip()}"
    finally:
        _ip("netns", "del", name, check=False)
    return None


class NetnsLab:
    def __init__(self, root: Path, node_timeout_s: float = 4):
        self.root = root
        self.ray_tmp = Path(tempfile.mkdtemp(prefix="gn", dir="/tmp"))
        self.env = lab_env(root, self.ray_tmp)
        self.tag = f"g{random.randint(1000, 9999)}"
        self.net = f"10.{random.randint(100, 250)}.{random.randint(1, 250)}"
        self.switch = f"{self.tag}-sw"
        self.hosts: dict[str, str] = {}  # name -> ip
        self.port, self.dashboard_port = free_port(), free_port()
        self.node_timeout_s = node_timeout_s

    def add_host(self, name: str) -> str:
        if not self.hosts:
            _ip("netns", "add", self.switch)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
        ns, ip = f"{self.tag}-{name}", f"{self.net}.{len(self.hosts) + 1}"
        veth = f"v{self.tag}{name}"[:15]
        _ip("netns", "add", ns)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("link", "set", veth, "netns", self.switch)
        _ip("-n", self.switch, "link", "set", veth, "master", "br0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        self.hosts[name] = ip
        return ip

    def partition(self, name: str, down: bool = True) -> None:
        _ip("-n", self.switch, "link", "set", f"v{self.tag}{name}"[:15], "down" if down else "up")

    def grid(self, host: str, *args: str, env: dict | None = None, timeout: float = 240, check: bool = True):
        proc = subprocess.run(
            ["ip", "netns", "exec", f"{self.tag}-{host}", GRID, *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"[{host}] grid {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def popen(self, host: str, *args: str, log: Path) -> subprocess.Popen:
        return subprocess.Popen(
            ["ip", "netns", "exec", f"{self.tag}-{host}", GRID, *args],
            env=self.env,
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
        )

    @property
    def address(self) -> str:
        return f"{self.hosts['head']}:{self.port}"

    @property
    def dashboard(self) -> str:
        return f"http://{self.hosts['head']}:{self.dashboard_port}"

    def start_head(self) -> None:
        ip = self.add_host("head")
        self.grid(
            "head",
            "head",
            "start",
            f"--port={self.port}",
            f"--node-ip-address={ip}",
            f"--dashboard-host={ip}",
            f"--dashboard-port={self.dashboard_port}",
            "--no-auth",
            "--num-cpus=0",
            "--object-store-memory=80000000",
            f"--node-timeout={self.node_timeout_s}",
        )

    def join(self, names: list[str], hw_class: str) -> None:
        """Join several hosts at once (each `ray start` is mostly waiting)."""
        procs = []
        for name in names:
            ip = self.add_host(name)
            procs.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        f"{self.tag}-{name}",
                        GRID,
                        "node",
                        "join",
                        self.address,
                        f"--name={name}",
                        f"--node-ip-address={ip}",
                        "--no-auth",
                        "--num-cpus=1",
                        "--object-store-memory=80000000",
                        "--no-device-info",
                    ],
                    env={**self.env, "GRID_HW_CLASS": hw_class},
                    text=True,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        for name, proc in zip(names, procs):
            out, _ = proc.communicate(timeout=240)
            assert proc.returncode == 0, f"join {name} failed:\n{out}"

    def nodes_json(self) -> list[dict]:
        return json.loads(self.grid("head", "nodes", "--json", f"--address={self.dashboard}").stdout)

    def teardown(self) -> None:
        from grid.lab.node_processes import kill_processes, node_processes

        grid_dir = self.ray_tmp / "grid"
        kill_processes(
            [p for d in (sorted(grid_dir.iterdir()) if grid_dir.exists() else []) for p in node_processes(str(d))]
        )  # all at once: one grace period
        for name in self.hosts:
            _ip("netns", "del", f"{self.tag}-{name}", check=False)
        if self.hosts:
            _ip("netns", "del", self.switch, check=False)
        shutil.rmtree(self.ray_tmp, ignore_errors=True)
