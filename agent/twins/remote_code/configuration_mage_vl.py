# Minimal stand-in for the configuration code Mage-VL checkpoints ship (trust_remote_code): a composite config whose
# text_config (qwen3) and vision_config (Mage-ViT) stay plain dicts.
from transformers import PretrainedConfig


class MageVLConfig(PretrainedConfig):
    model_type = "mage_vl"

    def __init__(self, text_config=None, vision_config=None, image_token_id=151655, video_token_id=151656,
                 vision_start_token_id=151652, vision_end_token_id=151653, **kwargs):
        self.text_config = text_config or {}
        self.vision_config = vision_config or {}
        self.image_token_id = image_token_id
        self.video_token_id = video_token_id
        self.vision_start_token_id = vision_start_token_id
        self.vision_end_token_id = vision_end_token_id
        super().__init__(**kwargs)
