"""FastVLM twin (apple/FastVLM-0.5B layout, model_type "llava_qwen2", which mlx-vlm remaps to its fastvlm folder:
the FastViTHD hybrid conv/attention tower (MobileCLIP-L, 64x downsampling, a 3072-wide conv_exp output and a global-pool
head), a 2-layer GELU MLP projector and Qwen2 text with its keys at the config root; config via shipped remote code
llava_qwen.LlavaConfig, as the real checkpoints).

Heavy, not tiny: mlx-vlm 0.7.10's VisionConfig holds FastViTHD's layers [2, 12, 24, 4, 2], embed_dims
[96, 192, 384, 768, 1536], mlp_ratios, token mixers and pos_embs as unannotated class attributes, not dataclass
fields, so ModelConfig.from_dict (which keeps only signature parameters) cannot set them: the real tower (~125M
parameters) is always built. What the config does drive is tiny: the Qwen2 text side, and the image size
(FastVLMProcessor.from_pretrained reads size / crop_size from preprocessor_config.json): 256 px instead of 1024, so
4 x 4 = 16 image features instead of 256. mm_hidden_size stays 3072 (= 1536 x cls_ratio 2, the tower's output).
The processor splits "<image>" out of the prompt and puts LLaVA's IMAGE_TOKEN_INDEX -200 in its place.
"""

from __future__ import annotations

from agent.twins.common import TINY_FFN, TINY_HEADS, TINY_HIDDEN, TINY_KV_HEADS, TINY_LAYERS, deep_merge, vocab_of
from agent.twins.files import TwinFiles, chat_template
from agent.twins.remote import remote_file
from agent.twins.tokenizer import TokenizerSpec

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
FASTVITHD_OUT = 3072  # embed_dims[-1] 1536 x cls_ratio 2.0, hardcoded in mlx-vlm
IMAGE_SIZE = 256  # the checkpoints' 1024 px, shrunk: the tower is fully convolutional (conv positional encodings)


def fastvlm(over: dict | None = None, pre: dict | None = None) -> TwinFiles:
    vocab = vocab_of(over or {})
    tok = TokenizerSpec(vocab_size=vocab, specials=SPECIALS, eos="<|im_end|>", pad="<|endoftext|>")
    base = {
        "architectures": ["LlavaQwen2ForCausalLM"],
        "model_type": "llava_qwen2",
        "auto_map": {
            "AutoConfig": "llava_qwen.LlavaConfig",
            "AutoModelForCausalLM": "llava_qwen.LlavaQwen2ForCausalLM",
        },
        "hidden_size": TINY_HIDDEN,
        "intermediate_size": TINY_FFN,
        "num_hidden_layers": TINY_LAYERS,
        "num_attention_heads": TINY_HEADS,
        "num_key_value_heads": TINY_KV_HEADS,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "max_position_embeddings": 8192,
        "vocab_size": vocab,
        "tie_word_embeddings": True,
        "mm_hidden_size": FASTVITHD_OUT,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_tower": "mobileclip_l_1024",
        "mm_vision_select_feature": "patch",
        "mm_vision_select_layer": -2,
        "image_aspect_ratio": "pad",
        "tokenizer_model_max_length": 8192,
        "tokenizer_padding_side": "right",
        "bos_token_id": tok.id("<|endoftext|>"),
        "eos_token_id": tok.id("<|im_end|>"),
    }
    cfg = deep_merge(base, over)
    side = (pre or {}).get("image_size", IMAGE_SIZE)
    preprocessor = {
        "image_processor_type": "CLIPImageProcessor",
        "crop_size": {"height": side, "width": side},
        "size": {"shortest_edge": side},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.0, 0.0, 0.0],
        "image_std": [1.0, 1.0, 1.0],
        "resample": 3,
        "rescale_factor": 1 / 255,
    }
    return TwinFiles(
        config=cfg,
        tokenizer=tok,
        preprocessor_config=deep_merge(preprocessor, {k: v for k, v in (pre or {}).items() if k != "image_size"}),
        chat_template=chat_template("<image>\n"),
        extra_files={"llava_qwen.py": remote_file("llava_qwen.py")},
        tie_embeddings=True,
        trust_remote_code=True,
    )
