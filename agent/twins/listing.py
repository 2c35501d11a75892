"""list_twins(): every twin grid knows, buildable or not, with the reason when not."""

from __future__ import annotations

from agent.twins import registry, sizes
from agent.twins.registry import TwinInfo


def note(arch: str) -> str | None:
    """For a buildable twin, `reason` carries what a user should know before running it (heavy, expected failure)."""
    if arch in registry.HEAVY:
        return f"heavy: {registry.HEAVY[arch]}"
    expected = registry.EXPECTED_FAILURES.get(arch)
    if expected:
        where = f" on the {expected['backend']} backend" if expected.get("backend") else ""
        text = f"expected to fail{where}: {expected['error_class']} ({expected['error_package']})"
        quantized = registry.EXPECTED_QUANTIZED_FAILURES.get(arch)
        if quantized:
            text += f"; -q4 on every backend: {quantized['error_class']} ({quantized['error_package']})"
        return text
    if arch in registry.IMAGE_DROPPED:
        return f"runs text-only, the image is dropped: {registry.IMAGE_DROPPED[arch]}"
    return None


def list_twins() -> list[TwinInfo]:
    out = [
        TwinInfo(name=f"twin:{arch}", arch=arch, sizes=sizes.sizes_of(arch), buildable=True, reason=note(arch))
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
