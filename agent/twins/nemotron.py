"""Nemotron-Parse twin (nvidia/NVIDIA-Nemotron-Parse-2.0 layout: a C-RADIO ViT encoder with cls + register tokens
and a neck (1x1 conv, a (1, 4) stride conv, a summary projection), feeding an mBART-style decoder with cross
attention and no positional table; `encoder` / `decoder` sub-configs, config via shipped remote code
hf_nemotron_parse_config.NemotronParseConfig). Image to text only: the decoder is seeded with the prompt's tokens.

DRAFT, NOT REGISTERED (see coverage.NOT_YET_BUILT["nemotron_parse"]): mlx_vlm.utils.load_model seeds
config["vision_config"] = {} and update_module_configs then rebuilds VisionConfig from that empty dict, discarding
the `encoder` dims that nemotron_parse's ModelConfig.from_dict read (it re-seeds text_config from `decoder` for the
same reason, not vision_config), so whatever `encoder` says, the real C-RADIO ViT-H (32 x 1280) is built: this
builder writes a 1.3 GB bf16 folder (~660M parameters).

Gotchas: mlx-vlm's NemotronParseProcessor.from_pretrained builds NemotronParseImageProcessor() with its defaults,
whatever the folder says, so every image is padded to 2048 x 1664 (128 x 104 patches of 16 px, 13,312 vision tokens,
3,329 after the neck). The real `encoder` holds RADIO `args`; mlx-vlm reads its own keys (hidden_size, num_heads,
num_layers, mlp_ratio, neck_dim), which the twin sets (to no effect, see above), and neck_dim must equal the
decoder's d_model (cross-attention keys are d_model wide).
"""

from __future__ import annotations

from agent.twins.common import (
    TINY_FFN,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_LAYERS,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

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
            "d_model": TINY_HIDDEN,
            "decoder_layers": TINY_LAYERS,
            "decoder_attention_heads": TINY_HEADS,
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
            "args": {"model": "vit_tiny_patch16", "register_multiple": 8, "cls_token_per_teacher": True},
            "hidden_size": VISION_HIDDEN,
            "num_heads": VISION_HEADS,
            "num_layers": 1,
            "mlp_ratio": 2.0,
            "num_cls_tokens": 4,
            "num_register_tokens": 4,
            "summary_idxs": [0, 1, 2],
            "neck_dim": TINY_HIDDEN,  # = decoder d_model
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
