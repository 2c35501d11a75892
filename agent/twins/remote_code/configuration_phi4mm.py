# Minimal stand-in for the configuration_phi4mm.py that microsoft/Phi-4-multimodal-instruct ships (trust_remote_code):
# transformers has no native "phi4mm" config (its phi4_multimodal is another layout). Text keys live at the root, as
# in the real config.json; AutoTokenizer loads it (without it, v5 falls back to PreTrainedConfig, whose rope
# standardisation fails on the root-level LongRoPE rope_scaling).
from transformers import PretrainedConfig


class Phi4MMConfig(PretrainedConfig):
    model_type = "phi4mm"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=200064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=None, max_position_embeddings=131072,
                 original_max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=None,
                 partial_rotary_factor=1.0, embd_layer=None, img_processor=None, audio_processor=None,
                 vision_lora=None, speech_lora=None, tie_word_embeddings=False, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads or num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.original_max_position_embeddings = original_max_position_embeddings
        self.rms_norm_eps = rms_norm_eps
        self.rope_theta = rope_theta
        self.partial_rotary_factor = partial_rotary_factor
        if rope_scaling is not None:  # transformers 5 warns on any rope_scaling assignment, even None
            self.rope_scaling = rope_scaling
        self.embd_layer = embd_layer or {}
        self.img_processor = img_processor
        self.audio_processor = audio_processor
        self.vision_lora = vision_lora
        self.speech_lora = speech_lora
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
