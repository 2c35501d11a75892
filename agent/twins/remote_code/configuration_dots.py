# Minimal stand-in for the configuration_dots.py that rednote-hilab/dots.ocr ships (trust_remote_code).
from transformers import Qwen2Config


class DotsOCRConfig(Qwen2Config):
    model_type = "dots_ocr"

    def __init__(self, image_token_id=151665, video_token_id=151656, vision_config=None, **kwargs):
        self.image_token_id = image_token_id
        self.video_token_id = video_token_id
        self.vision_config = vision_config or {}
        super().__init__(**kwargs)
