# Minimal config class for the deepseek_vl_v2 twin. transformers has no "deepseek_vl_v2" config and the real
# deepseek-ai checkpoints rely on the deepseek_vl2 pip package instead of remote code; the twin ships this file
# (auto_map) so its config.json passes transformers' AutoConfig validation like every other twin.
from transformers import PretrainedConfig


class DeepseekVLV2Config(PretrainedConfig):
    model_type = "deepseek_vl_v2"

    def __init__(self, vision_config=None, projector_config=None, language_config=None, tile_tag="2D",
                 global_view_pos="head", candidate_resolutions=((384, 384),), **kwargs):
        self.vision_config = dict(vision_config or {})
        self.projector_config = dict(projector_config or {})
        self.language_config = dict(language_config or {})
        self.tile_tag = tile_tag
        self.global_view_pos = global_view_pos
        self.candidate_resolutions = [list(r) for r in candidate_resolutions]
        super().__init__(**kwargs)
