"""How many warm spare children a node keeps while a model group runs, when the run leaves it to grid
(`--spare-children` not given).

A spare is a child spawned while the current group runs; it imports mlx / mlx_vlm / transformers at low priority, so
the node's next group starts without waiting for an interpreter (agent.children.ChildPool). One spare is enough where
a child is ready before the group beside it ends. Where start-up takes longer than the groups (tiny models, a slow
import path, a CUDA stack), the next group waits; k spares started together cover k groups of that length. So:

    spares = ceil(measured child start-up / predicted time of the groups still queued for the class), in [1, MAX]

and never fewer than one: a node's worker keeps its spares between groups and between runs, so the one left after a
class's last group serves the next run's first group (dropping it cost that group a cold child: +8-15 % of the cells'
own time over 11 tiny twins, bench/dispatch.py, 2026-12-07). Imports are CPU-bound,
so spares importing side by side only help where the node has cores to spare: at most one per CORES_PER_SPARE of the
class's smallest node (measured on a 2-core node, 2026-12-07: three spares importing at once beside the measurement
took 6.9-7.6 s to be ready against 3.5-3.7 s for one, and the run was no faster; BENCHMARKS.md). Start-up is the
median `child_start_s` of the class's rows: this run's as they arrive, else earlier runs' (grid.driver.predict), else
unknown, which keeps the old default of one.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

# Each spare holds an interpreter with mlx, mlx_vlm and transformers imported (a few hundred MB): past three, a small
# Mac gives the measured model memory to processes that may never be used.
MAX_AUTO_SPARES = 3
MIN_SPARES = (
    1  # one stays warm for whatever comes next; also the count while start-up is not measured (the old default)
)
CORES_PER_SPARE = 2  # one core for the measurement's own work, one for a spare's imports


def spares_for(start_s: float | None, queued_group_s: list[float | None], cores: float | None = None) -> int:
    """Spares for a group whose class still has `queued_group_s` (predicted seconds, None when unknown) queued after it,
    on a class whose child start-up is `start_s` seconds (None: not measured) and whose smallest node has `cores` CPUs
    (None: not known)."""
    known = [s for s in queued_group_s if s]
    if start_s is None or not known:
        return MIN_SPARES
    cap = MAX_AUTO_SPARES if cores is None else max(1, min(MAX_AUTO_SPARES, int(cores // CORES_PER_SPARE)))
    # never more spares than groups that could use them, never fewer than one
    return max(MIN_SPARES, min(cap, len(queued_group_s), math.ceil(start_s / statistics.median(known))))


class StartupTimes:
    """Child start-up per hardware class: this run's measurements win over the history's as soon as there is one."""

    def __init__(self, history: dict[str, float] | None = None):
        self.history = dict(history or {})
        self.seen: dict[str, list[float]] = defaultdict(list)

    def add(self, hw_class: str, child_start_s: float | None) -> None:
        if child_start_s is not None:
            self.seen[hw_class].append(child_start_s)

    def get(self, hw_class: str) -> float | None:
        seen = self.seen.get(hw_class)
        return statistics.median(seen) if seen else self.history.get(hw_class)
