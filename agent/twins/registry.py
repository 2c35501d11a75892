"""Which twins exist: architecture -> builder, plus the architectures that cannot be built (and why)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.twins import (
    aya,
    bunny,
    cohere_compass,
    deepseek,
    deepseekocr,
    dots,
    ernie,
    fastvlm,
    florence,
    gemma,
    gemma4,
    glm,
    glm5,
    got,
    granite4,
    hunyuan,
    idefics,
    inkling,
    internvl,
    jina,
    kimi,
    lfm2,
    llama4,
    llava,
    llmjpvl,
    locateanything,
    mage,
    mimo,
    minicpm,
    minicpmo,
    minimax,
    mistral,
    mllama,
    molmo,
    molmo2,
    moondream,
    multi_modality,
    muse,
    nemotron,
    nemotron_omni,
    phi3v,
    phi4,
    phi4mm,
    plamo,
    qwen,
    qwen_omni,
    step3,
    youtu,
    zaya,
)
from agent.twins.files import TwinFiles

# A builder takes (config overrides, preprocessor overrides) and returns the files of one twin; tiny when both None.
Builder = Callable[..., TwinFiles]

BUILDERS: dict[str, Builder] = {
    "qwen2_vl": qwen.qwen2_vl,
    "qwen2_5_vl": qwen.qwen2_5_vl,
    "qwen3_vl": qwen.qwen3_vl,
    "smolvlm": idefics.smolvlm,
    "idefics3": idefics.idefics3,
    "gemma3": gemma.gemma3,
    "paligemma": gemma.paligemma,
    "llava": llava.llava,
    "llava_next": llava.llava_next,
    "pixtral": mistral.pixtral,
    "mistral3": mistral.mistral3,
    "lfm2_vl": lfm2.lfm2_vl,
    "mllama": mllama.mllama,
    "glm4v": glm.glm4v,
    "internvl_chat": internvl.internvl_chat,
    "kimi_vl": kimi.kimi_vl,
    "florence2": florence.florence2,
    "molmo": molmo.molmo,
    "deepseek_vl_v2": deepseek.deepseek_vl_v2,
    "deepseek_v4": deepseek.deepseek_v4,
    "deepseek_v41": deepseek.deepseek_v41,
    "phi3_v": phi3v.phi3_v,
    "llava_onevision": llava.llava_onevision,
    "idefics2": idefics.idefics2,
    "aya_vision": aya.aya_vision,
    "qwen3_vl_moe": qwen.qwen3_vl_moe,
    "glm4v_moe": glm.glm4v_moe,
    "paddleocr_vl": qwen.paddleocr_vl,
    "llava_bunny": bunny.llava_bunny,
    "qwen3_5": qwen.qwen3_5,
    "gemma3n": gemma.gemma3n,
    "gemma4": gemma4.gemma4,
    "glm_ocr": glm.glm_ocr,
    "kimi_k25": kimi.kimi_k25,
    "kimi_k3": kimi.kimi_k3,
    "llama4": llama4.llama4,
    "internvl": internvl.internvl,
    "granite_vision": llava.granite_vision,
    "qwen3_5_moe": qwen.qwen3_5_moe,
    "got": got.got,
    "mage_vl": mage.mage_vl,
    "dots_ocr": dots.dots_ocr,
    "moondream3": moondream.moondream3,
    "moondream2": moondream.moondream2,
    "hunyuan_vl": hunyuan.hunyuan_vl,
    "molmo2": molmo2.molmo2,
    "molmo_point": molmo2.molmo_point,
    "locateanything": locateanything.locateanything,
    "multi_modality": multi_modality.multi_modality,
    "minicpmv4_6": minicpm.minicpmv4_6,
    "glm5_next": glm5.glm5_next,
    "qwen4_exp": qwen.qwen4_exp,
    "ernie4_5_moe_vl": ernie.ernie4_5_moe_vl,
    "qwen3_omni_moe": qwen_omni.qwen3_omni_moe,
    "mimo_v2": mimo.mimo_v2,
    "granite4_vision": granite4.granite4_vision,
    "cohere_compass": cohere_compass.cohere_compass,
    "zaya1_vl": zaya.zaya1_vl,
    "muse_glimmer": muse.muse_glimmer,
    "step3p7": step3.step3p7,
    "plamo2vl": plamo.plamo2vl,
    "phi4mm": phi4mm.phi4mm,
    "deepseekocr": deepseekocr.deepseekocr,
    "minimax_m3_vl": minimax.minimax_m3_vl,
    "inkling": inkling.inkling,
    "muse_spark": muse.muse_spark,
    "minicpmo": minicpmo.minicpmo,
    "nemotron_h_nano_omni": nemotron_omni.nemotron_h_nano_omni,
    "phi4_siglip": phi4.phi4_siglip,
    "llmjpvl": llmjpvl.llmjpvl,
    "jina_vlm": jina.jina_vlm,
    "youtu_vl": youtu.youtu_vl,
    "fastvlm": fastvlm.fastvlm,
    "nemotron_parse": nemotron.nemotron_parse,
    "deepseekocr_2": deepseekocr.deepseekocr_2,
}

# mlx-vlm model types whose checkpoints declare another model_type string in config.json (mlx-vlm remaps it)
MODEL_TYPE_OF: dict[str, str] = {
    "llava_bunny": "llava-qwen2",
    "inkling": "inkling_mm_model",
    "nemotron_h_nano_omni": "NemotronH_Nano_Omni_Reasoning_V3",
    "phi4_siglip": "phi4-siglip",
    "moondream2": "moondream1",
    "jina_vlm": "jvlm",
    "fastvlm": "llava_qwen2",
}

# Architectures of the installed mlx-vlm that have no twin, with the reason (shown by `grid twins list`).
NOT_BUILDABLE: dict[str, str] = {}  # none in mlx-vlm 0.7.10: every generative VLM folder has a twin

# Twins that are expected to fail at run time through a genuine upstream bug (kept faithful, never patched).
# The expectation uses the suite's `expect` shape.
EXPECTED_FAILURES: dict[str, dict] = {
    # mlx-vlm 0.7.10's LlavaProcessor forwards padding=True to the HF image processor; transformers 5.x rejects it:
    # "ImagesKwargs.__init__() got an unexpected keyword argument 'padding'". Real llava checkpoints fail the same way.
    "llava": {"status": "failed", "error_class": "API Mismatch", "error_package": "mlx-vlm"},
    # CPU backend only: mlx-vlm's SwitchLinear calls mx.gather_mm in bf16, and mlx's CPU GatherMM "only supports
    # float32" (mlx-vlm's own expert-offload path upcasts on CPU; this one does not). On Metal it runs. The
    # quantized variants (gather_qmm) run on CPU too: twin:deepseek_vl_v2-q8 stands in for the seed's 8-bit model.
    "deepseek_vl_v2": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "qwen3_vl_moe": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "glm4v_moe": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "kimi_k25": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "qwen3_5_moe": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "glm5_next": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "qwen4_exp": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # the same GatherMM limit in moondream3's MoE layers (SwitchLinear); twin:moondream3-q4 runs on CPU
    "moondream3": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # the same GatherMM limit in ERNIE-4.5-VL's text and multimodal expert groups; twin:ernie4_5_moe_vl-q4 runs
    "ernie4_5_moe_vl": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "qwen3_omni_moe": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "mimo_v2": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # every backend, quantized too: mlx-vlm 0.7.10's chunked prefill (generate/ar.py, taken for any prompt of more
    # than one token) calls model.language_model(inputs=..., inputs_embeds=...), but zaya1_vl's LanguageModel names
    # its first parameter input_ids: "missing 1 required positional argument: 'input_ids'". With
    # prefill_step_size=None the q4 twin generates; bf16 then meets the CPU GatherMM limit like the other MoE twins.
    "zaya1_vl": {"status": "failed", "error_class": "Model Error", "error_package": "mlx-vlm"},
    # the same GatherMM limit in Step-3.7's MoE layers (SwitchGLU); twin:step3p7-q4 runs on CPU
    "step3p7": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # the same in deepseekocr's DeepSeek-V2 MoE text (a heavy twin: listed with its -q4 in the twins-heavy suite)
    "deepseekocr": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "deepseekocr_2": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # the same GatherMM limit in MiniMax-M3's MoE layers (SwitchGLU with the packed shared expert); its -q4 runs
    "minimax_m3_vl": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # the same in Inkling's routed experts (InklingSwitchGLU); twin:inkling-q4 runs on CPU
    "inkling": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # CPU backend only, quantized too: mlx-vlm 0.7.10's muse_spark text model calls its own fused kernels
    # (mlx_vlm/kernels: qk_norm_rope, qk_norm, expert_routing, norm_add_norm, ...), all mx.fast.metal_kernel with
    # no CPU fallback: "[metal_kernel] No Metal back-end." The vision tower runs; on Metal the whole model should.
    "muse_spark": {"status": "failed", "error_class": "Model Error", "error_package": "mlx-vlm", "backend": "cpu"},
    # the same GatherMM limit in DeepSeek-V4's MoE layers (SwitchGLU); twin:deepseek_v4-q4 runs on CPU
    "deepseek_v4": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    "deepseek_v41": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # the same GatherMM limit in Kimi K3's latent MoE; its quantized variants fail too (EXPECTED_QUANTIZED_FAILURES)
    "kimi_k3": {"status": "failed", "error_class": "Model Error", "error_package": "mlx", "backend": "cpu"},
    # the same GatherMM limit in Nemotron-H's routed experts (SwitchMLP, the "E" blocks); its -q4 runs on CPU
    "nemotron_h_nano_omni": {
        "status": "failed",
        "error_class": "Model Error",
        "error_package": "mlx",
        "backend": "cpu",
    },
    # CPU backend: the C-RADIO ViT-H's first attention over 13,320 tokens (16 heads, bf16) kills the process with
    # SIGSEGV inside mlx 0.32.4: dmesg names libmlx.so's simd_gemm<bfloat16, float> (a bf16 read through a
    # sign-extended 32-bit index) under mx.fast.scaled_dot_product_attention's CPU fallback. Reproduced alone with
    # q = k = v of shape (1, heads, n, 80): it crashes exactly when the last head's score-matrix offset
    # (heads - 1) x n^2 passes 2^31, whatever the total: 16 x 13320 and 64 x 5900 segfault at the same instruction,
    # 16 x 11586 (214 s) and 64 x 5800 (184 s, 2.15e9 scores in all) run. Real checkpoints hit it the same way (the
    # processor always makes 2048 x 1664); through grid the cell died after 382 s. faulthandler shows only Python
    # frames; the crashing thread's innermost one is mlx-vlm's, over mlx's native code (grid.core.failures.crash_info).
    "nemotron_parse": {"status": "crashed", "error_class": "Crash", "error_package": "mlx", "backend": "cpu"},
}

# Twins whose quantized variant (twin:<arch>-q4, made by mlx_vlm.convert) fails at run time through a genuine
# upstream bug, on every backend; same shape as EXPECTED_FAILURES.
EXPECTED_QUANTIZED_FAILURES: dict[str, dict] = {
    # mlx-vlm 0.7.10's kimi_k3 Model does not forward its LanguageModel's quant_predicate (which keeps the
    # attention-residual `*res_proj` Linear(hidden, 1) layers unquantized), unlike deepseek_v4 / gemma4 / ...;
    # convert quantizes them and the decoder's `res_proj.weight.reshape(-1)` reads the packed uint32 weight:
    # "[broadcast_shapes] Shapes (64) and (8) cannot be broadcast". Without attention residuals the q4 twin runs.
    "kimi_k3": {"status": "failed", "error_class": "Model Error", "error_package": "mlx-vlm"},
}

# Twins that run (grid status ok) but whose image never reaches the model: the model's own processor fails to load,
# mlx-vlm 0.7.10's AutoProcessor patch (models/base.py install_auto_processor_patch) swallows the exception and falls
# back to transformers' AutoProcessor, which gives the bare tokenizer; generate then runs text-only and says nothing.
# A genuine finding, kept faithful (grid flags these rows only as load-fallback, for the missing preprocessor config).
IMAGE_DROPPED: dict[str, str] = {
    "moondream2": "mlx-vlm's Moondream2Processor always loads its tokenizer from the hub repo moondream/starmie-v1 "
    "(no argument points it at the model folder's); offline that raises and mlx-vlm silently falls back to the "
    "folder's bare tokenizer, so the image is dropped",
    "phi4_siglip": "mlx-vlm's Phi4SigLipProcessor imports transformers' Siglip2ImageProcessor, which in transformers "
    "5.x is the torchvision backend (the PIL one is Siglip2ImageProcessorPil); without torch it raises and mlx-vlm "
    "silently falls back to the bare tokenizer, so the image is dropped",
}

# Twins that build and run but are far from tiny, because mlx-vlm hardcodes a real-size vision tower: kept out
# of the default test run and listed in the `twins-heavy` suite rather than `twins`.
HEAVY: dict[str, str] = {
    "phi3_v": "mlx-vlm hardcodes the CLIP ViT-L/14-336 vision tower (303M parameters, 0.6 GB bf16, minutes per "
    "image on 2 CPU cores); the text side is tiny",
    "gemma3n": "mlx-vlm hardcodes the MobileNetV5 vision tower (~295M parameters, 2048 wide, 256 tokens per image); "
    "the text and audio towers are tiny",
    "deepseekocr": "mlx-vlm builds the SAM ViT-B encoder from SAMViTConfig() defaults (768 wide, 12 layers, ~95M "
    "parameters) and the processor pads every image to a 1024 px global view, so the CLIP tower stays 1024 wide; "
    "~105M parameters, 0.2 GB bf16, about 4 min per check on 2 CPU cores; the text side is tiny",
    "jina_vlm": "mlx-vlm's load_model rebuilds TextConfig / VisionConfig from the raw dicts' flat keys only "
    "(update_module_configs), dropping the real config's nested block_config dims: the tower always has 27 layers of "
    "16 x 72 attention and a 4304 FFN, the connector a 6144 MLP, the text 16 x 128 attention and a 6144 FFN (only the "
    "hidden sizes shrink); the processor hardcodes 378 px crops and token ids 151665-151668, so the real 152k vocab "
    "stays: ~35M parameters, 71 MB bf16, about a minute per image on 2 CPU cores",
    "deepseekocr_2": "mlx-vlm builds the SAM ViT-B from SAMViTConfig() defaults and the Qwen2 encoder with 24 layers, "
    "14 heads and FFN 4864 whatever the config says (VisionConfig.from_dict reads only its dim, 896 = the SAM output), "
    "and the processor adds up to six 768 px crops to the 1024 px global view (3 x 2 for the 320 x 240 check image: "
    "1131 prompt tokens); 453M parameters, 0.9 GB bf16 (-q4 too: convert leaves the vision unquantized), built in "
    "17 s, loaded and round-tripped (498 tensors) in 4 s on 2 shared CPU cores, but the vision alone takes ~22 min "
    "per image there (measured: global view 308 s = SAM 230 s + Qwen2 encoder 78 s, each 768 px crop 169 s), so a "
    "-q4 check did not finish in 15 min; bf16 fails at the MoE text after the vision (GatherMM); the text is tiny",
    "fastvlm": "mlx-vlm 0.7.10 hardcodes the FastViTHD tower: its layers [2, 12, 24, 4, 2], embed_dims [96 .. 1536], "
    "mlp_ratios and token mixers are unannotated VisionConfig class attributes, not dataclass fields, so no config "
    "key reaches them (~125M parameters, 0.25 GB bf16); the Qwen2 text side is tiny and the image 256 px "
    "(preprocessor_config.json drives it: 16 image features); a check takes ~18 s and 0.6 GB RSS on 2 CPU cores",
    # nemotron_parse: a latent mlx-vlm 0.7.10 bug makes it heavy. ModelConfig.from_dict builds VisionConfig from the
    # checkpoint's `encoder` dict, but mlx_vlm.utils.load_model first does config.setdefault("vision_config", {})
    # and update_module_configs then replaces model_config.vision_config with VisionConfig.from_dict({}), i.e. the
    # defaults (from_dict re-seeds text_config from `decoder` against exactly this, but not vision_config). Real
    # checkpoints are unaffected (their encoder is that default ViT-H), so it is no expected failure; but any
    # `encoder` dims are silently ignored: a draft twin with a tiny `encoder` (commit d60583a) built, loaded and
    # round-tripped a 32 x 1280 ViT-H (456 tensors exact), then failed on the neck's 1024 vs its decoder's d_model 64.
    "nemotron_parse": "mlx-vlm builds the C-RADIO ViT-H (32 x 1280, neck 1024) from VisionConfig() defaults whatever "
    "`encoder` says (load_model's vision_config={} overrides what ModelConfig.from_dict read), and its processor pads "
    "every image to 2048 x 1664 (13,312 patches + 8 cls/register tokens); the decoder keeps d_model 1024 (= the neck) "
    "with 2 layers, FFN 128 and vocab 512: 679M parameters, 1.36 GB bf16, built in 26 s, loaded and round-tripped "
    "(456 tensors) in 11 s on 2 CPU cores. Generation cannot finish on the CPU: the first ViT-H attention at 13,320 "
    "tokens segfaults in mlx (see EXPECTED_FAILURES); one at 11,586 tokens alone took 214 s, and there are 32",
}


@dataclass(frozen=True)
class TwinInfo:
    name: str  # the spec to use in a suite: twin:<arch> or twin-broken:<case>
    arch: str  # mlx-vlm model_type
    sizes: list[str]  # "tiny" plus the real-size names (e.g. "2b") that `twin:<arch>@<size>` accepts
    buildable: bool
    reason: str | None = None


def builder_for(arch: str) -> Builder | None:
    return BUILDERS.get(arch)
