"""A partitioned node: Ray leaves its in-flight task hanging for minutes (../shared/notes/ray.md §4); grid's watchdog
sees the head mark the node dead and resubmits the cell to the live sibling of its class. Head, nodes and driver run
in their own network namespaces; the partition is the node's link going down."""

from __future__ import annotations

import json

import pytest
import yaml
from lab_cluster import Lab
from lab_netns import NetnsLab, available

from grid import store

pytestmark = pytest.mark.slow
REASON = available()


@pytest.fixture(scope="module")
def netlab(tmp_path_factory):
    if REASON:
        pytest.skip(f"network namespaces unavailable: {REASON}")
    lab = NetnsLab(tmp_path_factory.mktemp("netns-lab"))
    try:
        lab.start_head()
        lab.join(["w1", "w2"], "Part-Class")
        yield lab
    finally:
        lab.teardown()


def test_partitioned_node_cell_is_resubmitted_to_its_sibling(netlab, tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "partition",
                "models": [{"id": "twin:qwen2_vl"}],
                "prompts": [{"id": "p", "text": "Describe this image."}],
                "images": [{"id": "chart", "builtin": "chart"}],
                "generation": {"max_tokens": 16, "warmup_runs": 0, "trials": 1, "timeout_s": 120},
            }
        )
    )
    results, run_id = tmp_path / "results", "partition-test"
    driver = netlab.popen(
        "head",
        "run",
        str(suite),
        "--address",
        netlab.address,
        "--results",
        str(results),
        "--run-id",
        run_id,
        "--no-report",
        log=tmp_path / "driver.log",
    )
    progress = results / f"run_id={run_id}" / "_progress.json"

    def running_on():
        try:
            snap = json.loads(progress.read_text())
        except (OSError, ValueError):
            return None
        return next((f.get("node_ip") for f in snap["flights"] if f["state"] == "running" and f.get("node_ip")), None)

    victim_ip = Lab.wait_for(running_on, 180, "the cell to start")
    victim = next(name for name, ip in netlab.hosts.items() if ip == victim_ip)
    netlab.partition(victim)
    try:
        assert driver.wait(240) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    finally:
        netlab.partition(victim, down=False)
    (row,) = store.read_rows(results, run_id)
    ips = {n["node_id"]: n["node_ip"] for n in netlab.nodes_json()}
    assert row.status == "ok" and row.attempt == 2, (row.status, row.error_message)
    assert ips[row.node_id] != victim_ip and row.hw_class == "Part-Class"
