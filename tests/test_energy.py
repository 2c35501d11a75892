"""agent.energy: the row columns from measured windows, the RAPL reader over a sysfs-shaped folder (counter wrap),
NVML through a stand-in module, and the n/a reason on this box. No recorded IOReport / NVML output with a citable
source was found: the NVML and IOReport backends are untested against captures (the H200 run measures NVML for real)."""

from __future__ import annotations

import sys
import types

import pytest

from agent import energy


def test_columns_subtract_idle_and_divide_by_tokens():
    e = energy.TrialEnergy(source="nvml", idle_power_w=80.0, trial_j=[600.0, 580.0, 620.0], trial_s=[1.0, 1.0, 1.0])
    cols = energy.columns(e, [128, 128, 128])
    assert cols["energy_j"] == pytest.approx(520.0)  # median gross 600 - 80 W x 1 s
    assert cols["avg_power_w"] == pytest.approx(600.0)
    assert cols["energy_per_token_j"] == pytest.approx(520.0 / 128)
    assert cols["idle_power_w"] == 80.0 and cols["energy_source"] == "nvml" and cols["energy_na_reason"] is None
    assert cols["trial_energy_j"] == [600.0, 580.0, 620.0]


def test_columns_na_and_no_baseline():
    na = energy.columns(energy.TrialEnergy(na_reason="rapl: OSError: no package domain"), [4])
    assert na["energy_source"] == "n/a" and "rapl" in na["energy_na_reason"] and "energy_j" not in na
    gross = energy.columns(energy.TrialEnergy(source="rapl", trial_j=[10.0], trial_s=[2.0]), [5])
    assert gross["energy_j"] == 10.0 and "no idle baseline" in gross["energy_na_reason"]
    assert energy.columns(None, [])["energy_source"] == "n/a"


def _domain(root, name, uj, max_uj):
    d = root / name
    d.mkdir()
    (d / "energy_uj").write_text(f"{uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return d


def test_rapl_sums_package_domains_and_handles_a_wrap(tmp_path):
    pkg0 = _domain(tmp_path, "intel-rapl:0", 1_000_000, 10_000_000)
    pkg1 = _domain(tmp_path, "intel-rapl:1", 9_500_000, 10_000_000)
    _domain(tmp_path, "intel-rapl:0:0", 5, 10_000_000)  # a subdomain (core): inside its package, not added
    meter = energy.RaplMeter(str(tmp_path))
    start = meter.read_j()
    (pkg0 / "energy_uj").write_text("3000000\n")  # +2 J
    (pkg1 / "energy_uj").write_text("500000\n")  # wrapped: +1 J
    assert meter.delta_j(start, meter.read_j()) == pytest.approx(3.0)


def test_nvml_meter_through_a_stand_in_module(monkeypatch):
    counter = {"mj": 1_000_000}
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: ("gpu", i),
        nvmlDeviceGetTotalEnergyConsumption=lambda h: counter["mj"],
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    probe = energy.EnergyProbe.__new__(energy.EnergyProbe)
    probe.meter, probe.na_reason, probe.idle_power_w = energy.NvmlMeter(), "", None
    joules, seconds = probe.window(lambda: counter.update(mj=counter["mj"] + 57_400))
    assert joules == pytest.approx(57.4) and seconds >= 0


def test_this_box_says_why_energy_is_na():
    meter, reason = energy.open_meter("cpu")
    if meter is None:
        assert reason and ("rapl" in reason or "no energy backend" in reason)
    else:  # a box with readable RAPL
        assert meter.source == "rapl"


def test_ioreport_joules_follow_zeus_metrics_and_find_the_cpu_without_a_cpu_energy_channel():
    """SYNTHETIC values in zeus-apple-silicon 1.1.0's AppleEnergyMetrics layout (every field optional, per-core and
    per-cluster fields are lists of mJ): no recorded IOReport window exists here (tests/fixtures/README.md)."""
    from types import SimpleNamespace

    from agent.energy import ioreport_joules

    full = SimpleNamespace(cpu_total_mj=4000, efficiency_cluster_mj=[500], performance_cluster_mj=[3400],
                           gpu_mj=9000, dram_mj=700, ane_mj=None)  # fmt: skip
    assert ioreport_joules(full) == 13.7  # CPU Energy wins over the clusters; no ANE channel counts 0
    no_cpu_channel = SimpleNamespace(cpu_total_mj=None, efficiency_cluster_mj=[500, 300], performance_cluster_mj=[3400],
                                     efficiency_cores_mj=[100, 100], gpu_mj=9000, dram_mj=700)  # fmt: skip
    assert ioreport_joules(no_cpu_channel) == 13.9  # clusters: 4.2 J of CPU
    cores_only = SimpleNamespace(cpu_total_mj=None, efficiency_cores_mj=[100, 100], performance_cores_mj=[1000],
                                 gpu_mj=None)  # fmt: skip
    assert ioreport_joules(cores_only) == 1.2
    assert ioreport_joules(SimpleNamespace()) == 0.0
