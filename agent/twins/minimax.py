"""MiniMax-M3 VL twin, derived (agent.twins.derive) from mlx-vlm's own minimax_m3_vl config dataclasses; only the
family specifics are written here. Layout of the MiniMaxAI/MiniMax-M3 config.json as transformers'
MiniMaxM3VLConfig parses it: nested text_config (GQA attention with per-head QK norm and partial RoPE, some layers
"minimax_m3_sparse" with a block top-k lightning indexer, a dense MLP on the first layers then sigmoid-routed MoE
with one shared expert and swigluoai experts) and vision_config (a qwen-style patch ViT with 3-D RoPE; the
projector maps each patch to the text width, then a patch-merge MLP folds 2 x 2 patches into one token).

mlx-vlm's own MiniMaxM3VLProcessor takes its image tokens from the tokenizer by their literal MiniMax strings
(`]<]image[>[`, `]<]start of image[>[`, `]<]end of image[>[`), so a 512 vocab serves; but the model looks up
vision_start/end ids in config.json and falls back to the real 200029/200030, so the twin writes them.
The image processor reads min_pixels / max_pixels from preprocessor_config.json (factor patch x merge = 28).

Gotchas: the default layer pattern makes the first 3 layers dense and non-sparse, so a 2-layer twin would have
neither MoE nor the indexer; the twin sets one of each explicitly. Sparse index heads must divide the attention
heads. shared_intermediate_size == intermediate_size, as the real 3072 / 3072, so mlx-vlm packs the shared expert
into the switch bank (its default layout).
"""

from __future__ import annotations

from agent.twins.common import deep_merge, vocab_of
from agent.twins.derive import derive
from agent.twins.files import TwinFiles
from agent.twins.tokenizer import TokenizerSpec

BOS, EOS, PAD = "]~!b[", "[e~[", "<pad>"
ROLE = "]~b]"
IMAGE, VIDEO = "]<]image[>[", "]<]video[>["
START, END = "]<]start of image[>[", "]<]end of image[>["
SPECIALS = (PAD, BOS, ROLE, EOS, IMAGE, VIDEO, START, END, "]<]start of video[>[", "]<]end of video[>[")

# The MiniMax chat layout: ]~!b[ then turns ]~b]{role}\n...[e~[\n; the generation prompt opens ]~b]ai\n.
CHAT_TEMPLATE = (
    BOS + "{% for message in messages %}" + ROLE + "{{ 'ai' if message['role'] == 'assistant' else message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' or item['type'] == 'image_url' %}" + IMAGE + "{% endif %}"
    "{% if item['type'] == 'text' %}{{ item['text'] if item['text'] is defined else item['content'] }}{% endif %}"
    "{% endfor %}{% endif %}" + EOS + "\n{% endfor %}"
    "{% if add_generation_prompt %}" + ROLE + "ai\n{% endif %}"
)


def minimax_m3_vl(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, bos=BOS, eos=EOS, pad=PAD)
    compression = {"spatial_merge_size": 2, "temporal_patch_size": 2}
    specifics = {
        "architectures": ["MiniMaxM3VLForConditionalGeneration"],
        "image_token_index": tok.id(IMAGE),
        "video_token_index": tok.id(VIDEO),
        "vision_start_token_id": tok.id(START),
        "vision_end_token_id": tok.id(END),
        "eos_token_id": tok.id(EOS),
        "img_token_compression_config": compression,
        "text_config": {
            "vocab_size": vocab,
            "intermediate_size": 32,  # the routed expert width
            "shared_intermediate_size": 32,  # = intermediate_size: the shared expert is packed into the bank
            "dense_intermediate_size": 128,
            "rotary_dim": 8,  # head_dim x partial_rotary_factor 0.5
            "layer_types": ["full_attention", "minimax_m3_sparse"],
            "mlp_layer_types": ["dense", "sparse"],
            "index_n_heads": 2,
            "index_head_dim": 16,
            "index_block_size": 4,  # tiny blocks so a ~30-token prompt spans several
            "index_topk_blocks": 2,
            "index_local_blocks": 1,
            "bos_token_id": tok.id(BOS),
            "eos_token_id": tok.id(EOS),
        },
        "vision_config": {"img_token_compression_config": compression, "spatial_merge_size": 2},
    }
    cfg = derive("minimax_m3_vl", deep_merge(specifics, over))
    vision = cfg["vision_config"]
    factor = vision["patch_size"] * compression["spatial_merge_size"]
    preprocessor = {
        "processor_class": "MiniMaxM3VLProcessor",
        "patch_size": vision["patch_size"],
        "temporal_patch_size": compression["temporal_patch_size"],
        "merge_size": compression["spatial_merge_size"],
        "min_pixels": 4 * factor * factor,  # 2x2 .. 4x4 merged tokens per image (the real max: 451,584 px)
        "max_pixels": 16 * factor * factor,
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, pre),
        chat_template=CHAT_TEMPLATE,
    )
