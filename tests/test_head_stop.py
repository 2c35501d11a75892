"""`grid head stop` stops every process `grid head start` started, by PID, the Ray client server included (it names
no temp dir on its command line: found by the log files it holds under the head's temp dir)."""

from __future__ import annotations

import socket
import time

import pytest
from lab_cluster import Lab

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _comes_up(port: int, within_s: float = 60.0) -> bool:
    """The client server starts after `ray start` returns (once it was not listening yet when checked at once, under
    CI load, 2026-12-07): poll for it."""
    deadline = time.monotonic() + within_s
    while not _listening(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_head_stop_stops_the_ray_client_server_too(tmp_path):
    from grid.lab.cluster import log_holders
    from grid.lab.node_processes import kill_processes, node_processes

    lab = Lab(tmp_path)
    temp_dir = str(lab.ray_tmp / "grid" / "head")
    try:
        lab.start_head()
        assert _comes_up(lab.client_port), "the head's Ray client server should be up"
        holders = [p.pid for p in log_holders(temp_dir)]
        by_dir = {p.pid for p in node_processes(temp_dir)}
        assert set(holders) - by_dir, "the client server is not among the temp dir's command lines"
        stopped = lab.grid("head", "stop")
        assert stopped.returncode == 0
        assert not _listening(lab.client_port), "the Ray client server still listens after `grid head stop`"
        assert not node_processes(temp_dir) and not log_holders(temp_dir)
    finally:
        kill_processes(node_processes(temp_dir) + log_holders(temp_dir))
        lab.teardown()
