# Minimal stand-in for the configuration_kimi_vl.py that Kimi-VL checkpoints ship (trust_remote_code):
# transformers has no native "kimi_vl" config. Text side is a DeepSeek-V3 (MLA + MoE) config, vision is MoonViT.
from transformers import DeepseekV3Config, PretrainedConfig


class MoonViTConfig(PretrainedConfig):
    model_type = "moonvit"

    def __init__(self, patch_size=14, init_pos_emb_height=64, init_pos_emb_width=64, num_attention_heads=16,
                 num_hidden_layers=27, hidden_size=1152, intermediate_size=4304, merge_kernel_size=(2, 2), **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.init_pos_emb_height = init_pos_emb_height
        self.init_pos_emb_width = init_pos_emb_width
        self.num_attention_heads = num_attention_heads
        self.num_hidden_layers = num_hidden_layers
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.merge_kernel_size = list(merge_kernel_size)


class KimiVLConfig(PretrainedConfig):
    model_type = "kimi_vl"

    def __init__(self, vision_config=None, text_config=None, ignore_index=-100, media_placeholder_token_id=163605,
                 pad_token_id=0, **kwargs):
        self.vision_config = MoonViTConfig(**(vision_config or {})) if not isinstance(vision_config, PretrainedConfig) else vision_config
        self.text_config = DeepseekV3Config(**(text_config or {})) if not isinstance(text_config, PretrainedConfig) else text_config
        self.ignore_index = ignore_index
        self.media_placeholder_token_id = media_placeholder_token_id
        super().__init__(pad_token_id=pad_token_id, **kwargs)

    def to_dict(self):
        out = super().to_dict()
        out["vision_config"] = self.vision_config.to_dict()
        out["text_config"] = self.text_config.to_dict()
        return out
