"""A report's unit: a *group*, one model on one hardware class pooling its cells (and its runs), with its status
counts and medians (aggregator/analysis.py builds them, the rankings and renderers read them)."""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.statuses import OK, PARTIAL, PROBLEMS, SKIPPED


@dataclass
class Group:
    model: str
    hw_class: str
    arch: str | None
    counts: dict[str, int]
    error_class: str | None  # the most common one among the group's problem rows
    decode_tps: float | None
    decode_q1: float | None
    decode_q3: float | None
    spread_over: str | None  # "trials" (one ok cell: its raw trials) | "cells" (several: the cells' medians)
    trials: int  # timed trials of the group's ok cells (the `trials` setting summed)
    outliers: int
    peak_memory_gb: float | None
    ttft_s: float | None
    bandwidth_fraction: float | None
    bandwidth_source: str | None  # "measured" (bandwidth_fraction) | "derived" (weight bytes × tok/s ÷ bandwidth)
    flagged_rows: int = 0
    ratio_to_reference: float | None = None
    wall_s: float | None = None  # summed over the group's cells
    tps_sum: float = 0.0  # sum and count of ok cells' decode tok/s: the run's mean without another scan
    tps_n: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    image_dropped: int = 0  # ok cells that ran text-only (grid.core.quality.IMAGE_DROPPED): not a clean ok

    def __post_init__(self) -> None:
        # Read thousands of times by the renderers: computed once (counts never change after construction).
        self.total = sum(self.counts.values())
        self.ran = self.total - self.counts.get(SKIPPED, 0)
        self.problems = sum(self.counts.get(s, 0) for s in PROBLEMS)
        self.status = SKIPPED if self.ran == 0 else OK if self.problems == 0 else PARTIAL if self.ok else self.worst

    @property
    def ok(self) -> int:
        return self.counts.get(OK, 0)

    @property
    def worst(self) -> str:
        """The dominant problem status (the first in PROBLEMS on a tie)."""
        return max(PROBLEMS, key=lambda s: self.counts.get(s, 0)).value

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in ("tps_sum", "tps_n")}
