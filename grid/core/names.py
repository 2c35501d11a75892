"""Names are names, never paths: every user string that becomes a file or folder name (a run id, a suite name in a
run id, a cell id, a report folder) is checked here against one strict pattern, so nothing is ever written outside
the results and reports roots (`../../x`, `a/b`, `/abs`, NUL and drive letters all fail before any file is touched).
"""

from __future__ import annotations

import re

from grid.core.errors import GridError

MAX_NAME_CHARS = 128  # well under every filesystem's 255-byte component limit, with room for suffixes
# A letter or digit first (no leading dot: hidden files and `..`; no leading `_`/`-`: the store's own files and
# option-like names), then letters, digits, dot, dash, underscore. No separators of any OS, no spaces, no `=` (the
# hive `run_id=` folder syntax).
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SLUG_BAD = re.compile(r"[^A-Za-z0-9._-]+")


class InvalidName(GridError, ValueError):
    """A user string that would become a path is not a plain name (exit 2, like a malformed suite)."""

    exit_code = 2


def check_name(value: object, what: str = "run id", hint: str = "") -> str:
    """The value if it is a safe single path component; else InvalidName naming what is wrong and what to use."""
    text = value if isinstance(value, str) else ""
    shown = repr(text if len(text) <= 40 else text[:40] + "...")
    advice = hint or f"use letters, digits, '.', '-' or '_' (at most {MAX_NAME_CHARS} characters), e.g. my-run-1"
    if not isinstance(value, str) or not value:
        raise InvalidName(f"the {what} is empty", advice)
    if "\x00" in value:
        raise InvalidName(f"the {what} {shown} contains a NUL character", advice)
    if len(value) > MAX_NAME_CHARS:
        raise InvalidName(f"the {what} {shown} is {len(value)} characters long (at most {MAX_NAME_CHARS})", advice)
    if "/" in value or "\\" in value:
        raise InvalidName(f"the {what} {shown} is a path; it must be a name (no '/' or '\\')", advice)
    if value.strip(".") == "":
        raise InvalidName(f"the {what} {shown} names a folder ('.' or '..'), not a run", advice)
    if not _NAME_RE.fullmatch(value):
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9._-]", c)})
        why = f"contains {' '.join(repr(c) for c in bad)}" if bad else "must start with a letter or digit"
        raise InvalidName(f"the {what} {shown} {why}", advice)
    return value


def is_name(value: object) -> bool:
    try:
        check_name(value)
    except InvalidName:
        return False
    return True


def check_run_id(run_id: object, command: str = "`grid runs` lists the runs") -> str:
    """A run id: a plain name. `command`: the next step the advice ends with."""
    return check_name(run_id, "run id", f"use letters, digits, '.', '-' or '_' (at most {MAX_NAME_CHARS}); {command}")


def slug(text: str, fallback: str = "run", max_chars: int = 40) -> str:
    """A safe name made from free text (a suite's `name:`), for names grid composes itself (the default run id)."""
    out = _SLUG_BAD.sub("-", text or "").strip("-._")[:max_chars].strip("-._")
    return out or fallback
