"""PLaMo 2 VL twin (pfnet PLaMo-2 VL layout as mlx-vlm 0.7.10 reads it: a SigLIP tower (no pooling head), an RMSNorm +
bias + 2-layer GELU projector, feeding a PLaMo-2 hybrid text model (Mamba mixers with an attention layer every
`mamba_step`, tied embeddings); `text_config` plus a `vision_config` whose SigLIP keys are flattened as
`vision_encoder_*` with an empty model_type, as upstream writes it).

mlx-vlm's Plamo2VLProcessor is not a ProcessorMixin: it pairs HF's SiglipImageProcessor (Pil backend, with PLaMo's
extra attributes `patch_size`, `downsample_ratio`, `tile_context_length`, ...) with its own Plamo2Tokenizer over
`tokenizer.jsonl` (Aho-Corasick Viterbi with byte fallback), wraps every prompt in the fixed Japanese "ja01"
instruction template and tiles each image Eagle2-style (up to 24 tiles plus a thumbnail). So this twin writes a
tokenizer.jsonl (specials, 256 byte pieces, scored word pieces, padding) and no tokenizer.json (whose presence would
switch mlx-vlm's streaming detokenizer); AutoTokenizer resolves through the shipped tokenization_plamo.py, as for the
real checkpoints. Tiny tiles are 56 px (4 x 4 patches of 14, 16 image tokens each); transformers has no plamo2vl
config class, so the config is not linted."""

from __future__ import annotations

import json

from agent.twins.common import (
    TINY_FFN,
    TINY_HEAD_DIM,
    TINY_HEADS,
    TINY_HIDDEN,
    TINY_KV_HEADS,
    TINY_LAYERS,
    VISION_FFN,
    VISION_HEADS,
    VISION_HIDDEN,
    deep_merge,
    vocab_of,
)
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import CORPUS, TokenizerSpec

UNK, BOS, PAD = "<|plamo:unk|>", "<|plamo:bos|>", "<|plamo:pad|>"
IMAGE, IMG_START, IMG_END = "<plamo:image>", "<siglip2:img>", "</siglip2:img>"
SPECIALS = (UNK, BOS, "<|plamo:eos|>", PAD, "<|plamo:op|>", "<|plamo:cl|>", IMAGE, IMG_START, IMG_END)
IMAGE_SPECIALS = (IMAGE, IMG_START, IMG_END)


def tokenizer_jsonl(vocab: int) -> str:
    """PLaMo's vocab file: one [piece, score, kind] row per id; specials, the 256 byte pieces, word pieces, padding."""
    rows: list[list] = [[t, 0.0, "UNKNOWN" if t == UNK else "CONTROL"] for t in SPECIALS]
    rows += [[f"<0x{b:02X}>", 0.0, "BYTE"] for b in range(256)]
    pieces: dict[str, float] = {}
    for line in CORPUS:
        for ch in line:
            pieces.setdefault(ch, -8.0)
        for word in line.split():
            pieces.setdefault(" " + word, -4.0)
            pieces.setdefault(word, -5.0)
    for piece, score in pieces.items():
        if len(rows) < vocab:
            rows.append([piece, score, "NORMAL"])
    i = 0
    while len(rows) < vocab:
        rows.append([f"<|plamo:reserved_{i:04d}|>", -20.0, "NORMAL"])
        i += 1
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:vocab])


def tokenizer_config(tok: TokenizerSpec) -> str:
    return json.dumps(
        {
            "tokenizer_class": "Plamo2Tokenizer",
            "auto_map": {"AutoTokenizer": ["tokenization_plamo.Plamo2Tokenizer", None]},
            "unk_token": UNK,
            "bos_token": BOS,
            "eos_token": BOS,  # PLaMo 2 ends a turn with its bos token
            "pad_token": PAD,
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": 1048576,
            "added_tokens_decoder": {
                str(tok.id(t)): {"content": t, "special": True, "lstrip": False, "rstrip": False, "normalized": False}
                for t in SPECIALS
            },
            "additional_special_tokens": list(IMAGE_SPECIALS),
        },
        indent=2,
        ensure_ascii=False,
    )


def plamo2vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, bos=BOS, eos=BOS, pad=PAD, unk=UNK)
    tile, patch = 56, 14
    base = {
        "architectures": ["Plamo2VLForConditionalGeneration"],
        "model_type": "plamo2vl",
        "eos_token_id": [tok.id(BOS)],
        "text_config": {
            "model_type": "plamo2",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": TINY_FFN,
            "num_hidden_layers": TINY_LAYERS,  # layer 0 Mamba, layer 1 attention (mamba_step 2)
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_KV_HEADS,
            "hidden_size_per_head": TINY_HEAD_DIM,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": True,
            "max_position_embeddings": 10485760,
            "attention_window_size": 32768,
            "full_attention_idx": [1],
            "rope_theta": 1000000.0,
            "rope_local_theta": 1000000.0,
            "mamba_enabled": True,
            "mamba_step": 2,
            "mamba_d_state": 16,
            "mamba_d_conv": 4,
            "mamba_num_heads": TINY_HIDDEN // TINY_HEAD_DIM,
            "mamba_chunk_size": 256,
            "bos_token_id": tok.id(BOS),
            "eos_token_id": tok.id(BOS),
            "pad_token_id": tok.id(PAD),
        },
        "vision_config": {
            "model_type": "",
            "image_token_id": tok.id(IMAGE),
            "image_feature_size": VISION_HIDDEN,
            "image_proj_hidden_size": TINY_FFN,
            "vision_encoder_hidden_size": VISION_HIDDEN,
            "vision_encoder_intermediate_size": VISION_FFN,
            "vision_encoder_num_hidden_layers": 2,
            "vision_encoder_num_attention_heads": VISION_HEADS,
            "vision_encoder_patch_size": patch,
            "vision_encoder_image_size": tile,
            "vision_encoder_num_channels": 3,
            "vision_encoder_layer_norm_eps": 1e-6,
            "vision_encoder_hidden_act": "gelu_pytorch_tanh",
        },
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    side = vision["vision_encoder_image_size"]
    preprocessor = deep_merge(
        {
            "image_processor_type": "SiglipImageProcessor",
            "processor_class": "Plamo2VLProcessor",
            "do_resize": True,
            "size": {"height": side, "width": side},
            "resample": 3,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
            "patch_size": vision["vision_encoder_patch_size"],
            "downsample_ratio": 1.0,
            "max_image_width": 4 * side,
            "max_image_height": 4 * side,
            "tile_context_length": 4096,
        },
        pre,
    )
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=preprocessor,
        extra_files={
            "tokenizer.jsonl": tokenizer_jsonl(vocab),
            "tokenizer_config.json": tokenizer_config(tok),
            "tokenization_plamo.py": remote_file("tokenization_plamo.py"),
        },
        drop_files=("tokenizer.json",),
        trust_remote_code=True,
        lint_config=False,  # transformers 5.24 has no plamo2vl (nor plamo2) config class
    )
