"""Node state per cell: what the node's OS says about its condition while a cell runs, as row columns.

Read by the runner (the node's worker process, never the measuring child) with each drift-sentinel reading after
cells (agent.sentinel: after each cell of seconds, after a batch of short ones), from whatever the platform offers
without root:
- Linux: 1-minute load average (/proc/loadavg), current CPU frequency (cpufreq scaling_cur_freq, else /proc/cpuinfo
  "cpu MHz": mean over cores), the hottest thermal zone (/sys/class/thermal/thermal_zone*/temp; none on many VMs).
- macOS: the thermal pressure level Darwin publishes (`notifyutil -g com.apple.system.thermalpressurelevel`, the
  level behind ProcessInfo.thermalState, no root), else `pmset -g therm` (CPU_Speed_Limit, thermal / performance
  warning); `pmset -g batt` (power source, battery %), `pmset -g` (lowpowermode). The node is kept awake with `caffeinate -ims -w <worker pid>` (keep_awake).
- NVIDIA: `nvidia-smi --query-gpu=temperature.gpu,clocks.sm,clocks.mem,power.draw,clocks_throttle_reasons.active`.
- Everywhere: a sleep inside a cell (wall clock advancing past the monotonic clock, which stops while the machine
  sleeps on macOS and Linux) -> the slept_s column.

The parsers are pure (tests/test_node_state.py), tested on pmset outputs pasted from real Macs into issue threads
(tests/fixtures/macs/pmset/) and on the recorded H200 nvidia-smi query. No capture shows a throttled or warned
`pmset -g therm`, `lowpowermode 1` or the `powermode` key, so those branches follow the documented layout only. On
Apple silicon the recorded `pmset -g therm` is three "Note: No ... has been recorded" lines: "nominal" there means pmset
recorded no warning; whether it ever reports one on Apple silicon is not shown by any capture (tests/fixtures/README.md),
which is why the notification's level comes first. Its `notifyutil` output ("<name> <level>") has no recorded capture
here either: its parser is tested on synthetic lines (marked so), following other projects' parsers of it.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import sys
import time

SLEEP_GAP_S = 2.0  # wall minus monotonic beyond this inside one cell = the machine slept


# --- pure parsers ------------------------------------------------------------------------------------------------


def parse_loadavg(text: str) -> float | None:
    try:
        return float(text.split()[0])
    except (IndexError, ValueError):
        return None


def parse_cpuinfo_mhz(text: str) -> float | None:
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text or "", re.MULTILINE)]
    return round(sum(mhz) / len(mhz), 1) if mhz else None


def parse_pmset_therm(text: str) -> dict:
    """`pmset -g therm`: "No thermal warning level has been recorded" / "Thermal warning level set to N." and
    "CPU_Speed_Limit = 100" lines (older Intel Macs). -> thermal_pressure: nominal | warning | throttled-N% | None."""
    t = text or ""
    limit = re.search(r"CPU_Speed_Limit\s*=\s*(\d+)", t)
    if limit and int(limit.group(1)) < 100:
        return {"thermal_pressure": f"throttled-{limit.group(1)}%"}
    if re.search(r"(?i)thermal warning level set to|performance warning level set to", t):
        return {"thermal_pressure": "warning"}
    if re.search(r"(?i)no thermal warning level has been recorded", t) or limit:
        return {"thermal_pressure": "nominal"}
    return {"thermal_pressure": None}


THERMAL_NOTIFICATION = "com.apple.system.thermalpressurelevel"
# OSThermalPressureLevel (<libkern/OSThermalNotification.h>)
THERMAL_LEVELS = {0: "nominal", 1: "moderate", 2: "heavy", 3: "trapping", 4: "sleeping"}


def parse_notifyutil_thermal(text: str) -> dict:
    """`notifyutil -g com.apple.system.thermalpressurelevel` -> "com.apple.system.thermalpressurelevel 2" ->
    thermal_pressure: nominal | moderate | heavy | trapping | sleeping (level-N for a level Apple adds), else None."""
    m = re.search(rf"{re.escape(THERMAL_NOTIFICATION)}\s+(\d+)", text or "")
    if not m:
        return {"thermal_pressure": None}
    level = int(m.group(1))
    return {"thermal_pressure": THERMAL_LEVELS.get(level, f"level-{level}")}


def parse_pmset_batt(text: str) -> dict:
    """`pmset -g batt`: "Now drawing from 'AC Power'" then " -InternalBattery-0 (id=...)\\t87%; charging; ..."."""
    t = text or ""
    src = re.search(r"drawing from '([^']+)'", t)
    pct = re.search(r"(\d{1,3})%;", t)
    source = None
    if src:
        source = {"AC Power": "ac", "Battery Power": "battery", "UPS Power": "ups"}.get(src.group(1), src.group(1))
    return {"power_source": source, "battery_pct": int(pct.group(1)) if pct else None}


def parse_pmset_low_power(text: str) -> bool | None:
    """`pmset -g` lists " lowpowermode 1" (macOS 12+; "powermode 1" on some Macs) while Low Power Mode is on."""
    m = re.search(r"^\s*(?:lowpowermode|powermode)\s+(\d)", text or "", re.MULTILINE)
    return (m.group(1) == "1") if m else None


NVIDIA_QUERY = "temperature.gpu,clocks.sm,clocks.mem,power.draw,clocks_throttle_reasons.active"


def parse_nvidia_state(text: str) -> dict:
    """First GPU of `nvidia-smi --query-gpu=<NVIDIA_QUERY> --format=csv,noheader,nounits`, e.g.
    `34, 1980, 3201, 76.12, 0x0000000000000000`. "[N/A]" or "[Not Supported]" -> None."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < 5:
        return {}

    def num(s: str) -> float | None:
        try:
            return float(s)
        except ValueError:
            return None

    throttle = parts[4] if parts[4].startswith("0x") else None
    return dict(
        gpu_temp_c=num(parts[0]),
        gpu_sm_clock_mhz=num(parts[1]),
        gpu_mem_clock_mhz=num(parts[2]),
        gpu_power_w=num(parts[3]),
        gpu_throttle_reasons=throttle,
    )


def slept_s(wall_s: float, monotonic_s: float) -> float:
    """Seconds the machine slept inside a window (0 when it did not)."""
    gap = wall_s - monotonic_s
    return round(gap, 3) if gap > SLEEP_GAP_S else 0.0


# --- reading the live node ---------------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _run(cmd: list[str], timeout: float = 10) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def linux_cpu_freq_mhz(root: str = "/sys/devices/system/cpu") -> float | None:
    khz = []
    for p in glob.glob(f"{root}/cpu[0-9]*/cpufreq/scaling_cur_freq"):
        try:
            khz.append(int(_read(p)))
        except ValueError:
            pass
    if khz:
        return round(sum(khz) / len(khz) / 1e3, 1)
    return parse_cpuinfo_mhz(_read("/proc/cpuinfo"))


def linux_max_thermal_c(root: str = "/sys/class/thermal") -> float | None:
    temps = []
    for p in glob.glob(f"{root}/thermal_zone*/temp"):
        try:
            temps.append(int(_read(p)) / 1e3)
        except ValueError:
            pass
    return max(temps) if temps else None


def read(backend: str = "") -> dict:
    """The node-state columns now. Every reading that fails is None; never raises."""
    out: dict = {}
    try:
        if sys.platform.startswith("linux"):
            out.update(
                load_avg_1m=parse_loadavg(_read("/proc/loadavg")),
                cpu_freq_mhz=linux_cpu_freq_mhz(),
                thermal_max_c=linux_max_thermal_c(),
            )
        elif sys.platform == "darwin":
            import os

            out["load_avg_1m"] = round(os.getloadavg()[0], 2)
            therm = parse_notifyutil_thermal(_run(["notifyutil", "-g", THERMAL_NOTIFICATION]))
            if therm["thermal_pressure"] is None:  # no notifyutil (or no level published): pmset's view
                therm = parse_pmset_therm(_run(["pmset", "-g", "therm"]))
            out.update(therm)
            out.update(parse_pmset_batt(_run(["pmset", "-g", "batt"])))
            out["low_power_mode"] = parse_pmset_low_power(_run(["pmset", "-g"]))
        if backend == "cuda" and shutil.which("nvidia-smi"):
            out.update(
                parse_nvidia_state(_run(["nvidia-smi", f"--query-gpu={NVIDIA_QUERY}", "--format=csv,noheader,nounits"]))
            )
    except Exception:  # noqa: BLE001 — node state is context, never a reason for a cell to fail
        pass
    return out


class Clock:
    """Wall and monotonic clocks together, to tell a sleep inside a cell."""

    def __init__(self) -> None:
        self.wall, self.mono = time.time(), time.monotonic()

    def slept_s(self) -> float:
        return slept_s(time.time() - self.wall, time.monotonic() - self.mono)


_CAFFEINATE: subprocess.Popen | None = None


def keep_awake() -> bool:
    """macOS: `caffeinate -ims -w <this pid>` once per worker process (it exits with the process). Elsewhere no-op."""
    global _CAFFEINATE
    if sys.platform != "darwin" or not shutil.which("caffeinate"):
        return False
    if _CAFFEINATE is None or _CAFFEINATE.poll() is not None:
        import os

        try:
            _CAFFEINATE = subprocess.Popen(["caffeinate", "-ims", "-w", str(os.getpid())])
        except OSError:
            return False
    return True
