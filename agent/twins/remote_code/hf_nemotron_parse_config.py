# Minimal config stand-in for the nemotron_parse twin. The real checkpoints (nvidia/NVIDIA-Nemotron-Parse-*) ship
# hf_nemotron_parse_config.NemotronParseConfig, whose encoder config resolves the C-RADIO config from another hub
# repo (get_class_from_dynamic_module on encoder.auto_map); offline, the twin keeps `encoder` a plain dict and the
# mBART `decoder` as given, so its config.json passes transformers' AutoConfig validation (trust_remote_code).
from transformers import PretrainedConfig


class NemotronParseConfig(PretrainedConfig):
    model_type = "nemotron_parse"
    is_composition = True

    def __init__(self, encoder=None, decoder=None, tie_word_embeddings=False, decoder_start_token_id=2,
                 pad_token_id=1, eos_token_id=2, bos_token_id=0, image_size=(2048, 1648), is_encoder_decoder=True,
                 max_sequence_length=9000, **kwargs):
        super().__init__(tie_word_embeddings=tie_word_embeddings, decoder_start_token_id=decoder_start_token_id,
                         pad_token_id=pad_token_id, eos_token_id=eos_token_id, bos_token_id=bos_token_id, **kwargs)
        self.encoder = dict(encoder or {})
        self.decoder = dict(decoder or {})
        self.image_size = list(image_size)
        self.vocab_size = self.decoder.get("vocab_size", 250027)
        self.is_encoder_decoder = is_encoder_decoder
        self.max_sequence_length = max_sequence_length
