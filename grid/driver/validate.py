"""Checks of a loaded suite that need more than the YAML: twin names against the twin registry, local model folders
against the files mlx-vlm needs (grid.core.modelfiles), model ids that are neither a folder nor a Hugging Face repo
id. Run before any Ray start (`grid run` calls validate_suite right after load_suite): each problem is a SuiteError
(exit 2) naming the suite file and the key, never a misleading row later.
"""

from __future__ import annotations

import re
from pathlib import Path

from grid.core import modelfiles
from grid.core.suite import ModelSpec, Suite, SuiteError

# Hugging Face repo ids: `name` or `namespace/name`, letters, digits, '-', '_', '.' (no '--' or '..', at most 96)
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")


def validate_suite(suite: Suite, local_folders: bool = True) -> None:
    """Raise a SuiteError for the first model of `suite` that cannot run as written. local_folders=False (grid
    submit, on a laptop): folders name paths on the head, so only twin names and repo ids are checked here."""
    for i, model in enumerate(suite.models):
        if local_folders or model.source == "twin" or not looks_like_path(model.id):
            _model(suite.source or suite.name, f"models[{i}].id", model)


def _model(file: str, key: str, model: ModelSpec) -> None:
    if model.source == "twin":
        _twin(file, key, model.id)
    elif looks_like_path(model.id):
        _folder(file, key, model.id)
    elif not _REPO_ID.match(model.id) or "--" in model.id or ".." in model.id:
        raise SuiteError(
            file, key, f"{model.id!r} is neither a local model folder nor a Hugging Face repo id (namespace/name)"
        )


def looks_like_path(model_id: str) -> bool:
    """A folder, not a repo id: starts like a path, exists here, or has more than one '/' (repo ids have at most one)."""
    return (
        model_id.startswith((".", "/", "~"))
        or "\\" in model_id
        or model_id.count("/") > 1
        or Path(model_id).expanduser().exists()
    )


def _twin(file: str, key: str, spec: str) -> None:
    from agent.twins import TwinError
    from agent.twins.build import twin_files
    from agent.twins.spec import parse

    try:
        twin_files(parse(spec))  # pure Python: the configs and tokenizer spec, no weights, no mlx
    except TwinError as e:
        raise SuiteError(file, key, f"{e.message}; see `grid twins list`") from None


def _folder(file: str, key: str, model_id: str) -> None:
    path = Path(model_id).expanduser()
    if not path.exists():
        raise SuiteError(file, key, f"model folder {path.resolve()} does not exist")
    if not path.is_dir():
        raise SuiteError(file, key, f"{path.resolve()} is a file: give the model folder (the one holding config.json)")
    problems = modelfiles.check_folder(path)
    if problems:
        p = problems[0]
        raise SuiteError(file, key, f"model folder {path.resolve()}: {p.message} ({p.error_class}): {p.fix}")
    missing = modelfiles.fallbacks(path)
    if missing:
        raise SuiteError(
            file,
            key,
            f"model folder {path.resolve()}: no {missing[0]} (its architecture needs one; without it the image "
            "processor falls back to defaults): copy it from the original model repo",
        )
