"""A cell's status as a type (Ray's `JobStatus` is the model): every status word lives here, nowhere else."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How a cell ended. Stored in rows as the plain string value (`Status.OK == "ok"`)."""

    OK = "ok"
    FAILED = "failed"  # the model code raised
    TIMEOUT = "timeout"  # the cell ran past its wall-clock limit
    CRASHED = "crashed"  # the isolated child died (abort, segfault) or grid's own task failed
    OOM = "oom"  # out of memory (Metal/CUDA allocation failure or the OS killed the child)
    SKIPPED = "skipped"  # never ran: predicted not to fit, no live node of its class
    NODE_LOST = "node_lost"  # every node of the class died under it

    @property
    def is_terminal(self) -> bool:
        """Whether the cell has its final row. Every status written to a row is terminal for that attempt."""
        return True

    @property
    def is_retryable(self) -> bool:
        """Whether `grid resume` re-runs the cell by default: its cause may have gone (the node rejoined, the class
        came back, the disk was cleared, the machine was busy). ok, failed (a deterministic model error), crashed and
        oom stay final unless the user asks (`--retry STATUS...`, `--rerun`)."""
        return self in (Status.NODE_LOST, Status.SKIPPED, Status.TIMEOUT)

    @classmethod
    def parse_many(cls, values) -> frozenset[Status]:
        """Statuses the user typed (`--retry node_lost timeout`, or comma-separated); ValueError names a bad one."""
        words = [w.strip() for v in values for w in str(v).split(",") if w.strip()]
        return frozenset(cls.parse(w) for w in words)

    @property
    def is_problem(self) -> bool:
        """Whether a report counts it against the model or its node: it ran (or was meant to) and did not end ok.
        A skip (never attempted: no fit, no node) is not a problem of the model."""
        return self not in (Status.OK, Status.SKIPPED)

    @property
    def label(self) -> str:
        """A reader's word for it, in tables and charts."""
        return _LABELS[self]

    @classmethod
    def parse(cls, value: str) -> Status:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"status {value!r} is not one of {', '.join(s.value for s in cls)}") from None


_LABELS = {
    Status.OK: "ok",
    Status.FAILED: "failed",
    Status.TIMEOUT: "timed out",
    Status.CRASHED: "crashed",
    Status.OOM: "out of memory",
    Status.SKIPPED: "skipped",
    Status.NODE_LOST: "node lost",
}

PROBLEM_STATUSES = tuple(s.value for s in Status if s.is_problem)
RETRYABLE_STATUSES: frozenset[str] = frozenset(s.value for s in Status if s.is_retryable)
"""What `grid resume` re-runs by default (with cells that have no row at all)."""
