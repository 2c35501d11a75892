"""A run's live progress: what is queued, what runs on which node, what is done. Written by the driver as
`<results>/run_id=<id>/_progress.json` (underscore: Parquet readers skip it) and, inside a Ray Job, also printed as
`GRID_PROGRESS {json}` lines so `grid status` on a laptop can follow a run through the Jobs API alone."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid

from grid import store

PROGRESS_FILE = "_progress.json"
LOG_PREFIX = "GRID_PROGRESS "
FLUSH_EVERY_S = 5.0


class Progress:
    def __init__(self, results_root, run_id: str):
        self.root, self.run_id = results_root, run_id
        self.by_status: dict[str, int] = {}
        self.flights: dict[int, dict] = {}
        self.node_ips: dict[str, str] = {}
        self.state = "running"
        self._dirty, self._last = True, 0.0
        self.log = os.environ.get("GRID_PROGRESS_LOG") == "1"

    # --- events from the driver ---
    def queued(self, flight) -> None:
        self.flights[id(flight)] = {
            "model": flight.cells[0].model.id,
            "hw_class": flight.hw_class,
            "state": "queued",
            "node_id": None,
            "node_ip": None,
            "cells_left": len(flight.cells),
            "attempt": flight.attempt,
        }
        self._dirty = True

    def started(self, flight) -> None:
        entry = self.flights.get(id(flight))
        if entry:
            entry.update(state="running", node_id=flight.node_id, node_ip=self.node_ips.get(flight.node_id))
            self._dirty = True
            self.flush()

    def left(self, flight) -> None:
        self.flights.pop(id(flight), None)
        self._dirty = True

    def cell_done(self, row) -> None:
        self.by_status[row.status] = self.by_status.get(row.status, 0) + 1
        for entry in self.flights.values():
            if entry["model"] == row.model and entry["hw_class"] == row.hw_class and entry["cells_left"]:
                entry["cells_left"] -= 1
                break
        self._dirty = True
        self.flush()

    def nodes(self, node_ips: dict[str, str]) -> None:
        self.node_ips = node_ips

    def finish(self) -> None:
        self.state = "finished"
        self.flush(force=True)

    # --- output ---
    def snapshot(self) -> dict:
        for entry in self.flights.values():
            if entry["node_id"] and not entry["node_ip"]:
                entry["node_ip"] = self.node_ips.get(entry["node_id"])
        return {
            "run_id": self.run_id,
            "state": self.state,
            "updated_at_s": time.time(),
            "driver": f"{socket.gethostname()}:{os.getpid()}",
            "done": dict(sorted(self.by_status.items())),
            "flights": sorted(self.flights.values(), key=lambda e: (e["state"] != "running", e["hw_class"])),
        }

    def flush(self, force: bool = False) -> None:
        """Write when something changed (at most every second), and at least every FLUSH_EVERY_S as a heartbeat."""
        now = time.monotonic()
        if not force and not (self._dirty and now - self._last >= 1.0) and now - self._last < FLUSH_EVERY_S:
            return
        snap = self.snapshot()
        fs, base = store._fs(self.root)
        folder = f"{base}/run_id={self.run_id}"
        fs.create_dir(folder, recursive=True)
        tmp = f"{folder}/.{PROGRESS_FILE}.{uuid.uuid4().hex[:8]}.tmp"
        with fs.open_output_stream(tmp) as f:
            f.write(json.dumps(snap).encode())
        fs.move(tmp, f"{folder}/{PROGRESS_FILE}")
        if self.log and (self._dirty or force):
            print(LOG_PREFIX + json.dumps(snap), flush=True)
        self._dirty, self._last = False, now

    def read(self) -> dict:
        fs, base = store._fs(self.root)
        try:
            with fs.open_input_stream(f"{base}/run_id={self.run_id}/{PROGRESS_FILE}") as f:
                return json.loads(f.read())
        except (FileNotFoundError, OSError, ValueError):
            return {}


def last_progress_in_log(text: str) -> dict:
    for line in reversed(text.splitlines()):
        if line.startswith(LOG_PREFIX):
            try:
                return json.loads(line[len(LOG_PREFIX) :])
            except ValueError:
                continue
    return {}
