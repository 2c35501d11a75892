"""Synthetic twins: tiny and real-size random-weight models of mlx-vlm architectures, built offline.

    from agent.twins import materialize, list_twins, TwinError
    path = materialize("twin:qwen2_vl")        # also twin:qwen2_vl@2b, twin:qwen2_vl-q4, twin:qwen2_vl@2b-q8,
                                               # twin-broken:<case>; the folder loads with mlx_vlm.load(path)

Layout: one module per architecture family (qwen, idefics, gemma, llava, mistral, lfm2, mllama, glm, internvl, kimi,
florence, molmo, deepseek, phi3v, aya, bunny, gemma4, llama4) returns the files of a twin (TwinFiles: config, tokenizer spec,
processor configs, chat template, shipped remote code); registry.py maps model types to them; sizes.py holds the
published dimensions of real models for `@<size>`; coverage.py classifies every mlx-vlm vision folder (twin / not a
generative VLM / not yet buildable, with why); broken.py holds the failure cases; build.py writes, lints
(transformers' AutoConfig) and caches them. Config, tokenizer and processor files are pure Python; only the weights
and quantized variants need mlx, through agent.adapter (the one module that imports mlx).

Adding an architecture: write `def <model_type>(over=None, pre=None) -> TwinFiles` in its family module (tiny
dimensions from common.py, special tokens first in the tokenizer so their ids are known, processor token counts
derived from the config), register it in registry.BUILDERS (and drop its coverage.NOT_YET_BUILT entry), and `grid twins check twin:<model_type>`.
"""

from __future__ import annotations

from agent.twins.build import materialize
from agent.twins.listing import list_twins
from agent.twins.registry import TwinInfo
from agent.twins.spec import TwinError, is_twin, parse

__all__ = ["materialize", "list_twins", "TwinError", "TwinInfo", "is_twin", "parse"]
