"""Synthetic twins: tiny and real-size random-weight models of mlx-vlm architectures, built offline.

    from agent.twins import materialize, list_twins, TwinError
    path = materialize("twin:qwen2_vl")        # also twin:qwen2_vl@2b, twin:qwen2_vl-q4, twin-broken:<case>

Config, tokenizer and processor files are pure Python; only the weights need mlx (through agent.adapter).
"""

from __future__ import annotations

from agent.twins.build import materialize
from agent.twins.listing import list_twins
from agent.twins.registry import TwinInfo
from agent.twins.spec import TwinError, is_twin, parse

__all__ = ["materialize", "list_twins", "TwinError", "TwinInfo", "is_twin", "parse"]
