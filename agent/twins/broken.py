"""Broken twins (`twin-broken:<case>`): each reproduces one failure of the seed report through real mlx-vlm /
transformers code paths, on top of a working tiny twin. Nothing in the code under test is patched: the breakage is
in the twin's files (configs, missing weights, model-shipped remote code), as it was in the real checkpoints.

Model-shipped code lives in remote_code/broken/ and is copied into the twin folder. Three base twins serve:
  * llava_bunny (model_type llava-qwen2, like nanoLLaVA): mlx-vlm installs no processor of its own for it, so
    processor loading goes through transformers' AutoProcessor and the checkpoint's auto_map remote code;
  * qwen2_vl: weights, image sizes and `model_file` (mlx-vlm imports model code shipped in the checkpoint);
  * gemma3: mlx-vlm's own Gemma3Processor, which takes whatever AutoImageProcessor resolves.
`expect` is what the agent must report (status, error_class, error_package); `suite` holds the per-model suite
options the case needs (trust_remote_code, timeout_s, memory_limit_gb). grid/suites/failures.yaml lists them all.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.twins import bunny, gemma, qwen
from agent.twins.files import TwinFiles
from agent.twins.remote import remote_file
from agent.twins.spec import TwinError


@dataclass(frozen=True)
class BrokenCase:
    arch: str  # the working twin it is built from
    reproduces: str  # the seed report failure it reproduces (one line)
    expect: dict
    build: Callable[[], TwinFiles]
    suite: dict = field(default_factory=dict)


def _ship(files: TwinFiles, *names: str) -> TwinFiles:
    for name in names:
        files.extra_files[name] = remote_file(f"broken/{name}")
    return files


def _bunny_with_processor(
    auto_map: dict, processor_class: str, shipped: tuple[str, ...], image_processor: bool
) -> TwinFiles:
    """nanoLLaVA-style twin whose processor comes from model-shipped remote code (processor_config.json auto_map)."""
    files = bunny.llava_bunny()
    files.processor_config = {"processor_class": processor_class, "auto_map": dict(auto_map)}
    if image_processor:
        files.preprocessor_config = {
            "image_processor_type": "CLIPImageProcessor",
            "processor_class": processor_class,
            "auto_map": dict(auto_map),
            "size": {"height": 384, "width": 384},
            "crop_size": {"height": 384, "width": 384},
            "do_center_crop": False,
        }
    return _ship(files, *shipped)


def _processor_mismatch() -> TwinFiles:
    files = gemma.gemma3()
    files.preprocessor_config["auto_map"] = {"AutoImageProcessor": "image_processing_internvl.InternVLImageProcessor"}
    files.trust_remote_code = True  # as InternVL3 needs; without it transformers ignores the shipped class
    return _ship(files, "image_processing_internvl.py")


def _remote_code_import() -> TwinFiles:
    return _bunny_with_processor(
        {"AutoProcessor": "processing_kimi_vl.KimiVLProcessor"},
        "KimiVLProcessor",
        ("processing_kimi_vl.py",),
        image_processor=False,
    )


def _tokenizer_attribute() -> TwinFiles:
    return _bunny_with_processor(
        {"AutoProcessor": "processing_florence2.Florence2Processor"},
        "Florence2Processor",
        ("processing_florence2.py",),
        image_processor=True,
    )


def _missing_processor_file() -> TwinFiles:
    auto_map = {
        "AutoProcessor": "processing_phi3_v.Phi3VProcessor",
        "AutoImageProcessor": "image_processing_phi3_v.Phi3VImageProcessor",
    }  # this file is not shipped
    return _bunny_with_processor(auto_map, "Phi3VProcessor", ("processing_phi3_v.py",), image_processor=True)


def _abort() -> TwinFiles:
    return _bunny_with_processor(
        {"AutoProcessor": "processing_abort.AbortingProcessor"},
        "AbortingProcessor",
        ("processing_abort.py",),
        image_processor=False,
    )


def _missing_lm_head() -> TwinFiles:
    files = qwen.qwen2_vl()  # untied embeddings: mlx-vlm's qwen2_vl does not re-tie a missing lm_head
    files.drop_weights = ("language_model.lm_head.weight",)
    return files


def _oom() -> TwinFiles:
    # Qwen2-VL's image processor keeps huge images near full resolution when max_pixels allows it; the seed report's
    # 5477x7819 px photo asked Metal for 135 GB. Here a 4096x3072 px image becomes ~64k patches.
    return qwen.qwen2_vl(pre={"max_pixels": 4096 * 3072, "min_pixels": 56 * 56})


def _with_model_file(name: str) -> TwinFiles:
    files = qwen.qwen2_vl()
    files.config["model_file"] = name
    return _ship(files, name)


CASES: dict[str, BrokenCase] = {
    "processor_mismatch": BrokenCase(
        "gemma3",
        "InternVL3: TypeError Received a InternVLImageProcessor ..., but a ImageProcessingMixin was expected",
        {"status": "failed", "error_class": "Processor Error", "error_package": "mlx-vlm"},
        _processor_mismatch,
        {"trust_remote_code": True},
    ),
    "remote_code_import": BrokenCase(
        "llava_bunny",
        "Kimi-VL: ImportError cannot import name '_validate_images_text_input_order' (shipped code)",
        {"status": "failed", "error_class": "Lib Version", "error_package": "model files"},
        _remote_code_import,
        {"trust_remote_code": True},
    ),
    "missing_lm_head": BrokenCase(
        "qwen2_vl",
        "Florence-2: ValueError Missing 1 parameters: language_model.lm_head.weight",
        {"status": "failed", "error_class": "Weight Mismatch", "error_package": "model files"},
        _missing_lm_head,
    ),
    "tokenizer_attribute": BrokenCase(
        "llava_bunny",
        "Florence-2 (prince-canuma): AttributeError tokenizer has no attribute additional_special_tokens",
        {"status": "failed", "error_class": "API Mismatch", "error_package": "model files"},
        _tokenizer_attribute,
        {"trust_remote_code": True},
    ),
    "missing_processor_file": BrokenCase(
        "llava_bunny",
        "Phi-3.5-vision-bf16: OSError does not appear to have a file named image_processing_phi3_v.py",
        {"status": "failed", "error_class": "Config Missing", "error_package": "model files"},
        _missing_processor_file,
        {"trust_remote_code": True},
    ),
    "oom": BrokenCase(
        "qwen2_vl",
        "Qwen2-VL-2B-4bit: a huge image needs more memory than the machine allows",
        {"status": "oom", "error_class": "OOM", "error_package": "mlx"},
        _oom,
        {"memory_limit_gb": 2},
    ),
    "type_cast": BrokenCase(
        "qwen2_vl",
        "deepseek-vl2-8bit: RuntimeError std::bad_cast inside model code",
        {"status": "failed", "error_class": "Type Cast Error", "error_package": "mlx"},
        lambda: _with_model_file("modeling_type_cast.py"),
    ),
    "hang": BrokenCase(
        "qwen2_vl",
        "a model that never returns (no seed model hung; the runner must still end the cell)",
        {"status": "timeout", "error_class": "Timeout", "error_package": "grid"},
        lambda: _with_model_file("modeling_hang.py"),
        {"timeout_s": 30},
    ),
    "abort": BrokenCase(
        "llava_bunny",
        "a hard crash (SIGABRT) in model-shipped code: the child dies without a Python exception",
        {"status": "crashed", "error_class": "Crash", "error_package": "model files"},
        _abort,
        {"trust_remote_code": True},
    ),
}


def files_for(case: str) -> TwinFiles:
    if case not in CASES:
        raise TwinError(f"unknown broken twin {case!r}; cases: {', '.join(sorted(CASES))}")
    files = copy.deepcopy(CASES[case].build())
    # Tell whoever opens the folder that it is broken on purpose, and how.
    files.extra_files["BROKEN.json"] = (
        json.dumps(
            {
                "case": case,
                "base": CASES[case].arch,
                "reproduces": CASES[case].reproduces,
                "expect": CASES[case].expect,
            },
            indent=2,
        )
        + "\n"
    )
    return files
