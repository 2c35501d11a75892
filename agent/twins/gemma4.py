"""Gemma 4 twin: the gemma4 vision tower (patch embedding with 2D position table, pooled to soft tokens) and the
gemma4 text model (sliding + full attention layers, per-layer inputs), no audio tower; mlx-vlm's Gemma4Processor
(numpy image processor: an image becomes at most `max_soft_tokens` soft tokens, pooled k x k from patches)."""

from __future__ import annotations

from agent.twins.common import TINY_FFN, TINY_HEAD_DIM, TINY_HEADS, TINY_HIDDEN, VISION_FFN, deep_merge, vocab_of
from agent.twins.files import TwinFiles, chat_template
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",
    "<image_soft_token>",
    "<start_of_audio>",
    "<end_of_audio>",
    "<audio_soft_token>",
)


def _tokenizer(vocab: int) -> TokenizerSpec:
    return TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
            "boa_token": "<start_of_audio>",
            "eoa_token": "<end_of_audio>",
            "audio_token": "<audio_soft_token>",
        },
        config_extra={"add_bos_token": True},
    )


def _text(vocab: int) -> dict:
    return {
        "model_type": "gemma4_text",
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": 2,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": 1,
        "head_dim": TINY_HEAD_DIM,
        "global_head_dim": TINY_HEAD_DIM,
        "vocab_size": vocab,
        "vocab_size_per_layer_input": vocab,
        "hidden_size_per_layer_input": 16,
        "num_kv_shared_layers": 0,
        "sliding_window": 64,
        "layer_types": ["sliding_attention", "full_attention"],
        "use_double_wide_mlp": False,
        "max_position_embeddings": 8192,
        "tie_word_embeddings": True,
    }


def _vision() -> dict:
    return {
        "model_type": "gemma4_vision",
        "hidden_size": 32,
        "intermediate_size": VISION_FFN,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "global_head_dim": 16,
        "patch_size": 8,
        "position_embedding_size": 64,
        "pooling_kernel_size": 2,
        "default_output_length": 4,
    }


def gemma4(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = _tokenizer(vocab)
    base = {
        "architectures": ["Gemma4ForConditionalGeneration"],
        "model_type": "gemma4",
        "vocab_size": vocab,
        "hidden_size": TINY_HIDDEN,
        "image_token_id": tok.id("<image_soft_token>"),
        "audio_token_id": tok.id("<audio_soft_token>"),
        "boi_token_id": tok.id("<start_of_image>"),
        "eoi_token_id": tok.id("<end_of_image>"),
        "boa_token_id": tok.id("<start_of_audio>"),
        "eoa_token_id": tok.id("<end_of_audio>"),
        "pad_token_id": tok.id("<pad>"),
        "eos_token_id": [tok.id("<eos>"), tok.id("<end_of_turn>")],
        "vision_soft_tokens_per_image": 4,
        "tie_word_embeddings": True,
        "text_config": _text(vocab),
        "vision_config": _vision(),
        "audio_config": None,
    }
    cfg = deep_merge(base, over)
    vision = cfg["vision_config"]
    soft = cfg["vision_soft_tokens_per_image"]
    image_processor = {
        "patch_size": vision["patch_size"],
        "max_soft_tokens": soft,
        "pooling_kernel_size": vision["pooling_kernel_size"],
        "do_resize": True,
        "do_rescale": True,
        "do_normalize": False,
        "rescale_factor": 1 / 255,
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config=deep_merge(
            {"processor_class": "Gemma4Processor", "image_seq_length": soft, "image_processor": image_processor}, pre
        ),
        chat_template=chat_template("<image_soft_token>", bos="<bos>", start="<start_of_turn>", end="<end_of_turn>\n"),
        tie_embeddings=True,
    )
