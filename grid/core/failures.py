"""Error classes: what failed, which package owns it, and a one-line fix.

The class comes from the exception and its message; the owning package comes from the traceback frames (which
package's code raised it, and which package's code made the call that a strict validator rejected), not from keywords.
Classes follow the seed report (Processor Error, Lib Version, Weight Mismatch, Config Missing, OOM, Type Cast Error,
API Mismatch, Model Error) plus Timeout, Crash and the Hugging Face hub failures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from grid.core import modelfiles
from grid.core.status import Status

PACKAGES = ("mlx", "mlx-vlm", "mlx-lm", "transformers", "huggingface-hub", "model files", "grid", "python")

# Path fragments -> owning package. Order matters: mlx_vlm and mlx_lm before mlx. grid's own code lives in agent/
# (runner, child, adapter, twins and their weight builder) and grid/ (core, store, driver): both attribute to "grid".
_FRAME_PACKAGES = (
    ("/mlx_vlm/", "mlx-vlm"),
    ("/mlx_lm/", "mlx-lm"),
    ("/mlx/", "mlx"),
    ("/transformers_modules/", "model files"),  # remote code shipped with the model (trust_remote_code)
    ("/transformers/", "transformers"),
    ("/huggingface_hub/", "huggingface-hub"),
    ("/tokenizers/", "transformers"),
    ("/agent/", "grid"),
    ("/grid/", "grid"),
)


@dataclass(frozen=True)
class ErrorInfo:
    error_class: str
    error_package: str
    error_fix: str


@dataclass(frozen=True)
class Frame:
    filename: str
    lineno: int
    name: str


def frame_package(filename: str, model_dir: str | None = None) -> str:
    path = filename.replace(os.sep, "/")
    if model_dir and path.startswith(str(model_dir).replace(os.sep, "/")):
        return "model files"
    for fragment, package in _FRAME_PACKAGES:
        if fragment in path:
            return package
    if "/site-packages/" in path or "/lib/python3" in path:
        return "python"
    return "model files" if path.endswith(".py") and "/snapshots/" in path else "python"


def _innermost(frames: list[Frame], model_dir: str | None, skip: tuple[str, ...] = ("python",)) -> str | None:
    for f in reversed(frames):
        pkg = frame_package(f.filename, model_dir)
        if pkg not in skip:
            return pkg
    return None


def _caller_of(frames: list[Frame], model_dir: str | None, raiser: str) -> str | None:
    """The package whose code called into the raising library (e.g. transformers' strict argument checks): it passed
    the bad argument, so it owns the failure."""
    seen_raiser = False
    for f in reversed(frames):
        pkg = frame_package(f.filename, model_dir)
        if pkg == raiser:
            seen_raiser = True
        elif seen_raiser and pkg != "python":
            return pkg
    return None


# (class, exception type names or None for any, message regex, owner rule, fix)
# owner rule: "raiser" = innermost known frame; "caller" = the package that called the raising library;
#             "api" = the raiser, unless the raiser is a dependency rejecting what it was given (transformers'
#             __getattr__ / kwargs validation): then the caller that used the removed API or passed the bad argument;
#             a package name = fixed owner (the frames cannot tell better, e.g. a missing file in the model repo).
_RULES: tuple[tuple[str, tuple[str, ...] | None, str, str, str], ...] = (
    (
        "OOM",
        None,
        r"metal::malloc|out of memory|Attempting to allocate|std::bad_alloc|Cannot allocate memory|MemoryError",
        "mlx",
        "Use a smaller image (resize_shape), fewer max_tokens, a quantized variant, or a machine with more memory.",
    ),
    (
        "Repo Not Found",
        ("RepositoryNotFoundError", "RevisionNotFoundError"),
        r"",
        "huggingface-hub",
        "Check the repo id and revision on the Hub; private repos need HF_TOKEN in the worker's environment.",
    ),
    (
        "Gated Model",
        ("GatedRepoError",),
        r"",
        "huggingface-hub",
        "Accept the model's licence on the Hub and give the workers an HF_TOKEN with access.",
    ),
    (
        "No Network",
        ("LocalEntryNotFoundError", "OfflineModeIsEnabled", "ConnectionError", "ConnectTimeout"),
        r"",
        "huggingface-hub",
        "The node cannot reach the Hub: run `grid prefetch` with network, or unset HF_HUB_OFFLINE.",
    ),
    (
        "Lib Version",
        ("ImportError", "ModuleNotFoundError"),
        r"cannot import name|No module named",
        "raiser",
        "Pin the transformers version the model's code was written for, or update its code to public APIs.",
    ),
    (
        "Processor Error",
        ("TypeError",),
        r"Received a .* for argument .*, but a .* was expected",
        "caller",
        "Make the custom processor pass the classes transformers' ProcessorMixin expects (or pin transformers).",
    ),
    (
        "Weight Mismatch",
        ("ValueError",),
        r"Missing \d+ parameters|parameters not in model|Expected shape .* but received",
        "model files",
        "Re-convert the model so every parameter is saved (tied lm_head included), or tie it at load.",
    ),
    (
        "Config Missing",
        ("OSError", "FileNotFoundError", "EnvironmentError"),
        r"does not appear to have a file named|No such file|not found|Can't load",
        "model files",
        "Add the missing file (copy it from the original model repo) or fix the conversion that dropped it.",
    ),
    (
        "Type Cast Error",
        None,
        r"std::bad_cast|bad_cast",
        "mlx",
        "Cast indices/shapes to Python ints or mx.int32 before indexing; report to mlx with the model code line.",
    ),
    # mlx's own error format "[Primitive::eval...] ..." comes from evaluating the graph in mlx's C++ backend; these
    # say the backend has no kernel for the case (e.g. CPU GatherMM is float32-only, so bf16 MoE fails on CPU)
    (
        "Model Error",
        ("RuntimeError",),
        r"\[\w+::eval\w*\] .*(only supports|not supported|Not implemented)",
        "mlx",
        "mlx has no kernel for this dtype on this backend: run a quantized variant, another backend (Metal), or upcast.",
    ),
    (
        "API Mismatch",
        ("AttributeError",),
        r"has no attribute",
        "api",
        "The caller uses an API the installed library no longer has: update the caller or pin the library.",
    ),
    (
        "API Mismatch",
        ("TypeError", "ValueError"),
        r"unexpected keyword argument|takes \d+ positional",
        "api",
        "The caller passes arguments the installed library rejects: update the caller or pin the library.",
    ),
    (
        "Processor Error",
        ("ValueError", "TypeError", "KeyError"),
        r"Failed to process inputs|processor|image_token",
        "raiser",
        "The model's processor files do not match its code: check preprocessor/processor configs.",
    ),
)


def status_for(info: ErrorInfo) -> Status:
    """The status of a failed cell from its error class: oom, timeout, crashed, else failed."""
    return _STATUS_OF_CLASS.get(info.error_class, Status.FAILED)


_STATUS_OF_CLASS = {"OOM": Status.OOM, "Timeout": Status.TIMEOUT, "Crash": Status.CRASHED}

TIMEOUT = ErrorInfo(
    "Timeout",
    "grid",
    "The cell outran its wall-clock limit: raise timeout_s, or look for a hang "
    "(a stuck processor, a deadlock in model code).",
)


def _crashed_frame(detail: str) -> str:
    """The file of the crashing thread's innermost Python frame in faulthandler's dump ("" when none). A signal comes
    from native code: under a frame of mlx, mlx-vlm or mlx-lm (pure Python over mlx) that native code is mlx's."""
    m = re.search(r"Current thread[^\n]*\(most recent call first\):\s*\n\s*File \"([^\"]+)\"", detail or "")
    return m.group(1) if m else ""


def crash_info(exit_code: int | None, detail: str = "", memory_limited: bool = False) -> ErrorInfo:
    """A child that died without an exception: a signal (segfault, abort) or the kernel's OOM killer.

    memory_limited: the child ran under an address-space cap (memory_limit_gb). mlx's CPU allocator does not check
    for a failed malloc, so hitting the cap kills the process with SIGSEGV instead of raising: that death is an OOM."""
    if memory_limited and exit_code in (-11, -7, -6, -9):
        return ErrorInfo(
            "OOM",
            "mlx",
            "The cell needed more memory than its memory_limit_gb (the allocation failed; "
            "mlx's CPU backend segfaults rather than raising): use a smaller image or a larger limit.",
        )
    if exit_code == -9 and "MemoryError" not in detail:
        return ErrorInfo(
            "OOM",
            "mlx",
            "The process was killed (SIGKILL), most often by the OOM killer: use a smaller "
            "model, image or token budget, or a machine with more memory.",
        )
    innermost = _crashed_frame(detail)
    owner = (
        "mlx"
        if re.search(r"libmlx|mlx/core", detail) or re.search(r"/(mlx|mlx_vlm|mlx_lm)/", innermost)
        else "model files"
        if "transformers_modules" in detail
        else "python"
    )
    return ErrorInfo(
        "Crash",
        owner,
        "The process died from a signal (abort/segfault): the native stack in the "
        "traceback tail shows where; report it to the owning package with the model id.",
    )


def classify(
    exc_type: str,
    message: str,
    frames: list[Frame],
    model_dir: str | None = None,
    chain: list[tuple[str, str, list[Frame]]] | None = None,
) -> ErrorInfo:
    """Classify an exception. `chain` holds the causes (innermost last) for wrapped errors: their type, message and
    frames are tried first, since a wrapper like 'Failed to process inputs' hides the real failure."""
    diagnosed = diagnose_folder(model_dir, message)
    if diagnosed is not None:
        return diagnosed
    candidates = list(reversed(chain or [])) + [(exc_type, message, frames)]
    for class_name, types, pattern, owner_rule, fix in _RULES:
        for t, msg, fr in candidates:
            if types is not None and t not in types:
                continue
            if pattern and not re.search(pattern, f"{t}: {msg}"):
                continue
            return ErrorInfo(class_name, _owner(owner_rule, fr, frames, model_dir), fix)
    owner = _innermost(frames, model_dir, skip=("python", "grid")) or "python"
    return ErrorInfo(
        "Model Error", owner, "An exception inside model code: see the traceback tail; report it to the owning package."
    )


def diagnose_folder(model_dir: str | None, message: str = "") -> ErrorInfo | None:
    """A model folder with a missing or broken file (grid.core.modelfiles) is the root cause of whatever exception it
    surfaced as (no tokenizer: an mlx gather error; a truncated safetensors: a header error in mlx): its owner is the
    model files, its fix names the file. None when the folder's files are fine (or there is no folder)."""
    if not model_dir or not os.path.isdir(model_dir):
        return None  # no folder to look at (a hub error before the download, a folder moved away)
    try:
        problems = modelfiles.check_folder(model_dir)
    except OSError:
        return None
    if not problems and re.search(r"(?i)preprocessor|image processor", message or ""):
        problems = [
            modelfiles.Problem("Config Missing", name, "absent (the processor needs it)", modelfiles.CONFIG_FIX)
            for name in modelfiles.fallbacks(model_dir)
        ]
    if not problems:
        return None
    p = problems[0]
    return ErrorInfo(p.error_class, "model files", f"{p.message}. {p.fix}")


# Libraries whose strict validation (transformers' __getattr__ / kwargs checks, huggingface_hub's typed dataclasses)
# raises on behalf of the code that called them with a removed attribute or an unexpected argument.
_VALIDATING_LIBRARIES = ("transformers", "huggingface-hub")


def _owner(rule: str, frames: list[Frame], outer_frames: list[Frame], model_dir: str | None) -> str:
    all_frames = outer_frames + [f for f in frames if f not in outer_frames]
    if rule == "raiser":
        return _innermost(frames, model_dir, skip=("python", "grid")) or _innermost(all_frames, model_dir) or "python"
    if rule == "api":
        raiser = _innermost(frames, model_dir, skip=("python", "grid")) or "python"
        if raiser in _VALIDATING_LIBRARIES:  # walk out past every validating library to the code that called it
            return _innermost(frames, model_dir, skip=("python", "grid", *_VALIDATING_LIBRARIES)) or raiser
        return raiser
    if rule == "caller":
        raiser = _innermost(frames, model_dir, skip=("python",)) or "python"
        return _caller_of(frames, model_dir, raiser) or raiser
    return rule


# --- secrets never reach rows, logs or reports ---------------------------------------------------------------------
_SECRET_PATTERNS = (
    re.compile(r"hf_[A-Za-z0-9]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)((?:token|secret|password|passwd|api[_-]?key|auth)[\"']?\s*[=:]\s*[\"']?)[^\s\"',;]{6,}"),
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    # Long random-looking strings with both cases and digits (not hex commit hashes or paths).
    re.compile(r"\b(?=[A-Za-z0-9_\-]*[a-z])(?=[A-Za-z0-9_\-]*[A-Z])(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{32,}\b"),
)
_SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN", "RAY_AUTH_TOKEN", "AWS_SECRET_ACCESS_KEY")


def redact(text: str | None) -> str | None:
    if not text:
        return text
    for name in _SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            text = text.replace(value, "[REDACTED]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() and m.group(1) else "") + "[REDACTED]", text)
    return text
