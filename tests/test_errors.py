"""Error classes and owning packages from traceback frames; secrets redacted. Frames are recorded shapes of the seed
report's real tracebacks (pure logic: the real failures are reproduced by broken twins in test_twins_broken)."""

import pytest

from grid.core.failures import Frame, classify, crash_info, redact

SP = "/venv/lib/python3.13/site-packages"
MODEL = "/cache/hub/models--x/snapshots/abc"


def frames(*paths):
    return [Frame(p, 1, "f") for p in paths]


def test_processor_type_check_is_owned_by_the_caller_not_transformers():
    info = classify(
        "TypeError",
        "Received a InternVLImageProcessor for argument image_processor, but a ImageProcessingMixin was expected.",
        frames(
            f"{SP}/mlx_vlm/utils.py",
            f"{SP}/mlx_vlm/models/internvl_chat/processor.py",
            f"{SP}/transformers/processing_utils.py",
            f"{SP}/transformers/processing_utils.py",
        ),
    )
    assert (info.error_class, info.error_package) == ("Processor Error", "mlx-vlm")


def test_import_error_in_model_shipped_code_is_lib_version_owned_by_model_files():
    info = classify(
        "ImportError",
        "cannot import name '_validate_images_text_input_order' from 'transformers.processing_utils'",
        frames(
            f"{SP}/mlx_vlm/utils.py",
            f"{SP}/transformers/dynamic_module_utils.py",
            "/root/.cache/huggingface/modules/transformers_modules/kimi/processing_kimi_vl.py",
        ),
    )
    assert (info.error_class, info.error_package) == ("Lib Version", "model files")


def test_missing_weight_is_weight_mismatch():
    info = classify(
        "ValueError",
        "Missing 1 parameters: \nlanguage_model.lm_head.weight.",
        frames(f"{SP}/mlx_vlm/utils.py", f"{SP}/mlx/nn/layers/base.py"),
    )
    assert info.error_class == "Weight Mismatch" and info.error_package == "model files"


def test_bad_cast_is_type_cast_error_in_mlx():
    info = classify("RuntimeError", "std::bad_cast", frames(f"{SP}/mlx_vlm/models/deepseek_vl_v2/deepseek_vl_v2.py"))
    assert (info.error_class, info.error_package) == ("Type Cast Error", "mlx")


def test_metal_malloc_is_oom():
    info = classify(
        "RuntimeError",
        "[metal::malloc] Attempting to allocate 135433060352 bytes which is greater "
        "than the maximum allowed buffer size",
        frames(f"{SP}/mlx_vlm/generate.py"),
    )
    assert info.error_class == "OOM" and info.error_package == "mlx"


def test_attribute_error_in_remote_code_is_api_mismatch_of_model_files():
    info = classify(
        "AttributeError",
        "RobertaTokenizer has no attribute additional_special_tokens",
        frames(f"{SP}/mlx_vlm/utils.py", f"{MODEL}/processing_florence2.py"),
        model_dir=MODEL,
    )
    assert (info.error_class, info.error_package) == ("API Mismatch", "model files")


def test_wrapped_processor_error_uses_the_cause():
    cause = (
        "TypeError",
        "ImagesKwargs.__init__() got an unexpected keyword argument 'padding'",
        frames(f"{SP}/mlx_vlm/models/llava/processing_llava.py", f"{SP}/transformers/image_processing_base.py"),
    )
    info = classify(
        "ValueError", "Failed to process inputs with error: ...", frames(f"{SP}/mlx_vlm/utils.py"), chain=[cause]
    )
    assert info.error_class == "API Mismatch"
    # raised inside transformers' strict kwargs check, but mlx-vlm's LlavaProcessor passed the rejected `padding`
    assert info.error_package == "mlx-vlm"


def test_missing_file_is_config_missing():
    info = classify(
        "OSError",
        f"{MODEL} does not appear to have a file named image_processing_phi3_v.py",
        frames(f"{SP}/transformers/dynamic_module_utils.py"),
    )
    assert (info.error_class, info.error_package) == ("Config Missing", "model files")


def test_unknown_exception_in_model_code_is_model_error_owned_by_the_raiser():
    info = classify(
        "IndexError",
        "index 3 out of range",
        frames(f"{SP}/mlx_vlm/generate.py", f"{SP}/mlx_vlm/models/qwen2_vl/vision.py"),
    )
    assert (info.error_class, info.error_package) == ("Model Error", "mlx-vlm")


def test_hub_errors_have_their_own_classes():
    assert classify("RepositoryNotFoundError", "404", []).error_class == "Repo Not Found"
    assert classify("GatedRepoError", "403", []).error_class == "Gated Model"
    assert classify("LocalEntryNotFoundError", "offline", []).error_package == "huggingface-hub"


def test_crash_by_signal():
    assert crash_info(-6, "Fatal Python error: Aborted").error_class == "Crash"
    assert crash_info(-9).error_class == "OOM"


@pytest.mark.parametrize("secret", ["hf_" + "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsT", "Bearer abcdefghijklmnop"])
def test_tokens_are_redacted(secret):
    out = redact(f"401 Client Error for url with {secret} in it")
    assert secret not in out and "[REDACTED]" in out


def test_env_token_value_is_redacted(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "plainlookingvalue123")
    assert "plainlookingvalue123" not in redact("token was plainlookingvalue123")


def test_commit_hashes_and_paths_survive_redaction():
    text = "/cache/models--x/snapshots/3fe7794f0a1b2c3d4e5f60718293a4b5c6d7e8f9/config.json line 12"
    assert redact(text) == text


def test_attribute_error_raised_by_a_library_getattr_belongs_to_the_caller():
    """transformers 5 tokenizers raise AttributeError from their own __getattr__: the innermost frame is transformers,
    but the remote code asking for the removed attribute owns the failure (the tokenizer_attribute broken twin)."""
    remote = "/root/.cache/huggingface/modules/transformers_modules/twin/processing_florence2.py"
    info = classify(
        "AttributeError",
        "TokenizersBackend has no attribute additional_special_tokens",
        frames(
            f"{SP}/mlx_vlm/utils.py",
            f"{SP}/transformers/processing_utils.py",
            remote,
            f"{SP}/transformers/tokenization_utils_base.py",
        ),
    )
    assert (info.error_class, info.error_package) == ("API Mismatch", "model files")


def test_attribute_error_in_mlx_vlm_code_stays_with_mlx_vlm():
    info = classify(
        "AttributeError",
        "'NoneType' object has no attribute 'shape'",
        frames("/work/agent/adapter.py", f"{SP}/mlx_vlm/models/llava/llava.py"),
    )
    assert info.error_package == "mlx-vlm"


def test_signal_death_under_a_memory_limit_is_oom():
    """mlx's CPU allocator segfaults when RLIMIT_AS is hit (the oom broken twin): with a limit set, that is an OOM."""
    from grid.core.failures import crash_info

    assert crash_info(-11, "Fatal Python error: Segmentation fault", memory_limited=True).error_class == "OOM"
    assert crash_info(-11, "Fatal Python error: Segmentation fault").error_class == "Crash"


def test_kwargs_rejected_by_hub_dataclass_validation_belong_to_the_first_non_library_caller():
    """The real llava frames: mlx-vlm's processor -> transformers -> huggingface_hub's typed-dict validation."""
    cause = (
        "TypeError",
        "ImagesKwargs.__init__() got an unexpected keyword argument 'padding'",
        frames(
            f"{SP}/mlx_vlm/utils.py",
            f"{SP}/mlx_vlm/models/llava/processing_llava.py",
            f"{SP}/transformers/image_processing_utils.py",
            f"{SP}/huggingface_hub/dataclasses.py",
        ),
    )
    info = classify(
        "ValueError", "Failed to process inputs with error: ...", frames(f"{SP}/mlx_vlm/utils.py"), chain=[cause]
    )
    assert (info.error_class, info.error_package) == ("API Mismatch", "mlx-vlm")


def test_missing_backend_kernel_is_mlx():
    info = classify(
        "RuntimeError",
        "[GatherMM::eval] Currently only supports float32.",
        frames(f"{SP}/mlx_vlm/generate/dispatch.py", f"{SP}/mlx_vlm/generate/ar.py"),
    )
    assert (info.error_class, info.error_package) == ("Model Error", "mlx")


def test_a_segfault_under_an_mlx_frame_is_mlxs():
    """faulthandler's dump names Python frames only; a signal under mlx-vlm's Python (as nemotron_parse's ViT-H
    attention segfaulting in libmlx's simd_gemm, agent.twins.registry) comes from mlx's native code."""
    dump = """Fatal Python error: Segmentation fault

Thread 0x00007f3a2bfff6c0 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 331 in wait

Current thread 0x00007f3a3e1f4740 (most recent call first):
  File "/venv/lib/python3.11/site-packages/mlx_vlm/models/nemotron_parse/vision.py", line 101 in __call__
  File "/venv/lib/python3.11/site-packages/mlx/nn/layers/base.py", line 20 in __call__
  File "/work/grid/agent/child.py", line 300 in main
"""
    assert crash_info(-11, dump).error_package == "mlx"
    python_frame = dump.replace("site-packages/mlx_vlm/models/nemotron_parse/vision.py", "site-packages/PIL/Image.py")
    assert crash_info(-11, python_frame).error_package == "python"
    assert crash_info(-11, "Fatal Python error: Segmentation fault").error_package == "python"  # no stack at all
