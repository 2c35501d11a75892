"""The one base of every user-facing error: a message and, where there is one, the command or step that fixes it.
The CLI's single handler prints `error: <message>` (and the hint) as one line and exits 1 (a malformed suite: 2)."""

from __future__ import annotations


class GridError(Exception):
    """A problem the user can act on. `hint` is the next step (ideally a command to run)."""

    exit_code = 1

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message
