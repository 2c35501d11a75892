"""Hardware probe: what machine a cell runs on, as a short stable class label plus the facts behind it.

Never imports mlx (the driver and `grid node join` import this module). MLX's recommended working set is read through a
subprocess (`python -m agent.adapter device-info`), and any failure there means "unknown" (None).

The parsers are pure functions in agent/probe_mac.py and agent/probe_linux.py, tested against outputs recorded on real
machines (tests/fixtures/); the record and the labels live in agent/hwclass.py. This module runs the commands, picks
the branch (any macOS, arm64 or not, takes the Mac branch: a Rosetta or Intel Mac is probed as a Mac and marked
unsupported) and applies simulation. Every name of the three modules is re-exported here. `python -m agent.hardware`
prints the probe as JSON.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys

from agent.hwclass import (  # noqa: F401 — re-exported
    BACKENDS,
    BANDWIDTH_GBPS,
    GIB,
    Hardware,
    _int_or_none,
    bandwidth_for,
    installed_gb,
    label_value,
    make_hw_class,
    short_chip,
)
from agent.probe_linux import (  # noqa: F401 — re-exported
    linux_hardware,
    parse_cpuinfo_model,
    parse_meminfo_bytes,
    parse_nvidia_smi,
)
from agent.probe_mac import (  # noqa: F401 — re-exported
    INTEL_ADVICE,
    ROSETTA_ADVICE,
    SYSCTL_KEYS,
    apple_hardware,
    core_split,
    parse_ioreg_gpu_cores,
    parse_sw_vers,
    parse_sysctl,
    parse_system_profiler_gpu,
    perf_levels,
    translation,
)
from grid.core.options import NodeOptions


def cuda_mlx_installed() -> bool:
    """mlx's CUDA backend ships as the `mlx-cuda-*` distribution (pip extra `mlx[cuda13]`)."""
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("mlx-cuda"):
            return True
    return False


# --- probing the live machine ----------------------------------------------------------------------------------------


def _run(cmd: list[str], timeout: float = 20) -> str:
    """stdout of a command, "" when it is missing or fails (sysctl exits 1 on an unknown key but prints the rest)."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def mlx_working_set_gb(timeout: float = 120) -> float | None:
    """MLX's recommended working set, from `python -m agent.adapter device-info` (a child, so this process never
    imports mlx). Any failure -> None."""
    out = _run([sys.executable, "-m", "agent.adapter", "device-info"], timeout=timeout)
    for line in reversed(out.strip().splitlines()):
        try:
            info = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(info, dict):
            for key in ("max_recommended_working_set_size", "working_set_bytes", "recommended_working_set_bytes"):
                if info.get(key):
                    return round(int(info[key]) / GIB, 2)
            if info.get("working_set_gb"):
                return float(info["working_set_gb"])
    return None


def _sysconf_ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def join_refusal(hw: Hardware) -> str | None:
    """Why this machine must not join as a node (`grid node join` refuses with it), None when it may."""
    return hw.unsupported or None


def usable_cpu_count() -> int:
    """The cores this process may run on (a taskset, cgroup cpuset or container limit), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # macOS has no sched_getaffinity
        return os.cpu_count() or 1


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def probe(device_info: bool = True, simulate: NodeOptions | None = None, mlx_device: str = "") -> Hardware:
    """Probe this machine. `device_info=False` skips the mlx subprocess (fast; working set stays None on a Mac).
    `mlx_device="cpu"` (RunOptions.mlx_device) describes the CPU even where a GPU exists: the cells will run there.
    `simulate` pretends a class, RAM or working set (`grid node join --simulate-*`); without it the GRID_HW_CLASS /
    GRID_RAM_GB / GRID_WORKING_SET_GB variables do (`grid node join` gives them to a simulated node's processes)."""
    hostname = socket.gethostname()
    if sys.platform == "darwin":  # arm64, Rosetta (x86_64 on Apple silicon) or an Intel Mac: all probed as a Mac
        native = platform.machine() == "arm64"
        hw = apple_hardware(
            _run(["sysctl", *SYSCTL_KEYS]),
            _run(["system_profiler", "SPDisplaysDataType", "-json"], timeout=60),
            _run(["ioreg", "-r", "-d", "1", "-c", "AGXAccelerator"]),
            _run(["sw_vers"]),
            hostname=hostname,
            working_set_gb=mlx_working_set_gb() if device_info and native else None,
            machine=platform.machine(),
            fallback_ram_bytes=_sysconf_ram_bytes(),
        )
    else:
        smi = _run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"])
        hw = linux_hardware(
            _read("/proc/cpuinfo"),
            _read("/proc/meminfo") or "MemTotal: 0 kB",
            smi,
            cuda_installed=bool(smi) and cuda_mlx_installed() and mlx_device.strip().lower() != "cpu",
            cpu_cores=usable_cpu_count(),
            os_version=platform.release(),
            hostname=hostname,
            model_id=_read("/sys/class/dmi/id/product_name").strip(),
        )
    return simulated(hw, simulate if simulate is not None else simulation_from_env())


# --- simulated hardware: tests (and demos on one box) make several "classes" of one machine ----------------------------

SIMULATION_ENV = {  # NodeOptions field -> the variable a simulated node's processes carry
    "simulate_hw_class": "GRID_HW_CLASS",
    "simulate_ram_gb": "GRID_RAM_GB",
    "simulate_working_set_gb": "GRID_WORKING_SET_GB",
}


def simulation_from_env() -> NodeOptions:
    """The simulation a node's environment asks for (read at call time, never at import)."""
    env = {name: os.environ.get(variable, "").strip() for name, variable in SIMULATION_ENV.items()}
    return NodeOptions(
        simulate_hw_class=env["simulate_hw_class"],
        simulate_ram_gb=float(env["simulate_ram_gb"]) if env["simulate_ram_gb"] else None,
        simulate_working_set_gb=float(env["simulate_working_set_gb"]) if env["simulate_working_set_gb"] else None,
    )


def simulated(hw: Hardware, options: NodeOptions) -> Hardware:
    """`hw` with the pretended class, RAM and working set applied, marked simulated; unchanged when none is asked."""
    changes: dict = {}
    if options.simulate_ram_gb:
        changes["ram_gb"] = float(options.simulate_ram_gb)
    if options.simulate_working_set_gb:
        changes["working_set_gb"] = float(options.simulate_working_set_gb)
    if options.simulate_hw_class.strip():
        changes["hw_class"] = label_value(options.simulate_hw_class)
    return dataclasses.replace(hw, simulated=True, **changes) if changes else hw


if __name__ == "__main__":
    print(json.dumps(probe(device_info="--no-device-info" not in sys.argv).to_dict(), indent=2))
