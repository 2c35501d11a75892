"""agent.node_state: parsers over the formats pmset and nvidia-smi print, the live read here, sleep detection.

The pmset strings written inline below are SYNTHETIC (pmset's layout, for the states no capture shows: a throttled or
warned Mac, Low Power Mode on); the pmset outputs recorded on real Macs are tests/fixtures/macs/pmset/ (pasted by
users into issue threads; tests/fixtures/README.md names each thread), tested at the end. The nvidia-smi line has the
format of the recorded H200 query (tests/fixtures/linux/h200/nvidia_smi.txt: `--format=csv,noheader`)."""

from __future__ import annotations

from pathlib import Path

from agent import node_state as ns


def test_pmset_therm():
    assert ns.parse_pmset_therm("Note: No thermal warning level has been recorded\n")["thermal_pressure"] == "nominal"
    assert ns.parse_pmset_therm("CPU_Scheduler_Limit \t= 100\nCPU_Available_CPUs \t= 8\nCPU_Speed_Limit \t= 70\n") == {
        "thermal_pressure": "throttled-70%"
    }
    assert ns.parse_pmset_therm("Thermal warning level set to 2.\n")["thermal_pressure"] == "warning"
    assert ns.parse_pmset_therm("")["thermal_pressure"] is None


def test_darwin_thermal_pressure_level_from_notifyutil():
    """SYNTHETIC lines in notifyutil's "<name> <value>" layout (no capture recorded here): Apple silicon's pmset
    therm records nothing, so the level Darwin publishes (0-4, OSThermalPressureLevel) comes first."""
    name = ns.THERMAL_NOTIFICATION
    assert ns.parse_notifyutil_thermal(f"{name} 0\n") == {"thermal_pressure": "nominal"}
    assert ns.parse_notifyutil_thermal(f"{name} 2\n") == {"thermal_pressure": "heavy"}
    assert ns.parse_notifyutil_thermal(f"{name} 7\n") == {"thermal_pressure": "level-7"}  # a level Apple adds
    assert ns.parse_notifyutil_thermal("") == {"thermal_pressure": None}  # no notifyutil: pmset is read instead


def test_the_darwin_read_prefers_the_published_level_and_falls_back_to_pmset(monkeypatch):
    pmset_therm = (Path(__file__).parent / "fixtures/macs/pmset/therm-m1-pro-exelban-stats-749.txt").read_text()
    published = {"level": f"{ns.THERMAL_NOTIFICATION} 1\n"}

    def fake_run(cmd, timeout=10):
        if cmd[0] == "notifyutil":
            return published["level"]
        return pmset_therm if cmd == ["pmset", "-g", "therm"] else ""

    monkeypatch.setattr(ns.sys, "platform", "darwin")
    monkeypatch.setattr(ns, "_run", fake_run)
    assert ns.read()["thermal_pressure"] == "moderate"
    published["level"] = ""  # no notifyutil answer: pmset's recorded Apple-silicon output, which records nothing
    assert ns.read()["thermal_pressure"] == "nominal"


def test_pmset_batt_and_low_power():
    batt = "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=1234)\t43%; discharging; 3:12 remaining present: true\n"
    assert ns.parse_pmset_batt(batt) == {"power_source": "battery", "battery_pct": 43}
    assert ns.parse_pmset_batt("Now drawing from 'AC Power'\n") == {"power_source": "ac", "battery_pct": None}
    assert ns.parse_pmset_low_power("System-wide power settings:\nCurrently in use:\n lowpowermode         1\n") is True
    assert ns.parse_pmset_low_power(" lowpowermode         0\n") is False
    assert ns.parse_pmset_low_power("") is None


def test_nvidia_state():
    s = ns.parse_nvidia_state("34, 1980, 3201, 76.12, 0x0000000000000000\n")
    assert s == dict(
        gpu_temp_c=34.0,
        gpu_sm_clock_mhz=1980.0,
        gpu_mem_clock_mhz=3201.0,
        gpu_power_w=76.12,
        gpu_throttle_reasons="0x0000000000000000",
    )
    assert ns.parse_nvidia_state("[N/A], 1980, 3201, [N/A], [Not Supported]")["gpu_temp_c"] is None
    assert ns.parse_nvidia_state("") == {}


def test_linux_readers_and_sleep():
    assert ns.parse_loadavg("0.52 0.58 0.59 1/389 12345\n") == 0.52
    assert ns.parse_cpuinfo_mhz("cpu MHz\t\t: 2445.000\ncpu MHz\t\t: 2455.000\n") == 2450.0
    assert ns.slept_s(100.0, 99.5) == 0.0 and ns.slept_s(160.0, 100.0) == 60.0
    live = ns.read("cpu")
    assert live.get("load_avg_1m") is not None  # readable on any Linux


def test_recorded_dev_box_cpuinfo_has_a_frequency():
    from pathlib import Path

    text = (Path(__file__).parent / "fixtures" / "linux" / "epyc-2c-24gb" / "cpuinfo.txt").read_text()
    assert ns.parse_cpuinfo_mhz(text) is None or ns.parse_cpuinfo_mhz(text) > 100


def test_nvidia_state_on_the_recorded_h200_capture():
    """tests/fixtures/linux/h200/nvidia_smi_state.txt: bench/h200_node_truth.sh's query on the lent H200, 2026-12-02
    (bench/results/2026-12-02/h200-node-truth-lease2/), byte for byte."""
    from pathlib import Path

    text = (Path(__file__).parent / "fixtures" / "linux" / "h200" / "nvidia_smi_state.txt").read_text()
    assert ns.parse_nvidia_state(text) == dict(
        gpu_temp_c=35.0,
        gpu_sm_clock_mhz=345.0,
        gpu_mem_clock_mhz=3201.0,
        gpu_power_w=78.77,
        gpu_throttle_reasons="0x0000000000000001",  # GPU idle: the one reason an idle H200 reports
    )


# --- pmset outputs recorded on real Macs (user pastes in issue threads; tests/fixtures/README.md) ---------------------

PMSET = Path(__file__).parent / "fixtures" / "macs" / "pmset"


def test_pmset_therm_captures():
    # Apple silicon (M1 Pro, macOS 12.1, exelban/stats#749): three notes, no CPU_* keys at all
    apple = (PMSET / "therm-m1-pro-exelban-stats-749.txt").read_text()
    assert ns.parse_pmset_therm(apple) == {"thermal_pressure": "nominal"}
    # a 12-CPU Mac (prometheus/node_exporter#2031): the notes plus the last "CPU Power notify" block, tab-separated
    notify = (PMSET / "therm-12cpu-node-exporter-2031.txt").read_text()
    assert ns.parse_pmset_therm(notify) == {"thermal_pressure": "nominal"}
    # SYNTHETIC, derived from that capture with one value changed: the recorded tab layout still reads a throttle
    throttled = notify.replace("CPU_Speed_Limit \t= 100", "CPU_Speed_Limit \t= 70")
    assert throttled != notify and ns.parse_pmset_therm(throttled) == {"thermal_pressure": "throttled-70%"}


def test_pmset_batt_captures():
    on_battery = (PMSET / "batt-battery-spaceship-prompt-640.txt").read_text()  # tab before the percentage
    assert ns.parse_pmset_batt(on_battery) == {"power_source": "battery", "battery_pct": 95}
    on_ac = (PMSET / "batt-ac-mac-cli-69.txt").read_text()  # older macOS: no "(id=...)", spaces in the paste
    assert ns.parse_pmset_batt(on_ac) == {"power_source": "ac", "battery_pct": 84}


def test_pmset_g_captures():
    # Apple silicon MacBook Pro, macOS 12 (AlDente#603): lowpowermode 0 among annotated lines ("(sleep prevented by")
    apple = (PMSET / "g-apple-silicon-aldente-603.txt").read_text()
    assert ns.parse_pmset_low_power(apple) is False
    # macOS on a ThinkPad (x1c6-hackintosh#28), before Low Power Mode existed: no key -> unknown, never False
    assert ns.parse_pmset_low_power((PMSET / "g-hackintosh-x1c6-28.txt").read_text()) is None
    # SYNTHETIC: Macs with High Power Mode print `powermode` 0/1/2 instead (users' reports, alfredapp/low-power-mode-
    # workflow#4, jordibruin/cooldown#4; no pasted output): 2 is High Power, not low power
    assert ns.parse_pmset_low_power(" powermode            2\n") is False
    assert ns.parse_pmset_low_power(" powermode            1\n") is True
