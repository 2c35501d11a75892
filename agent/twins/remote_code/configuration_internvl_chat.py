# Minimal stand-in for the configuration_internvl_chat.py that InternVL checkpoints ship (trust_remote_code).
# transformers has no native "internvl_chat" config, so real checkpoints resolve AutoConfig through this file too.
from transformers import LlamaConfig, PretrainedConfig, Qwen2Config


class InternVisionConfig(PretrainedConfig):
    model_type = "intern_vit_6b"

    def __init__(self, hidden_size=1024, num_attention_heads=16, num_hidden_layers=24, intermediate_size=4096,
                 image_size=448, patch_size=14, num_channels=3, qkv_bias=True, qk_normalization=False,
                 norm_type="layer_norm", layer_norm_eps=1e-6, drop_path_rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.num_hidden_layers = num_hidden_layers
        self.intermediate_size = intermediate_size
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_channels = num_channels
        self.qkv_bias = qkv_bias
        self.qk_normalization = qk_normalization
        self.norm_type = norm_type
        self.layer_norm_eps = layer_norm_eps
        self.drop_path_rate = drop_path_rate


class InternVLChatConfig(PretrainedConfig):
    model_type = "internvl_chat"
    is_composition = True

    def __init__(self, vision_config=None, llm_config=None, downsample_ratio=0.5, force_image_size=None,
                 max_dynamic_patch=12, min_dynamic_patch=1, use_thumbnail=True, template="internvl2_5", **kwargs):
        super().__init__(**kwargs)
        self.vision_config = InternVisionConfig(**(vision_config or {}))
        llm_config = dict(llm_config or {})
        arch = (llm_config.get("architectures") or ["Qwen2ForCausalLM"])[0]
        self.llm_config = (LlamaConfig if "Llama" in arch else Qwen2Config)(**llm_config)
        self.downsample_ratio = downsample_ratio
        self.force_image_size = force_image_size
        self.max_dynamic_patch = max_dynamic_patch
        self.min_dynamic_patch = min_dynamic_patch
        self.use_thumbnail = use_thumbnail
        self.template = template

    def to_dict(self):
        out = super().to_dict()
        out["vision_config"] = self.vision_config.to_dict()
        out["llm_config"] = self.llm_config.to_dict()
        return out
