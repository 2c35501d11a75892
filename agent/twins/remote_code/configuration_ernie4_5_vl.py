# Minimal stand-in for the configuration_ernie4_5_vl.py that baidu/ERNIE-4.5-VL-*-PT checkpoints ship
# (trust_remote_code): transformers 5.24 only has the HF-native "ernie4_5_vl_moe" layout, not these flat configs.
from transformers import PretrainedConfig


class DFNRopeVisionTransformerConfig(PretrainedConfig):
    model_type = "DFNRope_vision_transformer"

    def __init__(self, depth=32, embed_dim=1280, hidden_size=3584, hidden_act="quick_gelu", mlp_ratio=4, num_heads=16,
                 in_channels=3, patch_size=14, spatial_merge_size=2, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth
        self.embed_dim = embed_dim
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.mlp_ratio = mlp_ratio
        self.num_heads = num_heads
        self.in_channels = in_channels
        self.patch_size = patch_size
        self.spatial_merge_size = spatial_merge_size


class Ernie4_5_VLMoEConfig(PretrainedConfig):
    model_type = "ernie4_5_moe_vl"

    def __init__(self, vision_config=None, im_patch_id=100295, pixel_hidden_size=1280, spatial_conv_size=2,
                 temporal_conv_size=2, rope_3d=True, freq_allocation=20, **kwargs):
        if isinstance(vision_config, dict) or vision_config is None:
            vision_config = DFNRopeVisionTransformerConfig(**(vision_config or {}))
        self.vision_config = vision_config
        self.im_patch_id = im_patch_id
        self.pixel_hidden_size = pixel_hidden_size
        self.spatial_conv_size = spatial_conv_size
        self.temporal_conv_size = temporal_conv_size
        self.rope_3d = rope_3d
        self.freq_allocation = freq_allocation
        super().__init__(**kwargs)

    def to_dict(self):
        out = super().to_dict()
        out["vision_config"] = self.vision_config.to_dict()
        return out
