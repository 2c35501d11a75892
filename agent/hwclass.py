"""What a probe produces: the Hardware record, the bandwidth table and the label helpers (no parsing, no commands).

Split out of agent/hardware.py so agent/probe_mac.py and agent/probe_linux.py (the pure parsers) and agent/hardware.py
(the live probe) share it without a cycle. agent.hardware re-exports every name here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from grid.core.hardware_table import BANDWIDTH_GBPS

GIB = 1024**3

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
    unsupported: str = ""  # why MLX cannot run here (Rosetta, Intel Mac), with advice; "" = supported

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
