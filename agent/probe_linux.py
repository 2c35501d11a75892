"""Pure parsers over what a Linux box prints (/proc/cpuinfo, /proc/meminfo, nvidia-smi), and the Hardware they make.

Tested against outputs recorded on the dev box and the lent H200 (tests/fixtures/linux/). Nothing here runs a command.
"""

from __future__ import annotations

import math
import platform
import re

from agent.hwclass import GIB, Hardware, bandwidth_for, installed_gb, make_hw_class


def parse_cpuinfo_model(text: str) -> str:
    """CPU model from /proc/cpuinfo (`model name` on x86, `Model`/`CPU part` fall-backs on ARM)."""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{re.escape(key)}\s*:\s*(.+)$", text, re.MULTILINE)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return platform.processor() or platform.machine()


def parse_meminfo_bytes(text: str) -> int:
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    if not m:
        raise ValueError("no MemTotal line in /proc/meminfo")
    return int(m.group(1)) * 1024


def parse_nvidia_smi(text: str) -> list[tuple[str, int]]:
    """`nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` -> [(name, MiB)], e.g. `NVIDIA H200, 143771 MiB`."""
    gpus = []
    for line in text.splitlines():
        name, sep, mem = line.rpartition(",")
        m = re.match(r"\s*(\d+)\s*MiB", mem)
        if sep and m:
            gpus.append((name.strip(), int(m.group(1))))
    return gpus


def linux_hardware(
    cpuinfo_text: str,
    meminfo_text: str,
    nvidia_smi_text: str | None,
    cuda_installed: bool,
    cpu_cores: int,
    os_version: str = "",
    hostname: str = "",
    model_id: str = "",
) -> Hardware:
    cpu = parse_cpuinfo_model(cpuinfo_text)
    ram_gb = parse_meminfo_bytes(meminfo_text) / GIB
    gpus = parse_nvidia_smi(nvidia_smi_text or "")
    common = dict(
        ram_gb=round(ram_gb, 2),
        perf_cores=None,
        eff_cores=None,
        cpu_cores=cpu_cores,
        model_id=model_id,
        os_name="Linux",
        os_version=os_version,
        hostname=hostname,
    )
    if gpus and cuda_installed:
        name, mib = gpus[0]  # mlx uses device 0
        # nvidia-smi reports usable MiB (H200: 143771 MiB = 140.4 GiB); rounding up gives the size on the box (141 GB)
        gpu_gb = math.ceil(mib / 1024)
        return Hardware(
            hw_class=make_hw_class(name, None, gpu_gb),
            chip=name,
            gpu_cores=None,
            backend="cuda",
            bandwidth_gbps=bandwidth_for(name, None),
            working_set_gb=round(mib / 1024, 2),
            **common,
        )
    return Hardware(
        hw_class=make_hw_class(cpu, cpu_cores, installed_gb(ram_gb)),
        chip=cpu,
        gpu_cores=None,
        backend="cpu",
        bandwidth_gbps=bandwidth_for(cpu, None),
        working_set_gb=None,
        **common,
    )
