# Minimal stand-in for the GOTConfig that stepfun-ai/GOT-OCR2_0 ships in modeling_GOT.py (trust_remote_code).
from transformers import Qwen2Config


class GOTConfig(Qwen2Config):
    model_type = "got"

    def __init__(self, im_patch_token=151859, im_start_token=151857, im_end_token=151858, image_token_len=256,
                 use_im_start_end=True, vision_config=None, **kwargs):
        self.im_patch_token = im_patch_token
        self.im_start_token = im_start_token
        self.im_end_token = im_end_token
        self.image_token_len = image_token_len
        self.use_im_start_end = use_im_start_end
        self.vision_config = vision_config or {}
        super().__init__(**kwargs)
