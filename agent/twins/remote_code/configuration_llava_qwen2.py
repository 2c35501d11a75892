# Minimal stand-in for the configuration_llava_qwen2.py that qnguyen3/nanoLLaVA ships (trust_remote_code).
from transformers import Qwen2Config


class LlavaQwen2Config(Qwen2Config):
    model_type = "llava-qwen2"

    def __init__(self, mm_hidden_size=1152, mm_projector_type="mlp2x_gelu", mm_vision_tower=None,
                 vision_config=None, **kwargs):
        self.mm_hidden_size = mm_hidden_size
        self.mm_projector_type = mm_projector_type
        self.mm_vision_tower = mm_vision_tower
        self.vision_config = vision_config or {}
        super().__init__(**kwargs)
