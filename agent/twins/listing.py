"""list_twins(): every twin grid knows, buildable or not, with the reason when not."""

from __future__ import annotations

from agent.twins import registry, sizes
from agent.twins.registry import TwinInfo


def list_twins() -> list[TwinInfo]:
    out = [
        TwinInfo(name=f"twin:{arch}", arch=arch, sizes=sizes.sizes_of(arch), buildable=True)
        for arch in sorted(registry.BUILDERS)
    ]
    out += [
        TwinInfo(name=f"twin:{arch}", arch=arch, sizes=[], buildable=False, reason=reason)
        for arch, reason in sorted(registry.NOT_BUILDABLE.items())
    ]
    try:
        from agent.twins import broken
    except ImportError:  # broken twins not written yet
        return out
    out += [
        TwinInfo(name=f"twin-broken:{case}", arch=info.arch, sizes=["tiny"], buildable=True, reason=info.reproduces)
        for case, info in sorted(broken.CASES.items())
    ]
    return out
