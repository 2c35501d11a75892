"""Which twins exist: architecture -> builder, plus the architectures that cannot be built (and why)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from agent.twins import gemma, idefics, qwen
from agent.twins.files import TwinFiles

# A builder takes (config overrides, preprocessor overrides) and returns the files of one twin; tiny when both None.
Builder = Callable[..., TwinFiles]

BUILDERS: dict[str, Builder] = {
    "qwen2_vl": qwen.qwen2_vl,
    "qwen2_5_vl": qwen.qwen2_5_vl,
    "qwen3_vl": qwen.qwen3_vl,
    "smolvlm": idefics.smolvlm,
    "idefics3": idefics.idefics3,
    "gemma3": gemma.gemma3,
    "paligemma": gemma.paligemma,
}

# Architectures of the installed mlx-vlm that have no twin, with the reason (shown by `grid twins list`).
NOT_BUILDABLE: dict[str, str] = {}

# Twins that are expected to fail at run time through a genuine upstream bug (kept faithful, never patched).
EXPECTED_FAILURES: dict[str, dict] = {}


@dataclass(frozen=True)
class TwinInfo:
    name: str  # the spec to use in a suite: twin:<arch> or twin-broken:<case>
    arch: str  # mlx-vlm model_type
    sizes: list[str]  # "tiny" plus the real-size names (e.g. "2b") that `twin:<arch>@<size>` accepts
    buildable: bool
    reason: str | None = None


def builder_for(arch: str) -> Builder | None:
    return BUILDERS.get(arch)
