"""The `ray start` arguments grid builds for a head and for a node (pure; the real starts are in test_lab_grid.py)."""

from agent.hardware import Hardware
from grid.lab.cluster import head_args, join_args


def test_head_with_dashboard_exposes_the_jobs_api_and_never_takes_cells():
    args = head_args(port=6390, dashboard_host="0.0.0.0", dashboard_port=8300, temp_dir="/tmp/h")
    assert "--include-dashboard=true" in args and "--dashboard-port=8300" in args and "--dashboard-host=0.0.0.0" in args
    assert "--labels=role=grid-head" in args and not any(a.startswith("--resources") for a in args)


def test_head_without_dashboard_for_rays_minimal_install():
    args = head_args(port=6390, dashboard_host="127.0.0.1", dashboard_port=8265, temp_dir="/tmp/h", dashboard=False)
    assert "--include-dashboard=false" in args
    assert not any(a.startswith(("--dashboard-port", "--dashboard-host")) for a in args)


def test_node_joins_with_its_hardware_labels_and_one_grid_slot():
    hw = Hardware(
        hw_class="H200-141GB",
        chip="NVIDIA H200",
        ram_gb=125.9,
        gpu_cores=None,
        perf_cores=None,
        eff_cores=None,
        cpu_cores=16,
        model_id="",
        os_name="Linux",
        os_version="6.18",
        backend="cuda",
        bandwidth_gbps=4800.0,
        working_set_gb=140.4,
        hostname="vm",
    )
    args = join_args("10.0.0.1:6390", hw, "/tmp/n")
    labels = next(a for a in args if a.startswith("--labels="))
    assert "hw_class=H200-141GB" in labels and "role=grid-node" in labels
    assert '--resources={"grid_slot": 1}' in args and "--address=10.0.0.1:6390" in args


def test_a_simulated_node_says_so_in_its_labels():
    import dataclasses

    from agent.hardware import simulated
    from grid.core.options import NodeOptions

    hw = Hardware(
        hw_class="EPYC-2c-24GB",
        chip="AMD EPYC 7763 64-Core Processor",
        ram_gb=23.5,
        gpu_cores=None,
        perf_cores=None,
        eff_cores=None,
        cpu_cores=2,
        model_id="",
        os_name="Linux",
        os_version="6.18",
        backend="cpu",
        bandwidth_gbps=None,
        working_set_gb=None,
        hostname="vm",
    )
    assert "simulated" not in next(a for a in join_args("h:6379", hw, "/tmp/n") if a.startswith("--labels="))
    fake = simulated(hw, NodeOptions(simulate_hw_class="M2-8c-8GB", simulate_ram_gb=8))
    assert fake == dataclasses.replace(hw, hw_class="M2-8c-8GB", ram_gb=8.0, simulated=True)
    labels = next(a for a in join_args("h:6379", fake, "/tmp/n") if a.startswith("--labels="))
    assert "hw_class=M2-8c-8GB" in labels and "ram_gb=8" in labels and "simulated=true" in labels
    assert simulated(hw, NodeOptions()) is hw  # nothing pretended: the probe as it is
