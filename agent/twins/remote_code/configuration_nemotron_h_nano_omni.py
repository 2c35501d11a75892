# Minimal stand-in for the configuration.py that nvidia/Nemotron-3-Nano-Omni-30B-A3B-Reasoning-BF16 ships
# (trust_remote_code; written into the twin as configuration.py): transformers has no
# "NemotronH_Nano_Omni_Reasoning_V3" config. The real class is a composition of RADIOConfig (vision_config),
# NemotronHConfig (llm_config, aliased as text_config) and SoundConfig (sound_config, None without audio); here the
# sub-configs stay plain dicts, which is all AutoConfig (the twin's config lint and AutoTokenizer) needs. mlx-vlm
# never loads it: it reads config.json itself.
from transformers import PretrainedConfig


class NemotronH_Nano_Omni_Reasoning_V3_Config(PretrainedConfig):
    model_type = "NemotronH_Nano_Omni_Reasoning_V3"
    is_composition = True

    def __init__(self, vision_config=None, llm_config=None, sound_config=None, force_image_size=512,
                 patch_size=16, downsample_ratio=0.5, template=None, ps_version="v2", image_tag_type="internvl",
                 projector_hidden_size=20480, vit_hidden_size=1280, video_pruning_rate=0.0,
                 video_temporal_patch_size=2, **kwargs):
        self.vision_config = vision_config or {}
        self.llm_config = llm_config or {}
        self.sound_config = sound_config
        self.force_image_size = force_image_size
        self.patch_size = patch_size
        self.downsample_ratio = downsample_ratio
        self.template = template
        self.ps_version = ps_version
        self.image_tag_type = image_tag_type
        self.projector_hidden_size = projector_hidden_size
        self.vit_hidden_size = vit_hidden_size
        self.video_pruning_rate = video_pruning_rate
        self.video_temporal_patch_size = video_temporal_patch_size
        super().__init__(**kwargs)

    @property
    def text_config(self):
        return self.llm_config
