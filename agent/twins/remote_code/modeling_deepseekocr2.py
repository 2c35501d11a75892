# Minimal config stand-in for the deepseekocr_2 twin. transformers has no "deepseekocr_2" config; the DeepSeek-OCR-2
# checkpoints load through remote code. By analogy with OCR 1 (AutoConfig -> modeling_deepseekocr.DeepseekOCRConfig)
# the twin maps AutoConfig to modeling_deepseekocr2.DeepseekOCR2Config and ships only that config class, so its
# config.json passes transformers' AutoConfig validation (trust_remote_code).
from transformers import PretrainedConfig


class DeepseekOCR2Config(PretrainedConfig):
    model_type = "deepseekocr_2"

    def __init__(self, vision_config=None, projector_config=None, language_config=None, tile_tag="2D",
                 global_view_pos="head", candidate_resolutions=((1024, 1024),), **kwargs):
        self.vision_config = dict(vision_config or {})
        self.projector_config = dict(projector_config or {})
        self.language_config = dict(language_config or {})
        self.tile_tag = tile_tag
        self.global_view_pos = global_view_pos
        self.candidate_resolutions = [list(r) for r in candidate_resolutions]
        super().__init__(**kwargs)
