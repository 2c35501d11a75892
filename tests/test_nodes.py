"""`grid head start`, `grid node join` (+ --supervise), `grid nodes`, `grid node leave` on a real multi-process Ray."""

from __future__ import annotations

import os
import signal

import pytest

from lab_cluster import Lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab-nodes"))
    try:
        lab.start_head()
        yield lab
    finally:
        lab.teardown()


@pytest.mark.slow
def test_join_labels_leave_and_supervised_rejoin(lab):
    lab.add_node("m4", "M4-Max-40c-128GB")
    lab.add_node("m2", "M2-8c-8GB", ram_gb=8, supervise=True)

    nodes = {n["node_ip"]: n for n in lab.nodes_json(cli=True)}
    head = [n for n in nodes.values() if n["role"] == "grid-head"]
    assert len(head) == 1 and head[0]["hw_class"] == ""  # the head carries no class: cells never land there
    m4, m2 = nodes[lab.nodes["m4"]["ip"]], nodes[lab.nodes["m2"]["ip"]]
    assert (m4["hw_class"], m4["role"], m4["alive"], m4["backend"]) == ("M4-Max-40c-128GB", "grid-node", True, "cpu")
    assert (m2["hw_class"], m2["ram_gb"]) == ("M2-8c-8GB", 8.0)

    # the raylet dies (a Mac crashes, or Ray marks it dead): the supervisor brings the node back under a new id
    old_id = lab.node_ids("m2")[0]
    os.kill(lab.raylet_pid("m2"), signal.SIGKILL)
    new_ids = lab.wait_for(lambda: [i for i in lab.node_ids("m2") if i != old_id], 120, "m2 to rejoin")
    assert new_ids and old_id in lab.node_ids("m2", alive=False)

    # leave stops exactly that node's processes: m4 goes, m2 and the head stay
    from grid.cluster import node_processes

    assert node_processes(lab._temp_dir("m4"))
    lab.grid("node", "leave", "m4")
    assert node_processes(lab._temp_dir("m4")) == []
    lab.wait_for(lambda: not lab.node_ids("m4"), 60, "m4 marked dead")
    assert lab.node_ids("m2") and node_processes(lab._temp_dir("head"))

    # leaving a supervised node stops the supervisor too (it must not rejoin)
    lab.grid("node", "leave", "m2")
    assert lab.nodes["m2"]["supervisor"].wait(30) is not None
    assert node_processes(lab._temp_dir("m2")) == []


@pytest.mark.slow
def test_leave_unknown_node_is_one_line_of_advice(lab):
    proc = lab.grid("node", "leave", "no-such-node", check=False)
    assert proc.returncode == 1
    assert "no-such-node" in proc.stderr and "Traceback" not in proc.stderr
