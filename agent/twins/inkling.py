"""Inkling twin (thinkingmachines/Inkling layout), derived (agent.twins.derive) from mlx-vlm's own inkling config
dataclasses; only the family specifics are written here. config.json declares model_type `inkling_mm_model`, as the
checkpoints do (transformers' InklingConfig; mlx-vlm remaps it to its `inkling` folder), with nested text_config
(hybrid layers: sliding-window and full attention with a learned relative-position bias, short convolutions on
k / v and around attention and MLP, a dense first MLP then sigmoid-gated MoE with shared experts), vision_config
(an attention-free hierarchical-MLP patchifier: each 40 x 40 x 2-frame patch folds space and time into channels
and projects to one text-width soft token) and audio_config (dMel bins; not driven here).

Gotchas:
* mlx-vlm's InklingProcessor.from_pretrained builds `InklingImageProcessor()` with its defaults (patch 40, no
  rescaling) and ignores any preprocessor config, so the vision tower keeps the real patch_size 40 and a 320 x 240
  image becomes ceil(240/40) x (320//40 + 1) = 54 tokens. The HMLP's widths follow from the patch size
  (channels grow to 40 x 40 x 3 x 2 = 9,600 at the last fold); n_layers 2 instead of 4 keeps the tower at ~0.7M
  parameters, where the real 4-layer plan (a 4,864 -> 4,800 fold) would take ~25M.
* the image token is the literal `<|unused_200054|>` (and `<|content_image|>` opens an image), looked up in the
  tokenizer, so a 512 vocab serves; config.json's image_token_id must be that id.
* the processor takes the pad token from config.json's eos_token_id when the tokenizer has none (the real tokenizer
  declares no pad / eos); the twin's tokenizer declares both.
"""

from __future__ import annotations

from agent.twins.common import TINY_HEAD_DIM, TINY_HEADS, TINY_KV_HEADS, deep_merge, vocab_of
from agent.twins.derive import derive
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_turn|>", "<|pad|>"
IMAGE, IMAGE_BOS = "<|unused_200054|>", "<|content_image|>"
AUDIO, AUDIO_BOS = "<|unused_200053|>", "<|content_audio_input|>"
START, MESSAGE = "<|start_of_turn|>", "<|message|>"
SPECIALS = (PAD, BOS, EOS, START, MESSAGE, IMAGE_BOS, IMAGE, AUDIO_BOS, AUDIO)


def inkling(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, bos=BOS, eos=EOS, pad=PAD)
    specifics = {
        "architectures": ["InklingForConditionalGeneration"],
        "model_type": "inkling_mm_model",
        "image_token_id": tok.id(IMAGE),
        "audio_token_id": tok.id(AUDIO),
        "image_bos_token_id": tok.id(IMAGE_BOS),
        "audio_bos_token_id": tok.id(AUDIO_BOS),
        "eos_token_id": [tok.id(EOS)],
        "text_config": {
            "model_type": "inkling_text",
            "vocab_size": vocab,
            "swa_num_attention_heads": TINY_HEADS,
            "swa_num_key_value_heads": TINY_KV_HEADS,
            "swa_head_dim": TINY_HEAD_DIM,
            "sliding_window_size": 16,  # shorter than the ~70-token image prompt, so the window really masks
            "rel_extent": 32,
            "d_rel": 8,
            "layer_types": ["hybrid_sliding", "hybrid"],
            "mlp_layer_types": ["dense", "sparse"],
            "intermediate_size": 32,  # the routed experts' width (inkling nomenclature)
            "dense_intermediate_size": 128,
            "n_shared_experts": 1,
            "bos_token_id": tok.id(BOS),
            "eos_token_id": tok.id(EOS),
            "pad_token_id": tok.id(PAD),
        },
        "vision_config": {"patch_size": 40, "temporal_patch_size": 2, "n_layers": 2},
    }
    cfg = derive("inkling", deep_merge(specifics, over))
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config=deep_merge(
            {
                "processor_class": "InklingProcessor",
                "image_token": IMAGE,
                "image_bos_token": IMAGE_BOS,
                "audio_token": AUDIO,
                "audio_bos_token": AUDIO_BOS,
            },
            pre,
        ),
        chat_template=chat_template(IMAGE_BOS + IMAGE, bos=BOS, start=START, end=EOS, role_end=MESSAGE),
    )
