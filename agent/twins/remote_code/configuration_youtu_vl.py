# Minimal stand-in for the configuration code Youtu-VL checkpoints ship (trust_remote_code): transformers has the
# Youtu LLM ("youtu") but no "youtu_vl". As in the real config.json, the MLA text keys live at the root and the
# SigLIP2 tower (windowed attention, 2x2 patch merger) under vision_config, which mlx-vlm reads as a dict.
from transformers import PretrainedConfig


class YoutuVLConfig(PretrainedConfig):
    model_type = "youtu_vl"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=283386, hidden_size=2560, intermediate_size=9728, num_hidden_layers=40,
                 num_attention_heads=32, num_key_value_heads=32, kv_lora_rank=512, q_lora_rank=1536,
                 qk_rope_head_dim=64, qk_nope_head_dim=128, v_head_dim=128, rms_norm_eps=1e-6,
                 max_position_embeddings=32768, rope_theta=500000.0, rope_interleave=True, vision_config=None,
                 image_token_id=128264, video_token_id=128265, vision_start_token_id=128262,
                 vision_end_token_id=128263, tie_word_embeddings=True, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.kv_lora_rank = kv_lora_rank
        self.q_lora_rank = q_lora_rank
        self.qk_rope_head_dim = qk_rope_head_dim
        self.qk_nope_head_dim = qk_nope_head_dim
        self.v_head_dim = v_head_dim
        self.rms_norm_eps = rms_norm_eps
        self.max_position_embeddings = max_position_embeddings
        self.rope_theta = rope_theta
        self.rope_interleave = rope_interleave
        self.vision_config = dict(vision_config or {})
        self.image_token_id = image_token_id
        self.video_token_id = video_token_id
        self.vision_start_token_id = vision_start_token_id
        self.vision_end_token_id = vision_end_token_id
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)
