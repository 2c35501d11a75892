"""Energy per trial: a cumulative energy counter read around each timed trial, in the child, on the node.

Backends, first readable wins (`open_meter`):
- "nvml"   NVIDIA: nvmlDeviceGetTotalEnergyConsumption (mJ since the driver loaded; nvidia-ml-py / pynvml), device 0 —
           the GPU mlx runs on. The counter updates about every 100 ms (../shared/notes/device-mlx-cuda.md): a trial
           shorter than ~1 s reads coarsely; sums over trials are fine.
- "rapl"   Linux: /sys/class/powercap/intel-rapl:N/energy_uj (package domains; AMD exposes them through the same
           driver), wraps at max_energy_range_uj. Often root-only since CVE-2020-8694: unreadable -> the next backend.
- "ioreport" Apple silicon: the zeus-apple-silicon package (IOReport, no root). NOT tested against a recorded output:
           none with a citable source was found. Written to its API as zeus-apple-silicon 1.1.0's source defines it
           (bindings/energy_bindings.hpp: AppleEnergyMonitor.begin_window(key) / end_window(key) ->
           AppleEnergyMetrics, every field optional); reports its error as the n/a reason when that API differs.
- else n/a, with the reason (which counters were looked for and why each was unusable).

Figures (grid.core.rows via `columns`): per trial, gross J over the trial's wall window (the generate call: processor
+ vision + prefill + decode); the idle baseline (W, measured on the node over IDLE_WINDOW_S right after load, nothing
of grid running) × the trial's seconds is subtracted; energy_j, avg_power_w (gross) and energy_per_token_j (net J /
generated tokens) are medians over trials; idle_power_w is recorded apart. Never imports mlx.
"""

from __future__ import annotations

import glob
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

IDLE_WINDOW_S = 1.0


class Meter:
    source = "n/a"

    def read_j(self) -> float:  # cumulative joules; monotonic except for a counter wrap, handled by delta_j
        raise NotImplementedError

    def delta_j(self, start: float, end: float) -> float:
        return end - start

    def close(self) -> None:
        pass


class NvmlMeter(Meter):
    source = "nvml"

    def __init__(self, index: int = 0):
        import pynvml  # nvidia-ml-py

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        self.read_j()  # raises NVMLError_NotSupported on GPUs without the counter (pre-Volta)

    def read_j(self) -> float:
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1e3

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


class RaplMeter(Meter):
    source = "rapl"

    def __init__(self, root: str = "/sys/class/powercap"):
        # package domains only (intel-rapl:0, :1 ...), not their subdomains (intel-rapl:0:0 = core, counted inside)
        self.paths = sorted(p for p in glob.glob(f"{root}/intel-rapl:*") if p.count(":") == 1)
        if not self.paths:
            raise OSError(f"no {root}/intel-rapl:* package domain")
        self.ranges = [int(_read(f"{p}/max_energy_range_uj") or 0) for p in self.paths]
        self._last = [self._uj(p) for p in self.paths]  # raises PermissionError when root-only
        self._acc = [0.0] * len(self.paths)

    @staticmethod
    def _uj(path: str) -> int:
        with open(f"{path}/energy_uj") as f:
            return int(f.read())

    def read_j(self) -> float:
        # accumulate deltas so a wrap inside a window is corrected per domain
        total = 0.0
        for i, p in enumerate(self.paths):
            now = self._uj(p)
            d = now - self._last[i]
            if d < 0:
                d += self.ranges[i]
            self._acc[i] += d / 1e6
            self._last[i] = now
            total += self._acc[i]
        return total


class IOReportMeter(Meter):
    """zeus-apple-silicon: AppleEnergyMonitor().begin_window(name) / end_window(name) -> mJ per component."""

    source = "ioreport"

    def __init__(self):
        from zeus_apple_silicon import AppleEnergyMonitor

        self._mon = AppleEnergyMonitor()
        self._n = 0

    def window(self):
        self._n += 1
        name = f"grid-{self._n}"
        self._mon.begin_window(name)
        return name

    def end(self, name: str) -> float:
        return ioreport_joules(self._mon.end_window(name))


def ioreport_joules(m) -> float:
    """J of one AppleEnergyMetrics window: CPU + GPU + DRAM + ANE. zeus fills cpu_total_mj only where IOReport has a
    "CPU Energy" channel; where it has none, the CPU is its clusters' sum (each cluster includes its cores), else the
    cores'. Missing fields count 0 (a Mac without an ANE channel)."""

    def total(*names: str) -> int | None:
        values = [getattr(m, n, None) for n in names]
        values = [sum(v) if isinstance(v, list) else v for v in values if v is not None]
        return sum(values) if values else None

    cpu = getattr(m, "cpu_total_mj", None)
    if cpu is None:
        cpu = total("efficiency_cluster_mj", "performance_cluster_mj")
    if cpu is None:
        cpu = total("efficiency_cores_mj", "performance_cores_mj")
    return ((cpu or 0) + (total("gpu_mj", "dram_mj", "ane_mj") or 0)) / 1e3


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def open_meter(backend: str = "") -> tuple[Meter | None, str]:
    """(meter, "") or (None, why no counter is usable here). `backend` ("cpu", "cuda", "metal") orders the tries."""
    reasons: list[str] = []
    tries: list[tuple[str, type[Meter]]] = []
    if sys.platform.startswith("linux"):
        if backend != "cpu":  # cells forced onto the CPU of a GPU box: the GPU's counter is not the cell's energy
            tries.append(("nvml", NvmlMeter))
        tries.append(("rapl", RaplMeter))
    elif sys.platform == "darwin":
        tries.append(("ioreport", IOReportMeter))
    for name, cls in tries:
        try:
            return cls(), ""
        except Exception as exc:  # noqa: BLE001 — every failure is a reason for the row
            reasons.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
    if not tries:
        reasons.append(f"no energy backend for {sys.platform}")
    return None, "; ".join(reasons)


@dataclass
class TrialEnergy:
    """What the child measured: per trial, gross joules and the window's seconds; the idle baseline; the source."""

    source: str = "n/a"
    na_reason: str = ""
    idle_power_w: float | None = None
    trial_j: list[float] = field(default_factory=list)
    trial_s: list[float] = field(default_factory=list)


class EnergyProbe:
    """The child's meter: opened once, an idle baseline after load, a window around each trial."""

    def __init__(self, backend: str = ""):
        self.meter, self.na_reason = open_meter(backend)
        self.idle_power_w: float | None = None

    @property
    def source(self) -> str:
        return self.meter.source if self.meter is not None else "n/a"

    def measure_idle(self, seconds: float = IDLE_WINDOW_S) -> float | None:
        if self.meter is None:
            return None
        try:
            j, s = self.window(lambda: time.sleep(seconds))
        except Exception as exc:  # noqa: BLE001
            self.na_reason = f"idle baseline: {type(exc).__name__}: {exc}"[:200]
            return None
        self.idle_power_w = j / s if s > 0 else None
        return self.idle_power_w

    def window(self, fn):
        """(gross joules, seconds) over fn(); fn's result is dropped (the caller keeps it via a closure)."""
        meter = self.meter
        if isinstance(meter, IOReportMeter):
            name = meter.window()
            t0 = time.perf_counter()
            fn()
            s = time.perf_counter() - t0
            return meter.end(name), s
        e0, t0 = meter.read_j(), time.perf_counter()
        fn()
        s = time.perf_counter() - t0
        return meter.delta_j(e0, meter.read_j()), s


def columns(energy: TrialEnergy | None, generation_tokens: list[int]) -> dict:
    """energy_j (net, median per trial), avg_power_w (gross), energy_per_token_j (net / tokens), idle_power_w,
    energy_source, energy_na_reason, trial_energy_j (gross, raw)."""
    if energy is None:
        return dict(energy_source="n/a", energy_na_reason="no energy reading came back from the child")
    out = dict(
        energy_source=energy.source,
        energy_na_reason=energy.na_reason or None,
        idle_power_w=round(energy.idle_power_w, 3) if energy.idle_power_w is not None else None,
        trial_energy_j=[round(j, 4) for j in energy.trial_j],
    )
    if not energy.trial_j:
        if energy.source == "n/a" and not energy.na_reason:
            out["energy_na_reason"] = "no energy counter"
        return out
    idle = energy.idle_power_w or 0.0
    net = [max(j - idle * s, 0.0) for j, s in zip(energy.trial_j, energy.trial_s)]
    power = [j / s for j, s in zip(energy.trial_j, energy.trial_s) if s > 0]
    per_token = [n / t for n, t in zip(net, generation_tokens) if t]
    out.update(
        energy_j=round(statistics.median(net), 4),
        avg_power_w=round(statistics.median(power), 3) if power else None,
        energy_per_token_j=round(statistics.median(per_token), 6) if per_token else None,
    )
    if energy.idle_power_w is None:
        out["energy_na_reason"] = (out.get("energy_na_reason") or "") + " (no idle baseline: gross energy)"
    return out


def rapl_readable(root: str = "/sys/class/powercap") -> bool:
    return any(os.access(f"{p}/energy_uj", os.R_OK) for p in glob.glob(f"{root}/intel-rapl:*"))
