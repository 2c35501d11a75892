"""DeepSeek-VL2 twin (deepseek-ai/deepseek-vl2 layout: SigLIP tiles + 2x2 downsample MLP projector + DeepSeek-V2
MLA/MoE text, 2D tile tags with image newlines)."""

from __future__ import annotations

from agent.twins.common import TINY_HEADS, TINY_HIDDEN, VISION_HEADS, VISION_HIDDEN, deep_merge, vocab_of
from agent.twins.derive import derive
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = (
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜▁pad▁｜>",
    "<image>",
    "<|ref|>",
    "<|/ref|>",
    "<|det|>",
    "<|/det|>",
    "<|grounding|>",
    "<|User|>",
    "<|Assistant|>",
)


def deepseek_vl_v2(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(
        vocab_size=vocab,
        specials=SPECIALS,
        bos="<｜begin▁of▁sentence｜>",
        eos="<｜end▁of▁sentence｜>",
        pad="<｜▁pad▁｜>",
    )
    side, patch = 32, 8
    resolutions = [[side, side], [side, 2 * side], [2 * side, side], [2 * side, 2 * side]]
    base = {
        "architectures": ["DeepseekVLV2ForCausalLM"],
        "model_type": "deepseek_vl_v2",
        "auto_map": {"AutoConfig": "configuration_deepseek_vl_v2.DeepseekVLV2Config"},
        "image_token_index": tok.id("<image>"),
        "pad_id": tok.id("<｜▁pad▁｜>"),
        "eos_token_id": tok.id("<｜end▁of▁sentence｜>"),
        "tile_tag": "2D",
        "global_view_pos": "head",
        "candidate_resolutions": resolutions,
        "vocab_size": vocab,
        "language_config": {
            "model_type": "deepseek_v2",
            "vocab_size": vocab,
            "hidden_size": TINY_HIDDEN,
            "intermediate_size": 128,
            "moe_intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": TINY_HEADS,
            "num_key_value_heads": TINY_HEADS,
            "n_shared_experts": 1,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "routed_scaling_factor": 1.0,
            "kv_lora_rank": 16,
            "q_lora_rank": 32,
            "qk_rope_head_dim": 8,
            "qk_nope_head_dim": 8,
            "v_head_dim": 16,
            "topk_method": "greedy",
            "n_group": 1,
            "topk_group": 1,
            "first_k_dense_replace": 1,  # layer 0 dense, layer 1 MoE
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-6,
            "rope_theta": 10000.0,
            "bos_token_id": tok.id("<｜begin▁of▁sentence｜>"),
            "eos_token_id": tok.id("<｜end▁of▁sentence｜>"),
        },
        "vision_config": {
            "model_type": "vision",
            "layers": 1,
            "width": VISION_HIDDEN,
            "intermediate_size": 64,
            "mlp_ratio": 2.0,
            "num_attention_heads": VISION_HEADS,
            "image_size": side,
            "patch_size": patch,
            "layer_norm_eps": 1e-6,
        },
        "projector_config": {
            "projector_type": "downsample_mlp_gelu",
            "input_dim": VISION_HIDDEN,
            "n_embed": TINY_HIDDEN,
            "depth": 2,
            "mlp_ratio": 1,
            "downsample_ratio": 2,
        },
    }
    cfg = deep_merge(base, over)
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        processor_config={
            "processor_class": "DeepseekVLV2Processor",
            "candidate_resolutions": cfg["candidate_resolutions"],
            "patch_size": cfg["vision_config"]["patch_size"],
            "downsample_ratio": cfg["projector_config"]["downsample_ratio"],
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
            "normalize": True,
            "image_token": "<image>",
            "pad_token": "<｜▁pad▁｜>",
            "add_special_token": False,
            "sft_format": "deepseek",
            "mask_prompt": True,
            "ignore_id": -100,
        },
        extra_files={"configuration_deepseek_vl_v2.py": remote_file("configuration_deepseek_vl_v2.py")},
        trust_remote_code=True,
    )


V4_SPECIALS = (
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜▁pad▁｜>",
    "<｜User｜>",
    "<｜Assistant｜>",
    "<think>",
    "</think>",
    "<｜deepseek_image｜>",  # the processor's IMAGE_PLACEHOLDER: one per image, expanded to out-of-vocab sentinels
)


def deepseek_v4(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """DeepSeek-V4 with vision (flat config, text keys at the root, `vision_*` keys for the ViT + aligner): MLA-style
    attention with a single KV head, grouped low-rank output (`o_groups` x `o_lora_rank`), compressed attention
    (`compress_ratios`: 0 = sliding window only, 4 = compressed KV with a top-k indexer), hyper-connections
    (`hc_mult`), hash-routed first MoE layers (`num_hash_layers`, a tid2eid table) then sqrtsoftplus routing.
    Sizes are derived (agent.twins.derive) from mlx-vlm's own ModelConfig.

    mlx-vlm's DeepseekV4Processor loads AutoTokenizer (so transformers' DeepseekV4Config validates config.json),
    renders its built-in chat template, and writes each image as `vocab_size + type` sentinel ids that the model
    swaps for the aligned features; it reads the vision_* sizes from config.json. vision_min_pixels /
    vision_max_n_token keep a test image at a few tokens (the real floor is 384 x 384 px, budget 384 tokens)."""
    vocab = vocab_of(over or {})
    bos, eos, pad = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
    tok = TokenizerSpec(vocab_size=vocab, specials=V4_SPECIALS, bos=bos, eos=eos, pad=pad)
    specifics = {
        "architectures": ["DeepseekV4ForCausalLM"],
        "vocab_size": vocab,
        "bos_token_id": tok.id(bos),
        "eos_token_id": tok.id(eos),
        "pad_token_id": tok.id(pad),
        "compress_ratios": [0, 4],  # layer 0 sliding window, layer 1 compressed KV + indexer (real: 0, 4/128..., 0)
        "num_hash_layers": 1,  # layer 0 hash-routed, layer 1 score-routed
        "num_nextn_predict_layers": 0,  # no MTP head: mlx-vlm's sanitize drops it anyway
        "o_groups": 2,  # must divide the 4 heads
        "index_n_heads": 2,
        "index_head_dim": 16,
        "index_topk": 8,
        "index_block": 4,
        "index_keep": 2,
        "vision_n_layers": 1,
        "vision_max_n_token": 24,  # less the 3-token compress pad: a 4x2 feature grid for the 320x240 test image
        "vision_min_pixels": 784,
    }
    cfg = derive("deepseek_v4", deep_merge(specifics, over))
    return TwinFiles(config=cfg, tokenizer=tok)


def _engram_table_rows(layers: int, ngrams: int, heads: int, vocab: int) -> list[int]:
    """Rows of each engram layer's hash table: mlx-vlm's EngramLayout gives every (layer, n-gram, head) its own
    prime-sized bucket range (primes above engram_vocab_size, never reused) and offsets them back to back, so a
    table needs the sum of its layer's primes (the real 384,006,168 / 384,016,682)."""
    seen, rows = set(), []

    def is_prime(n: int) -> bool:
        return n >= 2 and all(n % i for i in range(2, int(n**0.5) + 1))

    for _ in range(layers):
        total = 0
        for _ in range(ngrams - 1):
            current = vocab - 1
            for _ in range(heads):
                current += 1
                while not is_prime(current) or current in seen:
                    current += 1
                seen.add(current)
                total += current
        rows.append(total)
    return rows


def deepseek_v41(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    """DeepSeek-V4.1 (flat config, `vision_*` keys): DeepSeek-V4's attention with shared compressed KV / indexer
    source layers (`kv_source_layer_ids`, `index_source_layer_ids`, a `candidate_source_layer_id` block pre-filter)
    plus Engram: n-gram hash tables written into the hyper-connection streams at `engram_layer_ids`. Sizes derived
    (agent.twins.derive) from mlx-vlm's own ModelConfig; the engram tables are sized here.

    Engram hashes over a compressed token map: real checkpoints ship engram_token_map.json (mlx-vlm's released-map
    path); the twin ships one too, the identity over its 512 ids, so engram_compressed_vocab_size = the vocab
    (mlx-vlm checks the two agree). transformers 5.24 has no deepseek_v41 config class and mlx-vlm never needs one
    (its processor falls back to PreTrainedTokenizerFast, reads config.json itself), so the config is not linted."""
    import json

    vocab = vocab_of(over or {})
    bos, eos, pad = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
    tok = TokenizerSpec(vocab_size=vocab, specials=V4_SPECIALS, bos=bos, eos=eos, pad=pad)
    ngrams, heads, bucket_vocab, engram_layers = 3, 2, 61, [1]
    specifics = {
        "architectures": ["DeepseekV41ForCausalLM"],
        "vocab_size": vocab,
        "bos_token_id": tok.id(bos),
        "eos_token_id": tok.id(eos),
        "pad_token_id": tok.id(pad),
        "image_token_id": tok.id("<｜deepseek_image｜>"),
        "compress_ratios": [0, 2],  # layer 0 sliding window only, layer 1 compressed 2:1 (real: 0, 0, 2 x 18, 1 x 20)
        "kv_source_layer_ids": [1],
        "index_source_layer_ids": [1],
        "candidate_source_layer_id": 1,
        "candidate_topk_blocks": 4,
        "candidate_block_size": 2,
        "o_groups": 2,  # must divide the 4 heads
        # mlx-vlm fake-quantizes activations in blocks of 32 (FP8 / FP4 ue8m0): head dims must be multiples of 32
        "head_dim": 32,
        "index_n_heads": 2,
        "index_head_dim": 32,
        "index_topk": 8,
        "engram_layer_ids": engram_layers,  # the real first engram layer is 1 too
        "engram_max_ngram_size": ngrams,
        "engram_n_heads": heads,
        "engram_head_dim": 16,
        "engram_vocab_size": bucket_vocab,
        "engram_num_embeddings": _engram_table_rows(len(engram_layers), ngrams, heads, bucket_vocab),
        "engram_pad_token_id": tok.id(pad),
        "engram_compressed_vocab_size": vocab,
        "vision_num_layers": 1,
        "vision_max_image_tokens": 24,  # a 4x4-ish feature grid for the 320x240 test image
        "vision_min_pixels": 784,
    }
    cfg = derive("deepseek_v41", deep_merge(specifics, over))
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        extra_files={"engram_token_map.json": json.dumps(list(range(vocab)))},
        # mlx-vlm's sanitize promotes the router and the LM head to float32 ("Router scores use FP32"), so a
        # converted checkpoint holds them in float32; stored so, they round-trip bit-exact
        float32_weights=("ffn.gate.weight", "language_model.head.weight"),
        lint_config=False,
    )
