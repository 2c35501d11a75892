"""Parsing twin specs: "twin:<arch>[@<size>][-q4|-q8]" and "twin-broken:<case>"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from grid.core.errors import GridError

TWIN_PREFIX = "twin:"
BROKEN_PREFIX = "twin-broken:"
_TWIN_RE = re.compile(r"^(?P<arch>[a-z0-9_]+)(?:@(?P<size>[a-z0-9_.]+))?(?:-q(?P<bits>4|8))?$")


class TwinError(GridError, ValueError):
    """A twin spec that names nothing buildable; the message is one line listing what exists."""


@dataclass(frozen=True)
class TwinSpec:
    arch: str  # model_type for twin:, case name for twin-broken:
    size: str = "tiny"
    bits: int | None = None
    broken: bool = False

    @property
    def folder_name(self) -> str:
        """The cache folder name, unique per spec (no ':' so it is a plain path component on every OS)."""
        if self.broken:
            return f"broken-{self.arch}"
        name = self.arch if self.size == "tiny" else f"{self.arch}@{self.size}"
        return f"{name}-q{self.bits}" if self.bits else name

    @property
    def text(self) -> str:
        if self.broken:
            return f"{BROKEN_PREFIX}{self.arch}"
        return TWIN_PREFIX + self.folder_name


def is_twin(model_id: str) -> bool:
    return model_id.startswith(TWIN_PREFIX) or model_id.startswith(BROKEN_PREFIX)


def parse(spec: str) -> TwinSpec:
    if spec.startswith(BROKEN_PREFIX):
        case = spec[len(BROKEN_PREFIX) :]
        if not re.fullmatch(r"[a-z0-9_]+", case):
            raise TwinError(f"bad broken twin spec {spec!r}: expected twin-broken:<case>")
        return TwinSpec(arch=case, broken=True)
    if not spec.startswith(TWIN_PREFIX):
        raise TwinError(f"not a twin spec {spec!r}: expected twin:<arch>[@<size>][-q4|-q8] or twin-broken:<case>")
    m = _TWIN_RE.match(spec[len(TWIN_PREFIX) :])
    if not m:
        raise TwinError(f"bad twin spec {spec!r}: expected twin:<arch>[@<size>][-q4|-q8], e.g. twin:qwen2_vl@2b-q4")
    bits = int(m["bits"]) if m["bits"] else None
    return TwinSpec(arch=m["arch"], size=m["size"] or "tiny", bits=bits)
