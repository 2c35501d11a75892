# Minimal stand-in for the configuration_mimo_v2.py that XiaomiMiMo MiMo-V2.x checkpoints ship (trust_remote_code):
# transformers 5.24 has mimo_v2_flash but no "mimo_v2". Text keys at the root, vision and audio configs nested.
from transformers import PretrainedConfig


class MiMoV2Config(PretrainedConfig):
    model_type = "mimo_v2"

    def __init__(self, vision_config=None, audio_config=None, hybrid_layer_pattern=None, moe_layer_freq=None,
                 tie_word_embeddings=False, **kwargs):
        self.vision_config = dict(vision_config or {})
        self.audio_config = dict(audio_config or {})
        self.hybrid_layer_pattern = list(hybrid_layer_pattern or [])
        self.moe_layer_freq = list(moe_layer_freq or [])
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
