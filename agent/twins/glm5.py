"""GLM-5-Next twin, derived (agent.twins.derive) from mlx-vlm's own glm5_next config dataclasses; only the family
specifics are written here. Layout of the zai-org GLM-5-Next config.json as transformers' Glm5NextConfig parses it:
nested text_config (hybrid text: gated linear-attention layers and NoPE MLA "deepseek sparse attention" layers
with a top-k key indexer over pooled keys, hyper-connections, dense first layer then DeepSeek-style MoE) and
vision_config (qwen-style patch ViT + 2x2 merger with a SwiGLU projector). mlx-vlm's own Glm5NextProcessor reads
its image / video processor settings from processor_config.json (`image_processor` / `video_processor`), the GLM
tokens (`<|begin_of_image|>` ... `<|image|>` ... `<|end_of_image|>`, `[gMASK]<sop>`) come from the tokenizer.

Gotchas: the text model requires num_key_value_heads == num_attention_heads (MLA), qk_rope_head_dim 0 (NoPE) and
index_topk divisible by index_kpool; its default layer pattern (every 4th layer sparse attention) would give two
linear layers at depth 2, so the twin sets one of each. Token ids of the real vocab (154,880) are not hardcoded
anywhere, so the twin keeps a 512 vocab.
"""

from __future__ import annotations

from agent.twins.common import deep_merge, vocab_of
from agent.twins.derive import derive
from agent.twins.files import TwinFiles, chat_template
from agent.twins.glm import SPECIALS
from agent.twins.tokenizer import TokenizerSpec


def glm5_next(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        eos="<|user|>",
        pad="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>", "video_token": "<|video|>"},
    )
    eos = [tok.id("<|endoftext|>"), tok.id("<|user|>"), tok.id("<|observation|>")]
    specifics = {
        "architectures": ["Glm5NextForConditionalGeneration"],
        "image_token_id": tok.id("<|image|>"),
        "video_token_id": tok.id("<|video|>"),
        "image_start_token_id": tok.id("<|begin_of_image|>"),
        "image_end_token_id": tok.id("<|end_of_image|>"),
        "video_start_token_id": tok.id("<|begin_of_video|>"),
        "video_end_token_id": tok.id("<|end_of_video|>"),
        "eos_token_id": eos,
        "pad_token_id": tok.id("<|endoftext|>"),
        "text_config": {
            "vocab_size": vocab,
            "layer_types": ["linear_attention", "deepseek_sparse_attention"],
            "qk_nope_head_dim": 16,  # = v_head_dim, as the real 256 / 256
            "index_n_heads": 2,
            "index_head_dim": 16,
            "index_topk": 32,
            "linear_num_heads": 4,
            "linear_head_dim": 16,
            "eos_token_id": eos,
            "pad_token_id": tok.id("<|endoftext|>"),
        },
    }
    cfg = derive("glm5_next", deep_merge(specifics, over))
    vision = cfg["vision_config"]
    image = {
        "patch_size": vision["patch_size"],
        "temporal_patch_size": vision["temporal_patch_size"],
        "merge_size": vision["spatial_merge_size"],
        "min_image_tokens": 4,  # 2x2 .. 4x4 merged tokens per image
        "max_image_tokens": 16,
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config=deep_merge(
            {"processor_class": "Glm5NextProcessor", "image_processor": image, "video_processor": dict(image)}, pre
        ),
        chat_template=chat_template(
            "<|begin_of_image|><|image|><|end_of_image|>", bos="[gMASK]<sop>", start="<|", end="", role_end="|>\n"
        ),
    )
