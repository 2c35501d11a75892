# Minimal stand-in for the configuration code LocateAnything (Eagle family) checkpoints ship (trust_remote_code):
# transformers 5.24 has no "locateanything" config. text_config (qwen2 + PBD block keys) and vision_config (MoonViT)
# stay plain dicts.
from transformers import PretrainedConfig


class LocateAnythingConfig(PretrainedConfig):
    model_type = "locateanything"

    def __init__(self, text_config=None, vision_config=None, image_token_index=151665, mlp_connector_layers=2,
                 n_future_tokens=6, **kwargs):
        self.text_config = text_config or {}
        self.vision_config = vision_config or {}
        self.image_token_index = image_token_index
        self.mlp_connector_layers = mlp_connector_layers
        self.n_future_tokens = n_future_tokens
        super().__init__(**kwargs)
