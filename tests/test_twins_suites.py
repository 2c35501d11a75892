"""The built-in twin suites say what they promise: `twins` names every buildable tiny twin (with the expected failures
marked), `seed-2026-01` names exactly the 36 models of the seed report with trust_remote_code where they ship code."""

from __future__ import annotations

from agent.twins import list_twins, registry
from grid.core.suite import load_suite

# The "Full Model Results Table" of check-models-report-2026-01-16.md, verbatim.
SEED_MODELS = """
HuggingFaceTB/SmolVLM-Instruct
Qwen/Qwen3-VL-2B-Instruct
meta-llama/Llama-3.2-11B-Vision-Instruct
microsoft/Florence-2-large-ft
microsoft/Phi-3.5-vision-instruct
mlx-community/Apriel-1.5-15b-Thinker-6bit-MLX
mlx-community/Devstral-Small-2-24B-Instruct-2512-5bit
mlx-community/GLM-4.6V-Flash-6bit
mlx-community/Idefics3-8B-Llama3-bf16
mlx-community/InternVL3-14B-8bit
mlx-community/Kimi-VL-A3B-Thinking-2506-bf16
mlx-community/Kimi-VL-A3B-Thinking-8bit
mlx-community/LFM2-VL-1.6B-8bit
mlx-community/LFM2.5-VL-1.6B-bf16
mlx-community/Llama-3.2-11B-Vision-Instruct-8bit
mlx-community/Ministral-3-3B-Instruct-2512-4bit
mlx-community/Molmo-7B-D-0924-8bit
mlx-community/Molmo-7B-D-0924-bf16
mlx-community/Phi-3.5-vision-instruct-bf16
mlx-community/Qwen2-VL-2B-Instruct-4bit
mlx-community/Qwen3-VL-2B-Thinking-bf16
mlx-community/SmolVLM-Instruct-bf16
mlx-community/SmolVLM2-2.2B-Instruct-mlx
mlx-community/deepseek-vl2-8bit
mlx-community/gemma-3-27b-it-qat-4bit
mlx-community/gemma-3-27b-it-qat-8bit
mlx-community/gemma-3n-E4B-it-bf16
mlx-community/llava-v1.6-mistral-7b-8bit
mlx-community/paligemma2-10b-ft-docci-448-6bit
mlx-community/paligemma2-10b-ft-docci-448-bf16
mlx-community/paligemma2-3b-ft-docci-448-bf16
mlx-community/paligemma2-3b-pt-896-4bit
mlx-community/pixtral-12b-8bit
mlx-community/pixtral-12b-bf16
prince-canuma/Florence-2-large-ft
qnguyen3/nanoLLaVA
""".split()
NEEDS_REMOTE_CODE = ("Florence-2", "Phi-3.5-vision", "InternVL", "Kimi-VL", "Molmo", "deepseek-vl2", "nanoLLaVA")


def test_seed_suite_is_exactly_the_36_seed_models():
    suite = load_suite("seed-2026-01")
    ids = [m.id for m in suite.models]
    assert len(SEED_MODELS) == 36
    assert sorted(ids) == sorted(SEED_MODELS)
    for model in suite.models:
        assert model.trust_remote_code == any(name in model.id for name in NEEDS_REMOTE_CODE), model.id


def test_twins_suite_covers_every_buildable_twin():
    suite = load_suite("twins")
    ids = {m.id for m in suite.models}
    tiny = {t.name for t in list_twins() if t.buildable and t.name.startswith("twin:") and t.arch not in registry.HEAVY}
    assert tiny <= ids
    assert {f"twin:{a}" for a in registry.HEAVY} <= {m.id for m in load_suite("twins-heavy").models}


def test_twins_suite_expectations_match_the_registry():
    by_id = {m.id: m for m in load_suite("twins").models}
    heavy = {m.id: m for m in load_suite("twins-heavy").models}  # a heavy twin's expectation lives there
    for arch, expect in registry.EXPECTED_FAILURES.items():
        listed = heavy if arch in registry.HEAVY else by_id
        want = {k: v for k, v in expect.items() if k != "backend"}
        assert listed[f"twin:{arch}"].expect == want
        gather_mm = (expect.get("backend"), expect["error_package"], expect["error_class"]) == (
            "cpu",
            "mlx",
            "Model Error",
        )
        if gather_mm:  # the quantized
            # stand-in is listed next to it, runnable unless recorded (muse_spark's Metal-only kernels are mlx-vlm's)
            quantized = registry.EXPECTED_QUANTIZED_FAILURES.get(arch)
            want_q = {k: v for k, v in quantized.items() if k != "backend"} if quantized else None
            assert listed[f"twin:{arch}-q4"].expect == want_q
    runnable = [m for m in by_id.values() if m.expect is None]
    assert len({m.id.split("-q")[0] for m in runnable}) >= 25  # architectures expected OK on a 2-core CPU


def test_twins_suite_trusts_remote_code_exactly_where_twins_ship_it():
    for model in load_suite("twins").models:
        arch = model.id.split(":", 1)[1].split("-q")[0]
        assert model.trust_remote_code == registry.BUILDERS[arch]().trust_remote_code, model.id


def test_image_dropped_twins_are_runnable_and_say_so():
    """A twin whose image mlx-vlm silently drops runs (status ok, no expect) and its suite entry and listing say so."""
    by_id = {m.id: m for m in load_suite("twins").models}
    listed = {t.arch: t for t in list_twins()}
    for arch in registry.IMAGE_DROPPED:
        assert arch in registry.BUILDERS and arch not in registry.EXPECTED_FAILURES
        model = by_id[f"twin:{arch}"]
        assert model.expect is None and "text-only" in (model.notes or "")
        assert "the image is dropped" in listed[arch].reason
