"""The CLI's one output sink: results on stdout (rich tables, plain lines, or `--json`), everything else on stderr
(notes, warnings, the one-line error with its fix), and a progress bar that is off when stdout is not a terminal.

Commands print only through these functions. The consoles look up sys.stdout / sys.stderr at each print, so typer's
CliRunner (which swaps them) sees everything.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_out = Console()
_err = Console(stderr=True)


# --- stdout: what the command produced -------------------------------------------------------------------------------


def table(title: str | None, columns: Sequence[str | tuple[str, dict]], rows: Iterable[Sequence[str]], **kw) -> None:
    """A rich table; a column is a name or (name, rich column options such as {"no_wrap": True})."""
    t = Table(title=title, **kw)
    for col in columns:
        name, options = (col, {}) if isinstance(col, str) else col
        t.add_column(name, **options)
    for row in rows:
        t.add_row(*row)
    _out.print(t)


def data(obj: Any, indent: int | None = 2) -> None:
    """Machine-readable output (`--json`): one JSON document; indent=None for one line per document (streams)."""
    _write(sys.stdout, json.dumps(obj, indent=indent, default=str))


def show(obj: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """`--json` prints the object; otherwise `render` draws it (a table, lines)."""
    if as_json:
        data(obj)
    else:
        render(obj)


def text(s: str) -> None:
    """A plain line (or block) exactly as given: log text, Markdown, paths; never read as markup."""
    _write(sys.stdout, s)


def line(markup: str) -> None:
    """A styled line for people (rich markup such as [bold green]...[/])."""
    _out.print(markup)


# --- stderr: about the command -----------------------------------------------------------------------------------------


def note(markup: str) -> None:
    """A side remark (the next command to run, a summary for a failing exit) on stderr, so stdout stays the result."""
    _err.print(markup, highlight=False, soft_wrap=True)


def warning(message: str) -> None:
    _err.print(Text.assemble(("warning:", "yellow"), " ", message), highlight=False, soft_wrap=True)


def error(message: str, hint: str = "") -> None:
    """One line of advice: `error: <first line of message> — fix: <hint>`."""
    first = (str(message).strip().splitlines() or ["error"])[0]
    parts: list = [("error:", "red"), " ", first]
    if hint:
        parts += [" — ", ("fix:", "bold"), " ", hint.strip().splitlines()[0]]
    _err.print(Text.assemble(*parts), highlight=False, soft_wrap=True)


# --- progress ------------------------------------------------------------------------------------------------------


def progress_enabled() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


class CellProgress:
    """Cells done out of planned, with ok / not ok counts (a no-op when the bar is off)."""

    def __init__(self, bar, task) -> None:
        self._bar, self._task, self.done, self.failed = bar, task, 0, 0

    def planned(self, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def finished(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        if self._bar is not None:
            self._bar.update(self._task, advance=1, ok=self.done - self.failed, failed=self.failed)


@contextmanager
def cell_progress(description: str, enabled: bool = True) -> Iterator[CellProgress]:
    """A live bar on stderr while cells finish; off when stdout is not a terminal (pipes, CI, `--json`)."""
    if not (enabled and progress_enabled()):
        yield CellProgress(None, None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} not ok[/]"),
        TimeElapsedColumn(),
        console=_err,
        transient=False,
    ) as bar:
        yield CellProgress(bar, bar.add_task(description, total=None, ok=0, failed=0))


@contextmanager
def native_stderr_to(path) -> Iterator[None]:
    """Send file descriptor 2 (where Ray's C++ core and its loggers write: a dying node's state dump) to `path`, while
    grid's own stderr (progress, notes, the error line) keeps the terminal. Only for a real process stderr (typer's
    CliRunner swaps sys.stderr for a buffer: left alone). An empty log is removed at the end."""
    from pathlib import Path

    try:
        real = sys.stderr.fileno() == 2
    except (AttributeError, ValueError, OSError):
        real = False
    if not real:
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(saved), "w", buffering=1)
    previous = sys.stderr
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        sys.stderr = terminal
        try:
            yield
        finally:
            terminal.flush()
            sys.stderr = previous
            os.dup2(saved, 2)
            os.close(saved)
            terminal.close()
    if path.stat().st_size == 0:
        path.unlink()


def _write(stream, s: str) -> None:
    stream.write(s if s.endswith("\n") else s + "\n")
    stream.flush()
