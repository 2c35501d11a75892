# Minimal stand-in for the llava_qwen.py that apple/FastVLM-* ship (trust_remote_code): its config class only.
from transformers import Qwen2Config


class LlavaConfig(Qwen2Config):
    model_type = "llava_qwen2"

    def __init__(self, mm_hidden_size=3072, mm_projector_type="mlp2x_gelu", mm_vision_tower=None, **kwargs):
        self.mm_hidden_size = mm_hidden_size
        self.mm_projector_type = mm_projector_type
        self.mm_vision_tower = mm_vision_tower
        super().__init__(**kwargs)
