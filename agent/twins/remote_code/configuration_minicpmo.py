# Minimal stand-in for the configuration_minicpmo.py that openbmb/MiniCPM-o-4_5 ships (trust_remote_code):
# transformers has no "minicpmo" config. The real MiniCPMOConfig extends Qwen3Config (text keys at the root) and
# nests vision_config (SigLIP), audio_config (Whisper encoder) and tts_config; here they stay plain dicts, which is
# all AutoConfig (the twin's config lint) needs. mlx-vlm never loads it: it reads config.json itself.
from transformers import PretrainedConfig


class MiniCPMOConfig(PretrainedConfig):
    model_type = "minicpmo"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=151748, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                 num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                 rms_norm_eps=1e-6, rope_theta=1000000.0, rope_scaling=None, attention_bias=False,
                 hidden_act="silu", vision_config=None, audio_config=None, tts_config=None, slice_config=None,
                 query_num=64, image_size=448, patch_size=14, tie_word_embeddings=False, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.head_dim = head_dim
        self.max_position_embeddings = max_position_embeddings
        self.rms_norm_eps = rms_norm_eps
        self.rope_theta = rope_theta
        if rope_scaling is not None:  # transformers 5 warns on any rope_scaling assignment, even None
            self.rope_scaling = rope_scaling
        self.attention_bias = attention_bias
        self.hidden_act = hidden_act
        self.vision_config = vision_config or {}
        self.audio_config = audio_config or {}
        self.tts_config = tts_config or {}
        self.slice_config = slice_config or {}
        self.query_num = query_num
        self.image_size = image_size
        self.patch_size = patch_size
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
