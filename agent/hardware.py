"""Hardware probe: what machine a cell runs on, as a short stable class label plus the facts behind it.

Never imports mlx (the driver and `grid node join` import this module). MLX's recommended working set is read through a
subprocess (`python -m agent.adapter device-info`), and any failure there means "unknown" (None).

The parsers are pure functions over the text the system commands print, so they are tested against outputs recorded on
real Macs and Linux/NVIDIA machines (tests/fixtures/). `python -m agent.hardware` prints the probe as JSON.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
from dataclasses import dataclass

from grid.core.options import NodeOptions

GIB = 1024**3

# Peak memory bandwidth in GB/s, keyed by chip (brand string without "Apple ") and, where one chip name ships with
# different memory buses, by GPU cores. Figures from Apple's newsroom / tech-spec pages of each chip's launch
# (support.apple.com/specs, apple.com/newsroom: "M1 Pro and M1 Max" 2021-10, "M2" 2022-06, "M3 family" 2023-10,
# "M4 Pro and M4 Max" 2024-10, "M3 Ultra" 2025-03, "M5" 2025-10) and NVIDIA's H100 / H200 data sheets
# (nvidia.com/en-us/data-center/h100, /h200). M1: LPDDR4X-4266 on a 128-bit bus = 68.25 GB/s.
# M3 Max with the 30-core GPU has a 384-bit bus (300 GB/s), the 40-core one 512-bit (400 GB/s); M4 Max likewise
# 32-core 410 GB/s, 40-core 546 GB/s. H100 is the SXM figure (PCIe cards: 2000 GB/s).
BANDWIDTH_GBPS: dict[str, float | dict[int, float]] = {
    "M1": 68.25,
    "M1 Pro": 200.0,
    "M1 Max": 400.0,
    "M1 Ultra": 800.0,
    "M2": 100.0,
    "M2 Pro": 200.0,
    "M2 Max": 400.0,
    "M2 Ultra": 800.0,
    "M3": 100.0,
    "M3 Pro": 150.0,
    "M3 Max": {30: 300.0, 40: 400.0},
    "M3 Ultra": 819.0,
    "M4": 120.0,
    "M4 Pro": 273.0,
    "M4 Max": {32: 410.0, 40: 546.0},
    "M5": 153.0,
    "H100": 3350.0,
    "H100 PCIe": 2000.0,
    "H200": 4800.0,
}

BACKENDS = ("metal", "cuda", "cpu")


@dataclass(frozen=True)
class Hardware:
    hw_class: str  # short label, no spaces (Ray label selectors reject them): M4-Max-40c-128GB, EPYC-2c-24GB
    chip: str  # Apple chip ("Apple M4 Max"), CPU model, or GPU name when the backend is cuda
    ram_gb: float  # host RAM in GiB
    gpu_cores: int | None
    perf_cores: int | None
    eff_cores: int | None
    cpu_cores: int
    model_id: str  # hw.model on a Mac ("Mac16,5"); DMI product name or "" on Linux
    os_name: str
    os_version: str
    backend: str  # metal | cuda | cpu
    bandwidth_gbps: float | None
    working_set_gb: float | None  # memory the accelerator may use: Metal's recommended working set, GPU memory on cuda
    hostname: str
    simulated: bool = False  # class, RAM or working set pretended (grid node join --simulate-*), not probed

    def labels(self) -> dict[str, str]:
        """Ray node labels for this machine (values must match Ray's label syntax, hence label_value)."""
        labels = {
            "hw_class": label_value(self.hw_class),
            "chip": label_value(short_chip(self.chip)),
            "ram_gb": str(round(self.ram_gb)),
            "gpu_cores": str(self.gpu_cores or 0),
            "backend": self.backend,
        }
        if self.working_set_gb:  # the driver's memory-fit check reads it from the node's labels
            labels["working_set_gb"] = f"{self.working_set_gb:.1f}"
        if self.simulated:
            labels["simulated"] = "true"
        return labels

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- pure parsers over recorded command output -----------------------------------------------------------------------


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl name1 name2 ...` prints `name: value` per line."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


def parse_system_profiler_gpu(text: str) -> tuple[str | None, int | None]:
    """(GPU name, GPU cores) from `system_profiler SPDisplaysDataType -json`; Apple GPUs carry `sppci_cores`."""
    try:
        entries = json.loads(text).get("SPDisplaysDataType", [])
    except (json.JSONDecodeError, AttributeError):
        return None, None
    for gpu in entries:
        cores = gpu.get("sppci_cores")
        name = gpu.get("sppci_model") or gpu.get("_name")
        if cores is not None:
            try:
                return name, int(str(cores).strip())
            except ValueError:
                return name, None
    return (entries[0].get("sppci_model") if entries else None), None


def parse_ioreg_gpu_cores(text: str) -> int | None:
    """`ioreg -l` (AGXAccelerator entry) carries `"gpu-core-count" = 40`."""
    m = re.search(r'"gpu-core-count"\s*=\s*(\d+)', text)
    return int(m.group(1)) if m else None


def parse_sw_vers(text: str) -> tuple[str, str]:
    """`sw_vers` prints `ProductName:\\t\\tmacOS` / `ProductVersion:\\t\\t15.1.1` / `BuildVersion: ...`."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields.get("ProductName", "macOS"), fields.get("ProductVersion", "")


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


# --- labels and tables -----------------------------------------------------------------------------------------------


def short_chip(chip: str) -> str:
    """ "Apple M4 Max" -> "M4 Max"; "NVIDIA H200" -> "H200"; "AMD EPYC 7763 64-Core Processor" -> "EPYC 7763"."""
    s = re.sub(r"\((R|TM|tm|r)\)", "", chip)
    s = re.sub(r"@.*$", "", s)  # clock speed
    s = re.sub(r"\b\d+-Core\b|\bProcessor\b|\bCPU\b", "", s)
    s = re.sub(r"^\s*(Apple|NVIDIA|AMD|Intel|GenuineIntel|AuthenticAMD)\b", "", s)
    s = re.sub(r"^\s*(GeForce|Tesla)\b", r"\1", s)
    return " ".join(s.split()) or chip.strip()


def label_value(text: str) -> str:
    """Make a Ray label value: [A-Za-z0-9._-], starting and ending alphanumeric, at most 63 characters."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip())
    s = re.sub(r"-{2,}", "-", s)
    s = s[:63].strip("-._")
    return s or "unknown"


def bandwidth_for(chip: str, gpu_cores: int | None) -> float | None:
    """Spec peak bandwidth for a chip; a chip sold with several buses needs its GPU core count (else None)."""
    key = short_chip(chip)
    if key not in BANDWIDTH_GBPS and key.split(" ")[0] in ("H100", "H200") and "PCIe" not in key:
        key = key.split(" ")[0]  # "H200 NVL", "H100 80GB HBM3" -> the SXM figure
    entry = BANDWIDTH_GBPS.get(key)
    if isinstance(entry, dict):
        return entry.get(gpu_cores) if gpu_cores is not None else None
    return entry


def make_hw_class(chip: str, cores: int | None, memory_gb: int) -> str:
    """`M4-Max-40c-128GB` (GPU cores on a Mac, CPU cores on a CPU box), `H200-141GB` (GPU memory)."""
    parts = [short_chip(chip)] + ([f"{cores}c"] if cores else []) + [f"{memory_gb}GB"]
    return label_value("-".join(parts))


def cuda_mlx_installed() -> bool:
    """mlx's CUDA backend ships as the `mlx-cuda-*` distribution (pip extra `mlx[cuda13]`)."""
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("mlx-cuda"):
            return True
    return False


# --- assembling a Hardware from command output (pure, so fixtures can drive it) ---------------------------------------


def apple_hardware(
    sysctl_text: str,
    system_profiler_json: str,
    ioreg_text: str,
    sw_vers_text: str,
    hostname: str = "",
    working_set_gb: float | None = None,
) -> Hardware:
    sysctl = parse_sysctl(sysctl_text)
    chip = sysctl.get("machdep.cpu.brand_string", "Apple Silicon")
    ram_gb = int(sysctl["hw.memsize"]) / GIB
    _, gpu_cores = parse_system_profiler_gpu(system_profiler_json)
    if gpu_cores is None:
        gpu_cores = parse_ioreg_gpu_cores(ioreg_text)
    perf = _int_or_none(sysctl.get("hw.perflevel0.physicalcpu"))
    eff = _int_or_none(sysctl.get("hw.perflevel1.physicalcpu"))
    cpu_cores = (
        _int_or_none(sysctl.get("hw.physicalcpu")) or _int_or_none(sysctl.get("hw.ncpu")) or (perf or 0) + (eff or 0)
    )
    os_name, os_version = parse_sw_vers(sw_vers_text)
    return Hardware(
        hw_class=make_hw_class(chip, gpu_cores, round(ram_gb)),
        chip=chip,
        ram_gb=round(ram_gb, 2),
        gpu_cores=gpu_cores,
        perf_cores=perf,
        eff_cores=eff,
        cpu_cores=cpu_cores,
        model_id=sysctl.get("hw.model", ""),
        os_name=os_name,
        os_version=os_version,
        backend="metal",
        bandwidth_gbps=bandwidth_for(chip, gpu_cores),
        working_set_gb=working_set_gb,
        hostname=hostname,
    )


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


# Sizes RAM is sold in. MemTotal excludes firmware and kernel reservations (a 24 GB box shows 23.5 GiB, a 128 GiB VM
# 125.9 GiB), so the label uses the smallest sold size at most 8% above MemTotal; otherwise plain rounding.
_SOLD_SIZES_GB = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)


def installed_gb(memtotal_gib: float) -> int:
    for size in _SOLD_SIZES_GB:
        if memtotal_gib <= size <= memtotal_gib * 1.08:
            return size
    return round(memtotal_gib)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --- probing the live machine ----------------------------------------------------------------------------------------

SYSCTL_KEYS = (
    "machdep.cpu.brand_string",
    "hw.memsize",
    "hw.model",
    "hw.ncpu",
    "hw.physicalcpu",
    "hw.perflevel0.physicalcpu",
    "hw.perflevel1.physicalcpu",
)


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


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def probe(device_info: bool = True, simulate: NodeOptions | None = None) -> Hardware:
    """Probe this machine. `device_info=False` skips the mlx subprocess (fast; working set stays None on a Mac).
    `simulate` pretends a class, RAM or working set (`grid node join --simulate-*`); without it the GRID_HW_CLASS /
    GRID_RAM_GB / GRID_WORKING_SET_GB variables do (`grid node join` gives them to a simulated node's processes)."""
    hostname = socket.gethostname()
    if sys.platform == "darwin" and platform.machine() == "arm64":
        hw = apple_hardware(
            _run(["sysctl", *SYSCTL_KEYS]),
            _run(["system_profiler", "SPDisplaysDataType", "-json"], timeout=60),
            _run(["ioreg", "-r", "-d", "1", "-c", "AGXAccelerator"]),
            _run(["sw_vers"]),
            hostname=hostname,
            working_set_gb=mlx_working_set_gb() if device_info else None,
        )
    else:
        smi = _run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"])
        hw = linux_hardware(
            _read("/proc/cpuinfo"),
            _read("/proc/meminfo") or "MemTotal: 0 kB",
            smi,
            cuda_installed=bool(smi) and cuda_mlx_installed(),
            cpu_cores=os.cpu_count() or 1,
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
