# Minimal stand-in for the configuration_llmjpvl.py that LLM-jp-VL checkpoints ship (trust_remote_code): transformers
# has no "llmjpvl" config. A composite config as in the real config.json: a SigLIP `vision_config` and the decoder
# under `llm_config` (llama for llm-jp-4-vl-9B, qwen3 for Jagle-VL), plus the InternVL-style connector keys.
from transformers import LlamaConfig, PretrainedConfig, Qwen3Config, SiglipVisionConfig


class LLMjpVLConfig(PretrainedConfig):
    model_type = "llmjpvl"
    is_composition = True

    def __init__(self, vision_config=None, llm_config=None, downsample_ratio=0.5, select_layer=-1,
                 img_context_token_id=None, **kwargs):
        super().__init__(**kwargs)
        self.vision_config = SiglipVisionConfig(**(vision_config or {}))
        llm_config = dict(llm_config or {})
        text_class = Qwen3Config if llm_config.get("model_type") == "qwen3" else LlamaConfig
        self.llm_config = text_class(**llm_config)
        self.downsample_ratio = downsample_ratio
        self.select_layer = select_layer
        self.img_context_token_id = img_context_token_id
