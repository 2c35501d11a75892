"""The one config surface: every setting of a run or a node, typed, filled from CLI flags (environment variables only
through typer's `envvar=`), written into the run manifest. Settings that can change a measurement are also row
columns, so a figure is never read without the conditions that made it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    """Settings of one run, chosen by whoever starts it (`grid run`, `grid submit`, `grid resume`)."""

    class_wait_s: float = 300.0  # how long a class with no live node is waited for before its cells are skipped
    fetch_timeout_s: float = 3600.0  # limit on a model download, timed apart from every cell timer
    # seconds of cells between two drift-sentinel readings (0: after every cell); None: spaced by the reading's own
    # cost so the sentinel takes at most agent.sentinel.SENTINEL_SHARE of the node's time. Outside every cell's timers.
    sentinel_gap_s: float | None = None
    # --- settings that can change a measurement (also recorded on every row) ---
    # warm spare child processes a node keeps for the groups after this one (0: a fresh child per group, measured cold);
    # None: sized per group by the driver from measured child start-up and predicted group time (grid.driver.spares)
    spare_children: int | None = None
    preimport: bool = True  # the child imports mlx-vlm's modules in the background while it waits for work
    measure_bandwidth: bool = True  # probe a CPU node's memory bandwidth once (for % of bandwidth)
    mlx_device: str = ""  # "" = the backend's default device; "cpu" forces MLX's CPU backend
    trace_path: str = ""  # append one JSON line per runner event here (bench/ reads it); "" = off

    def spares(self) -> int:
        """The spares a node keeps while this group runs: the set count, or 1 where no driver sized it."""
        return 1 if self.spare_children is None else max(self.spare_children, 0)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> RunOptions:
        """From a manifest; unknown keys (a newer grid's) are ignored, missing ones take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


@dataclass(frozen=True)
class NodeOptions:
    """Settings of one node, given to `grid node join`. The simulate_* fields pretend hardware this machine is not
    (tests and demos make several classes on one box); a simulated node's labels and rows say `simulated`."""

    simulate_hw_class: str = ""
    simulate_ram_gb: float | None = None
    simulate_working_set_gb: float | None = None

    @property
    def simulated(self) -> bool:
        return bool(self.simulate_hw_class or self.simulate_ram_gb or self.simulate_working_set_gb)
