# Minimal config stand-in for the deepseekocr twin. The real checkpoints (deepseek-ai/DeepSeek-OCR and its
# mlx-community conversions) map AutoConfig to modeling_deepseekocr.DeepseekOCRConfig, a file that also holds the
# torch model; the twin ships only the config class under the same name, so its config.json passes transformers'
# AutoConfig validation (trust_remote_code) like the real checkpoints' does.
from transformers import PretrainedConfig


class DeepseekOCRConfig(PretrainedConfig):
    model_type = "deepseekocr"

    def __init__(self, vision_config=None, projector_config=None, language_config=None, tile_tag="2D",
                 global_view_pos="head", candidate_resolutions=((1024, 1024),), **kwargs):
        self.vision_config = dict(vision_config or {})
        self.projector_config = dict(projector_config or {})
        self.language_config = dict(language_config or {})
        self.tile_tag = tile_tag
        self.global_view_pos = global_view_pos
        self.candidate_resolutions = [list(r) for r in candidate_resolutions]
        super().__init__(**kwargs)
