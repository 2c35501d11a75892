"""Pure parsers over what a Mac's commands print (sysctl, system_profiler, ioreg, sw_vers), and the Hardware they make.

Tested against recorded outputs (tests/fixtures/macs/, provenance in tests/fixtures/README.md). Nothing here runs a
command: agent/hardware.py does, and passes the text in.

- A failed or partial `sysctl` (a key missing, the command absent) gives "unknown" fields, never an exception.
- Core kinds come from `hw.perflevelN.name` ("Performance", "Efficiency"; the M5 names its levels "Super" and
  "Efficiency", the M5 Max "Super" and "Performance" with no efficiency level, Intel Macs and VMs one "Standard" level;
  all recorded): perflevel0 is the fastest level, not necessarily "performance".
- `sysctl.proc_translated: 1` means this Python runs under Rosetta 2 (x86_64 on Apple silicon); an Intel Mac prints 0 or
  nothing. A translated process also sees `hw.optional.arm64: 1`, and its brand string may be the real chip's (the
  recorded macOS 12 one says "Apple M1"), so the brand never decides. MLX needs a native arm64 Python on macOS: either
  case is marked `unsupported` with advice.
"""

from __future__ import annotations

import json
import re

from agent.hwclass import GIB, Hardware, _int_or_none, bandwidth_for, make_hw_class

SYSCTL_KEYS = (
    "machdep.cpu.brand_string",
    "hw.memsize",
    "hw.model",
    "hw.ncpu",
    "hw.physicalcpu",
    "hw.nperflevels",
    "hw.perflevel0.name",
    "hw.perflevel0.physicalcpu",
    "hw.perflevel1.name",
    "hw.perflevel1.physicalcpu",
    "hw.perflevel2.name",
    "hw.perflevel2.physicalcpu",
    "sysctl.proc_translated",
    "hw.optional.arm64",
)

ROSETTA_ADVICE = (
    "this Python runs under Rosetta 2 (x86_64 translated on Apple silicon); MLX needs a native arm64 Python: "
    "install an arm64 Python (python.org universal2 installer, or `arch -arm64 /usr/bin/python3 -m venv .venv`), "
    "check `python3 -c 'import platform; print(platform.machine())'` prints arm64, then join again"
)
INTEL_ADVICE = "an Intel Mac: MLX runs only on Apple silicon (arm64) under macOS; this machine cannot be a grid node"


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl name1 name2 ...` prints `name: value` per line (unknown keys go to stderr; the rest still print)."""
    out = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


def perf_levels(sysctl: dict[str, str]) -> list[tuple[str, int | None]]:
    """[(name, physical cores)] per `hw.perflevelN`, fastest first; names default to "" when not printed."""
    levels = []
    count = _int_or_none(sysctl.get("hw.nperflevels"))
    for n in range(min(count, 8) if count is not None else 8):
        if count is None and f"hw.perflevel{n}.physicalcpu" not in sysctl:
            break
        name = sysctl.get(f"hw.perflevel{n}.name", "").strip().strip('"')
        levels.append((name, _int_or_none(sysctl.get(f"hw.perflevel{n}.physicalcpu"))))
    return levels


def core_split(sysctl: dict[str, str]) -> tuple[int | None, int | None]:
    """(performance-class cores, efficiency cores). A level named like "Efficiency"/"E-Core" is efficiency, every other
    named level (Performance, Super, ...) performance. Without any names (older macOS) the historical layout holds:
    level 0 performance, level 1 efficiency."""
    levels = perf_levels(sysctl)
    if not levels:
        return None, None
    if not any(name for name, _ in levels):
        perf = levels[0][1]
        eff = levels[1][1] if len(levels) > 1 else 0
        return perf, eff
    perf = eff = 0
    for name, cores in levels:
        if cores is None:
            continue
        if re.match(r"(?i)e(fficiency)?\b|e-core", name):
            eff += cores
        else:
            perf += cores
    return perf, eff


def translation(sysctl: dict[str, str], machine: str) -> str:
    """ "native" (arm64), "rosetta" (x86_64 translated on Apple silicon), "intel" (an x86_64 Mac) or "unknown"."""
    translated = sysctl.get("sysctl.proc_translated")
    if translated == "1":
        return "rosetta"
    if machine == "arm64":
        return "native"
    if machine == "x86_64":
        return "rosetta" if sysctl.get("hw.optional.arm64") == "1" else "intel"
    return "unknown"


def parse_system_profiler_gpu(text: str) -> tuple[str | None, int | None]:
    """(GPU name, GPU cores) from `system_profiler SPDisplaysDataType -json`; Apple GPUs carry `sppci_cores`."""
    try:
        entries = json.loads(text).get("SPDisplaysDataType", [])
    except (json.JSONDecodeError, AttributeError, TypeError):
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
    m = re.search(r'"gpu-core-count"\s*=\s*(\d+)', text or "")
    return int(m.group(1)) if m else None


def parse_sw_vers(text: str) -> tuple[str, str]:
    """`sw_vers` prints `ProductName:\\t\\tmacOS` / `ProductVersion:\\t\\t15.1.1` / `BuildVersion: ...`."""
    fields = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields.get("ProductName", "macOS"), fields.get("ProductVersion", "")


def apple_hardware(
    sysctl_text: str,
    system_profiler_json: str,
    ioreg_text: str,
    sw_vers_text: str,
    hostname: str = "",
    working_set_gb: float | None = None,
    machine: str = "arm64",
    fallback_ram_bytes: int | None = None,
) -> Hardware:
    """A Mac's Hardware. `machine` is platform.machine() of this Python (x86_64 under Rosetta or on an Intel Mac);
    `fallback_ram_bytes` (os.sysconf) stands in when sysctl gave no hw.memsize."""
    sysctl = parse_sysctl(sysctl_text)
    chip = sysctl.get("machdep.cpu.brand_string") or "unknown"
    memsize = _int_or_none(sysctl.get("hw.memsize")) or fallback_ram_bytes or 0
    ram_gb = memsize / GIB
    _, gpu_cores = parse_system_profiler_gpu(system_profiler_json)
    if gpu_cores is None:
        gpu_cores = parse_ioreg_gpu_cores(ioreg_text)
    perf, eff = core_split(sysctl)
    cpu_cores = (
        _int_or_none(sysctl.get("hw.physicalcpu")) or _int_or_none(sysctl.get("hw.ncpu")) or (perf or 0) + (eff or 0)
    )
    os_name, os_version = parse_sw_vers(sw_vers_text)
    kind = translation(sysctl, machine)
    unsupported = {"rosetta": ROSETTA_ADVICE, "intel": INTEL_ADVICE}.get(kind, "")
    if "VirtualApple" in chip:  # a brand string reported for translated processes (no capture here): never a node
        unsupported = unsupported or ROSETTA_ADVICE
    return Hardware(
        hw_class=make_hw_class(chip, gpu_cores, round(ram_gb)) if chip != "unknown" or ram_gb else "unknown",
        chip=chip,
        ram_gb=round(ram_gb, 2),
        gpu_cores=gpu_cores,
        perf_cores=perf,
        eff_cores=eff,
        cpu_cores=cpu_cores,
        model_id=sysctl.get("hw.model", ""),
        os_name=os_name,
        os_version=os_version,
        backend="metal" if not unsupported else "cpu",
        bandwidth_gbps=bandwidth_for(chip, gpu_cores),
        working_set_gb=working_set_gb,
        hostname=hostname,
        unsupported=unsupported,
    )
