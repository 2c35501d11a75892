"""The status words as a report groups them, from `grid.core.status.Status`, and their SQL forms.

A report counts a cell against its model only when it ran and did not succeed: `PROBLEMS` is every problem status
but `skipped` (a cell that never ran says nothing about the model). Their order is the tie-break wherever a group's
dominant problem is picked, and `STATUS_ORDER` is the order counts are listed in.
"""

from __future__ import annotations

from collections.abc import Iterable

from grid.core.status import Status

OK, SKIPPED = Status.OK.value, Status.SKIPPED.value  # plain strings, as rows and SQL results carry them
PROBLEMS: tuple[Status, ...] = tuple(s for s in Status if s.is_problem)
STATUS_ORDER: tuple[Status, ...] = (Status.OK, *PROBLEMS, Status.SKIPPED)
PARTIAL = "partial"  # a group's status when some of its cells are ok and some are problems (not a row status)


def sql_list(statuses: Iterable[str]) -> str:
    """`('failed', 'timeout')`: the right-hand side of a SQL `status IN ...`."""
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"


PROBLEM_SQL = sql_list(PROBLEMS)
