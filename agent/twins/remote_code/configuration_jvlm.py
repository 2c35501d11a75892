# Minimal stand-in for the configuration code Jina VLM checkpoints ship (trust_remote_code): transformers has no
# "jvlm" config. The real config.json nests its per-block settings (text_config / vision_config, each with a
# block_config of attn_config / ffn_config / lnorm_config, and the vision side's vl_connector_config); mlx-vlm reads
# those dicts itself, so this config keeps them as given.
from transformers import PretrainedConfig


class JinaVLMConfig(PretrainedConfig):
    model_type = "jvlm"

    def __init__(self, text_config=None, vision_config=None, image_token_index=151940, tie_word_embeddings=False,
                 **kwargs):
        self.text_config = dict(text_config or {})
        self.vision_config = dict(vision_config or {})
        self.image_token_index = image_token_index
        for key in ("hidden_size", "vocab_size"):
            if key in self.text_config:
                setattr(self, key, self.text_config[key])
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
