"""Broken twins (`twin-broken:<case>`): each reproduces one failure class of the seed report through real
mlx-vlm / transformers code paths. Filled in step 4; the registry of cases lives here."""

from __future__ import annotations

from dataclasses import dataclass

from agent.twins.files import TwinFiles
from agent.twins.spec import TwinError


@dataclass(frozen=True)
class BrokenCase:
    arch: str  # the twin architecture it is built from
    reproduces: str  # the seed report failure it reproduces (one line)


CASES: dict[str, BrokenCase] = {}


def files_for(case: str) -> TwinFiles:
    if case not in CASES:
        raise TwinError(f"unknown broken twin {case!r}; cases: {', '.join(sorted(CASES)) or '(none yet)'}")
    raise NotImplementedError(case)
