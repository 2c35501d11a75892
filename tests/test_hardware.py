"""Hardware probe: parsers against recorded command outputs, class labels, bandwidth table, the live probe here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent import hardware as hw

FIXTURES = Path(__file__).parent / "fixtures"


def mac(name: str, **kw) -> hw.Hardware:
    d = FIXTURES / "macs" / name
    return hw.apple_hardware(
        (d / "sysctl.txt").read_text(),
        (d / "system_profiler_displays.json").read_text(),
        (d / "ioreg.txt").read_text(),
        (d / "sw_vers.txt").read_text(),
        hostname="lab-mac",
        **kw,
    )


@pytest.mark.parametrize(
    ("folder", "hw_class", "chip", "ram", "gpu", "perf", "eff", "model_id", "os_version", "bandwidth"),
    [
        ("m4-max-40c-128gb", "M4-Max-40c-128GB", "Apple M4 Max", 128, 40, 12, 4, "Mac16,5", "15.1.1", 546.0),
        ("m2-8c-8gb", "M2-8c-8GB", "Apple M2", 8, 8, 4, 4, "Mac14,2", "14.6.1", 100.0),
        ("m1-8c-16gb", "M1-8c-16GB", "Apple M1", 16, 8, 4, 4, "Macmini9,1", "13.6.7", 68.25),
        ("m3-pro-14c-18gb", "M3-Pro-14c-18GB", "Apple M3 Pro", 18, 14, 5, 6, "Mac15,6", "14.5", 150.0),
    ],
)
def test_recorded_macs(folder, hw_class, chip, ram, gpu, perf, eff, model_id, os_version, bandwidth):
    h = mac(folder, working_set_gb=ram * 0.75)
    assert (h.hw_class, h.chip, h.ram_gb, h.gpu_cores) == (hw_class, chip, ram, gpu)
    assert (h.perf_cores, h.eff_cores, h.cpu_cores) == (perf, eff, perf + eff)
    assert (h.model_id, h.os_name, h.os_version, h.backend) == (model_id, "macOS", os_version, "metal")
    assert h.bandwidth_gbps == bandwidth
    assert h.working_set_gb == ram * 0.75
    labels = h.labels()
    assert labels == {
        "hw_class": hw_class,
        "chip": chip.removeprefix("Apple ").replace(" ", "-"),
        "ram_gb": str(ram),
        "gpu_cores": str(gpu),
        "backend": "metal",
        "working_set_gb": f"{ram * 0.75:.1f}",
    }
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9]", v) for v in labels.values())


def test_gpu_cores_fall_back_to_ioreg_when_system_profiler_has_none():
    d = FIXTURES / "macs" / "m4-max-40c-128gb"
    sp = json.loads((d / "system_profiler_displays.json").read_text())
    del sp["SPDisplaysDataType"][0]["sppci_cores"]
    assert hw.parse_system_profiler_gpu(json.dumps(sp)) == ("Apple M4 Max", None)
    h = hw.apple_hardware(
        (d / "sysctl.txt").read_text(), json.dumps(sp), (d / "ioreg.txt").read_text(), (d / "sw_vers.txt").read_text()
    )
    assert h.gpu_cores == 40 and h.hw_class == "M4-Max-40c-128GB"


def test_max_chips_need_gpu_cores_for_bandwidth():
    assert hw.bandwidth_for("Apple M4 Max", 32) == 410.0
    assert hw.bandwidth_for("Apple M3 Max", 30) == 300.0
    assert hw.bandwidth_for("Apple M3 Max", 40) == 400.0
    assert hw.bandwidth_for("Apple M4 Max", None) is None  # ambiguous without the core count
    assert hw.bandwidth_for("Apple M3 Ultra", 80) == 819.0
    assert hw.bandwidth_for("AMD EPYC", None) is None
    assert hw.bandwidth_for("NVIDIA H200 NVL", None) == 4800.0
    assert hw.bandwidth_for("NVIDIA H100 80GB HBM3", None) == 3350.0


def test_recorded_h200_with_mlx_cuda_is_a_cuda_class():
    d = FIXTURES / "linux" / "h200"
    args = ((d / "cpuinfo.txt").read_text(), (d / "meminfo.txt").read_text(), (d / "nvidia_smi.txt").read_text())
    assert hw.parse_nvidia_smi(args[2]) == [("NVIDIA H200", 143771)]
    h = hw.linux_hardware(*args, cuda_installed=True, cpu_cores=16)
    assert (h.hw_class, h.chip, h.backend, h.bandwidth_gbps) == ("H200-141GB", "NVIDIA H200", "cuda", 4800.0)
    assert h.working_set_gb == pytest.approx(140.4, abs=0.01)
    assert h.labels()["chip"] == "H200"
    # the same box without the mlx-cuda wheel runs mlx on the CPU, so it is a CPU class
    cpu = hw.linux_hardware(*args, cuda_installed=False, cpu_cores=16)
    assert (cpu.hw_class, cpu.backend, cpu.working_set_gb) == ("Xeon-16c-128GB", "cpu", None)


def test_live_probe_of_a_gpu_box_forced_to_cpu_describes_its_cpu(monkeypatch):
    """`grid run --mlx-device cpu` on the H200 box runs the cells on its CPU: the class must be the CPU's (recorded
    H200-box outputs through the live probe; only the file reads and nvidia-smi are replaced)."""
    d = FIXTURES / "linux" / "h200"
    files = {"/proc/cpuinfo": "cpuinfo.txt", "/proc/meminfo": "meminfo.txt"}
    monkeypatch.setattr(hw.sys, "platform", "linux")
    monkeypatch.setattr(hw, "_read", lambda path: (d / files[path]).read_text() if path in files else "")
    monkeypatch.setattr(hw, "_run", lambda cmd, timeout=0: (d / "nvidia_smi.txt").read_text())
    monkeypatch.setattr(hw, "cuda_mlx_installed", lambda: True)
    monkeypatch.setattr(hw, "usable_cpu_count", lambda: 16)
    none = hw.NodeOptions()
    assert hw.probe(device_info=False, simulate=none).hw_class == "H200-141GB"
    cpu = hw.probe(device_info=False, simulate=none, mlx_device="cpu")
    assert (cpu.hw_class, cpu.backend, cpu.working_set_gb) == ("Xeon-16c-128GB", "cpu", None)


def test_cpu_cores_are_the_usable_ones(monkeypatch):
    monkeypatch.setattr(hw.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert hw.usable_cpu_count() == 3


def test_recorded_epyc_dev_box():
    d = FIXTURES / "linux" / "epyc-2c-24gb"
    h = hw.linux_hardware((d / "cpuinfo.txt").read_text(), (d / "meminfo.txt").read_text(), "", False, cpu_cores=2)
    assert (h.hw_class, h.chip, h.backend, h.gpu_cores) == ("EPYC-2c-24GB", "AMD EPYC", "cpu", None)
    assert 23 < h.ram_gb < 24


@pytest.mark.parametrize(
    ("chip", "short"),
    [
        ("AMD EPYC 7763 64-Core Processor", "EPYC 7763"),
        ("Intel(R) Xeon(R) Platinum 8480+", "Xeon Platinum 8480+"),
        ("Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz", "Core i7-9750H"),
        ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
    ],
)
def test_short_chip_and_label_syntax(chip, short):
    assert hw.short_chip(chip) == short
    label = hw.make_hw_class(chip, 8, 64)
    assert " " not in label and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,61}[A-Za-z0-9]", label)


def test_live_probe_here_and_env_override(monkeypatch):
    h = hw.probe(device_info=False)
    assert h.cpu_cores >= 1 and h.ram_gb > 0 and h.backend in hw.BACKENDS and " " not in h.hw_class
    monkeypatch.setenv("GRID_HW_CLASS", "Fake M9 Ultra")
    monkeypatch.setenv("GRID_RAM_GB", "8")
    fake = hw.probe(device_info=False)
    assert (fake.hw_class, fake.ram_gb, fake.labels()["ram_gb"]) == ("Fake-M9-Ultra", 8.0, "8")


def test_probe_module_never_imports_mlx():
    code = "import sys, agent.hardware as h; h.probe(device_info=False); print('mlx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_working_set_subprocess_failure_is_none(monkeypatch):
    monkeypatch.setattr(hw, "_run", lambda cmd, timeout=0: "Traceback ...\nModuleNotFoundError: mlx\n")
    assert hw.mlx_working_set_gb() is None
    monkeypatch.setattr(
        hw, "_run", lambda cmd, timeout=0: 'noise\n{"max_recommended_working_set_size": 103079215104}\n'
    )
    assert hw.mlx_working_set_gb() == 96.0


# --- probe fixes (issue 15, item 5). The inputs in this section are SYNTHETIC (sysctl's `name: value` layout, Apple's
# key names), kept for the cases no capture shows: a three-level chip, a failed sysctl, the CLI refusal. The same
# cases on recorded outputs of real Macs (Rosetta, Intel, M5, M5 Max) are the captures section at the end. -----------

M4_MAX = FIXTURES / "macs" / "m4-max-40c-128gb"


def _mac_from(sysctl_text: str, **kw) -> hw.Hardware:
    return hw.apple_hardware(
        sysctl_text,
        (M4_MAX / "system_profiler_displays.json").read_text(),
        (M4_MAX / "ioreg.txt").read_text(),
        (M4_MAX / "sw_vers.txt").read_text(),
        **kw,
    )


def test_perflevel_names_decide_core_kinds_not_their_order():
    synthetic_m5_pro = (
        "machdep.cpu.brand_string: Apple M5 Pro\nhw.memsize: 51539607552\nhw.physicalcpu: 18\nhw.nperflevels: 2\n"
        "hw.perflevel0.name: Super\nhw.perflevel0.physicalcpu: 6\n"
        "hw.perflevel1.name: Performance\nhw.perflevel1.physicalcpu: 12\n"
    )
    h = _mac_from(synthetic_m5_pro)
    assert (h.perf_cores, h.eff_cores, h.cpu_cores) == (18, 0, 18)  # perflevel1 is not "efficiency" here
    three = "hw.nperflevels: 3\nhw.perflevel0.name: Super\nhw.perflevel0.physicalcpu: 2\nhw.perflevel1.name: Performance\nhw.perflevel1.physicalcpu: 4\nhw.perflevel2.name: Efficiency\nhw.perflevel2.physicalcpu: 6\n"
    assert hw.core_split(hw.parse_sysctl(three)) == (6, 6)
    # the recorded fixtures print no names (the old key list): level 0 performance, level 1 efficiency, as before
    assert hw.core_split(hw.parse_sysctl((M4_MAX / "sysctl.txt").read_text())) == (12, 4)


def test_m5_family_bandwidth():
    assert hw.bandwidth_for("Apple M5", 10) == 153.0
    assert hw.bandwidth_for("Apple M5 Pro", 20) == 307.0
    assert hw.bandwidth_for("Apple M5 Max", 40) == 614.0
    assert hw.bandwidth_for("Apple M5 Max", 32) is None  # not in the cited source: unknown, never guessed


def test_rosetta_and_intel_macs_are_macs_marked_unsupported():
    base = (M4_MAX / "sysctl.txt").read_text()
    rosetta = _mac_from(base + "sysctl.proc_translated: 1\n", machine="x86_64")
    assert rosetta.ram_gb == 128 and rosetta.unsupported == hw.ROSETTA_ADVICE and rosetta.backend == "cpu"
    assert hw.join_refusal(rosetta) and "arm64" in hw.join_refusal(rosetta)
    intel = _mac_from(
        "machdep.cpu.brand_string: Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz\nhw.memsize: 17179869184\nhw.ncpu: 16\n"
        "sysctl.proc_translated: 0\n",
        machine="x86_64",
    )
    assert intel.unsupported == hw.INTEL_ADVICE and intel.ram_gb == 16
    native = _mac_from(base + "sysctl.proc_translated: 0\n", machine="arm64")
    assert native.unsupported == "" and hw.join_refusal(native) is None and native.backend == "metal"


def test_failed_or_partial_sysctl_gives_unknown_not_a_crash():
    h = _mac_from("", fallback_ram_bytes=None)
    assert (h.chip, h.hw_class, h.ram_gb, h.perf_cores, h.eff_cores) == ("unknown", "unknown", 0.0, None, None)
    partial = _mac_from("hw.ncpu: 8\nhw.memsize: not-a-number\n", fallback_ram_bytes=8 * hw.GIB)
    assert (partial.ram_gb, partial.cpu_cores, partial.chip) == (8.0, 8, "unknown")


def test_live_probe_takes_mac_branch_for_any_darwin(monkeypatch):
    calls = []
    monkeypatch.setattr(hw.sys, "platform", "darwin")
    monkeypatch.setattr(hw.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(hw, "_run", lambda cmd, timeout=0: calls.append(cmd[0]) or "")
    h = hw.probe(device_info=True, simulate=hw.NodeOptions())
    assert calls[0] == "sysctl" and "nvidia-smi" not in calls and "python" not in " ".join(calls)
    assert h.ram_gb > 0  # sysconf fallback, never the Linux branch's 0 GB


def test_a_rosetta_node_refuses_to_join_with_advice(monkeypatch):
    from typer.testing import CliRunner

    from grid.cli import app
    from grid.lab import cluster

    rosetta = _mac_from((M4_MAX / "sysctl.txt").read_text() + "sysctl.proc_translated: 1\n", machine="x86_64")
    monkeypatch.setattr(hw, "probe", lambda device_info=True, simulate=None: rosetta)
    monkeypatch.setattr(cluster, "join", lambda *a, **k: pytest.fail("a Rosetta node must not join"))
    result = CliRunner().invoke(app, ["node", "join", "127.0.0.1:1", "--no-auth", "--disk-budget", "200GB"])
    assert result.exit_code == 2 and "not joining" in result.output and "arm64" in result.output
    bad = CliRunner().invoke(app, ["node", "join", "127.0.0.1:1", "--no-auth", "--disk-budget", "lots"])
    assert bad.exit_code != 0 and "disk-budget" in bad.output


# --- captures recorded on real Macs by other projects (tests/fixtures/README.md names each one's repository, path,
# commit and command). Only the files a capture has are given; the rest are "" (what a failed command gives). --------


def _capture(folder: str, **kw) -> hw.Hardware:
    d = FIXTURES / "macs" / folder

    def read(name: str) -> str:
        return (d / name).read_text() if (d / name).exists() else ""

    return hw.apple_hardware(
        read("sysctl.txt"), read("system_profiler_displays.json"), read("ioreg.txt"), read("sw_vers.txt"), **kw
    )


def _sysctl(folder: str) -> dict[str, str]:
    return hw.parse_sysctl((FIXTURES / "macs" / folder / "sysctl.txt").read_text())


def test_m5_capture_fastest_level_is_super_and_efficiency_stays_efficiency():
    """archspec-json darwin-tahoe-m5: `sysctl -i hw -i machdep` on a MacBook Pro M5 (Mac17,2), macOS 26.4.1."""
    assert hw.perf_levels(_sysctl("m5-10c-24gb-archspec")) == [("Super", 4), ("Efficiency", 6)]
    h = _capture("m5-10c-24gb-archspec", machine="arm64")
    assert (h.chip, h.ram_gb, h.perf_cores, h.eff_cores, h.cpu_cores) == ("Apple M5", 24.0, 4, 6, 10)
    assert (h.hw_class, h.backend, h.unsupported, h.bandwidth_gbps) == ("M5-24GB", "metal", "", 153.0)


def test_m5_max_capture_has_no_efficiency_level():
    """tirekick's fixture, verbatim from vladkens/macmon#47: `sysctl hw.perflevel*` on a MacBook Pro M5 Max."""
    s = _sysctl("m5-max-18c-tirekick")
    assert hw.perf_levels(s) == [("Super", 6), ("Performance", 12)]
    assert hw.core_split(s) == (18, 0)  # the old "perflevel1 = efficiency" rule would have said 12 efficiency cores


def test_m4_max_capture():
    """archspec-json darwin-sequoia-m4: `sysctl hw machdep`-style dump of an M4 Max (J614c), 64 GB."""
    h = _capture("m4-max-16c-64gb-archspec", machine="arm64")
    assert (h.chip, h.ram_gb, h.perf_cores, h.eff_cores, h.cpu_cores) == ("Apple M4 Max", 64.0, 12, 4, 16)
    assert (h.hw_class, h.backend, h.unsupported) == ("M4-Max-64GB", "metal", "")
    assert h.bandwidth_gbps is None  # no GPU core count in a sysctl dump, and the M4 Max ships with two buses


def test_rosetta_capture_is_a_mac_marked_unsupported():
    """archspec-json rossetta2-monterey-core2: sysctl of an x86_64 process translated by Rosetta 2 on an M1 Mac mini
    (J274), macOS 12. The translated process sees x86 (hw.cputype 7, SSE flags), hw.optional.arm64 1, and the real
    chip's brand string (not "VirtualApple"): translation is decided by machine + sysctl, never by the brand."""
    s = _sysctl("m1-16gb-rosetta-archspec")
    assert (s["hw.cputype"], s["hw.optional.x86_64"], s["hw.optional.arm64"]) == ("7", "1", "1")
    assert s["machdep.cpu.brand_string"] == "Apple M1" and "sysctl.proc_translated" not in s  # not in `hw machdep`
    assert hw.translation(s, "x86_64") == "rosetta"
    h = _capture("m1-16gb-rosetta-archspec", machine="x86_64")
    assert (h.chip, h.ram_gb, h.perf_cores, h.eff_cores, h.cpu_cores) == ("Apple M1", 16.0, 4, 4, 8)
    assert (h.unsupported, h.backend) == (hw.ROSETTA_ADVICE, "cpu") and "arm64" in hw.join_refusal(h)
    # Homebrew/brew#9252: `arch -x86_64 sysctl sysctl.proc_translated` and `arch -arm64 ...` on one Apple-silicon Mac
    d = FIXTURES / "macs" / "proc-translated-brew-9252"
    assert hw.translation(hw.parse_sysctl((d / "x86_64.txt").read_text()), "x86_64") == "rosetta"
    assert hw.translation(hw.parse_sysctl((d / "arm64.txt").read_text()), "arm64") == "native"


def test_intel_captures_are_macs_marked_unsupported():
    """tirekick runner-macos-15-intel (GitHub's Intel macOS 15.7.9 runner, a VM; tirekick's key list: model, memsize,
    perflevel0/1, brand string) and archspec-json darwin-mojave-skylake (machdep.cpu keys only: no hw.memsize, so the
    sysconf fallback gives the RAM, as on the live probe)."""
    s = _sysctl("intel-i7-8700b-vm-tirekick")
    assert hw.perf_levels(s) == [("Standard", 4)]  # Intel macOS 15 names its one level "Standard"
    # sysctl was asked for hw.perflevel1.* (unknown here) before machdep.cpu.brand_string and still printed the latter
    assert "hw.perflevel1.name" not in s and list(s)[-1] == "machdep.cpu.brand_string"
    vm = _capture("intel-i7-8700b-vm-tirekick", machine="x86_64")
    assert (vm.chip, vm.ram_gb, vm.model_id, vm.os_version) == (
        "Intel(R) Core(TM) i7-8700B CPU @ 3.20GHz",
        14.0,
        "Macmini6,2",
        "15.7.9",
    )
    assert (vm.perf_cores, vm.eff_cores, vm.cpu_cores, vm.gpu_cores) == (4, 0, 4, None)
    assert (vm.unsupported, vm.backend, vm.hw_class) == (hw.INTEL_ADVICE, "cpu", "Core-i7-8700B-14GB")
    old = _capture("intel-i7-6700k-archspec", machine="x86_64", fallback_ram_bytes=32 * hw.GIB)
    assert (old.chip, old.ram_gb, old.perf_cores, old.unsupported) == (
        "Intel(R) Core(TM) i7-6700K CPU @ 4.00GHz",
        32.0,
        None,
        hw.INTEL_ADVICE,
    )


def test_apple_silicon_vm_capture_is_labelled_as_virtual_with_no_guessed_bandwidth():
    """tirekick runner-macos-26: GitHub's arm64 macOS 26.6.2 runner, a VM on Apple silicon."""
    h = _capture("m1-vm-tirekick", machine="arm64")
    assert (h.chip, h.model_id, h.ram_gb, h.os_version) == ("Apple M1 (Virtual)", "VirtualMac2,1", 7.0, "26.6.2")
    assert (h.perf_cores, h.eff_cores, h.cpu_cores) == (3, 0, 3)  # one "Standard" level
    assert (h.hw_class, h.bandwidth_gbps, h.gpu_cores) == ("M1-Virtual-7GB", None, None)


def test_system_profiler_captures():
    """tirekick's M1 Pro fixture (verbatim from osquery/osquery#7486) and the Intel runner's paravirtual GPU."""
    m1_pro = (FIXTURES / "macs" / "m1-pro-14c-tirekick" / "system_profiler_displays.json").read_text()
    assert hw.parse_system_profiler_gpu(m1_pro) == ("Apple M1 Pro", 14)  # sppci_cores is a string: "14"
    vm = (FIXTURES / "macs" / "intel-i7-8700b-vm-tirekick" / "system_profiler_displays.json").read_text()
    assert hw.parse_system_profiler_gpu(vm) == ("Apple Paravirtualized Graphics Device", None)
