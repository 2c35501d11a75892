"""Nemotron-Parse twin (nvidia/NVIDIA-Nemotron-Parse-2.0 layout: a C-RADIO ViT encoder with cls + register tokens
and a neck (1x1 conv, a (1, 4) stride conv, a summary projection), feeding an mBART-style decoder with cross
attention and no positional table; `encoder` / `decoder` sub-configs, config via shipped remote code
hf_nemotron_parse_config.NemotronParseConfig). Image to text only: the decoder is seeded with decoder_start_token_id.

Heavy, not tiny (registry.HEAVY): mlx_vlm.utils.load_model seeds config["vision_config"] = {} and
update_module_configs then rebuilds VisionConfig from that empty dict, discarding the `encoder` dims that
nemotron_parse's ModelConfig.from_dict read (it re-seeds text_config from `decoder` for the same reason, not
vision_config), so whatever `encoder` says, the real C-RADIO ViT-H (32 x 1280, neck 1024) is built. The twin's
`encoder` therefore states those real dims (what is built), and the decoder keeps d_model 1024 = neck_dim (its
cross-attention keys are d_model wide); its depth, FFN and vocab are tiny. mlx-vlm's
NemotronParseProcessor.from_pretrained builds NemotronParseImageProcessor() with its defaults, whatever the folder
says, so every image is padded to 2048 x 1664 (128 x 104 patches of 16 px, 13,312 vision tokens, 3,329 after the
neck). The real `encoder` holds RADIO `args`; mlx-vlm reads its own keys (hidden_size, num_heads, num_layers,
mlp_ratio, neck_dim), which the twin sets. On mlx's CPU backend generation segfaults in the first ViT-H attention
(16 heads x 13,320^2 bf16 scores; registry.EXPECTED_FAILURES has the measured threshold).
"""

from __future__ import annotations

from agent.twins.common import TINY_FFN, TINY_LAYERS, deep_merge, vocab_of
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

# the C-RADIO ViT-H that mlx-vlm's VisionConfig() defaults build, whatever `encoder` says (see above)
RADIO_VIT_H = {"hidden_size": 1280, "num_heads": 16, "num_layers": 32, "mlp_ratio": 4.0, "neck_dim": 1024}
D_MODEL = RADIO_VIT_H["neck_dim"]  # the decoder's width must match the hardcoded neck

# mBART order: <s> 0, <pad> 1, </s> 2, <unk> 3; then the task tokens of the real prompt
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<predict_bbox>", "<predict_classes>", "<output_markdown>")


def nemotron_parse(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})  # the root vocab_size; the decoder's follows it
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, bos="<s>", eos="</s>", pad="<pad>", unk="<unk>")
    base = {
        "architectures": ["NemotronParseForConditionalGeneration"],
        "model_type": "nemotron_parse",
        "auto_map": {
            "AutoConfig": "hf_nemotron_parse_config.NemotronParseConfig",
            "AutoModel": "hf_nemotron_parse_modeling.NemotronParseForConditionalGeneration",
        },
        "image_size": [2048, 1664],
        "vocab_size": vocab,
        "max_sequence_length": 9000,
        "pad_token_id": tok.id("<pad>"),
        "bos_token_id": tok.id("<s>"),
        "eos_token_id": tok.id("</s>"),
        "decoder_start_token_id": tok.id("</s>"),
        "tie_word_embeddings": True,
        "is_encoder_decoder": True,
        "decoder": {
            "model_type": "nemotron_parse_text",
            "d_model": D_MODEL,
            "decoder_layers": TINY_LAYERS,
            "decoder_attention_heads": 16,  # head dim 64, as the checkpoints
            "decoder_ffn_dim": TINY_FFN,
            "activation_function": "gelu",
            "scale_embedding": True,
            "vocab_size": vocab,
            "decoder_start_token_id": None,
            "pad_token_id": tok.id("<pad>"),
            "bos_token_id": tok.id("<s>"),
            "eos_token_id": tok.id("</s>"),
        },
        "encoder": {
            "patch_size": 16,
            "max_resolution": 2048,
            "args": {"model": "vit_huge_patch16_224", "register_multiple": 8, "cls_token_per_teacher": True},
            **RADIO_VIT_H,
            "num_cls_tokens": 4,
            "num_register_tokens": 4,
            "summary_idxs": [0, 1, 2],
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        extra_files={"hf_nemotron_parse_config.py": remote_file("hf_nemotron_parse_config.py")},
        tie_embeddings=True,
        trust_remote_code=True,
    )
