"""Coverage: every model folder of the installed mlx-vlm that has a vision tower, classified.

Each folder `mlx_vlm/models/<name>/vision.py` is exactly one of
* twin: a builder in agent.twins.registry (the folder name is the twin's architecture),
* not a generative VLM: it does not turn an image and a prompt into text (detection, segmentation, ...), with why,
* not yet buildable: a generative VLM with no twin yet, with why (registry.NOT_BUILDABLE or NOT_YET_BUILT below).

The folders are found on disk (importlib's find_spec does not run mlx_vlm's __init__), so this module stays free of
mlx and can run in the grid CLI. tests/test_twins_coverage.py fails when a folder has none of the three.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from agent.twins import registry

TWIN = "twin"
NOT_GENERATIVE = "not a generative VLM"
NOT_YET = "not yet buildable"
UNCLASSIFIED = "unclassified"

# Decided from each folder's Model.__call__ (mlx-vlm 0.7.10): what it returns is not next-token logits over text.
NOT_A_GENERATIVE_VLM: dict[str, str] = {
    "d1_omni": "multiple-choice classifier: an encoder trunk and a DecisionHead return option logits, no decoder",
    "moge3": "monocular geometry/depth estimation (DINOv2 + conv heads + 3D refiner), no text output",
    "rfdetr": "object detection (RF-DETR): boxes and class logits, no language model",
    "rt_detr_v2": "object detection (RT-DETRv2): boxes and class logits, no language model",
    "sam3": "promptable segmentation (DETR detector + SAM2 tracker): masks, no text output",
    "sam3_1": "promptable segmentation and tracking (SAM 3.1): masks, no text output",
    "sam3d_body": "3D human body mesh estimation (DINOv3 backbone + MHR head), no text output",
    "sam3d_objects": "3D object reconstruction (sparse structure + mesh decoders), no text output",
}

# Generative VLMs without a twin yet, and why (none in mlx-vlm 0.7.10; a new release's folder lands here or in
# registry.BUILDERS, else tests/test_twins_coverage.py fails).
NOT_YET_BUILT: dict[str, str] = {}


@dataclass(frozen=True)
class Folder:
    folder: str  # mlx_vlm/models/<folder>
    status: str  # TWIN, NOT_GENERATIVE, NOT_YET or UNCLASSIFIED
    reason: str  # why, or for a twin its note (heavy, expected failure), "" when none


def mlx_vlm_version() -> str:
    try:
        return importlib.metadata.version("mlx-vlm")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def vision_folders(models_dir: Path | None = None) -> list[str]:
    """The installed mlx-vlm's model folders with a vision tower (models/*/vision.py), sorted."""
    if models_dir is None:
        spec = importlib.util.find_spec("mlx_vlm")
        if spec is None or not spec.submodule_search_locations:
            return []
        models_dir = Path(next(iter(spec.submodule_search_locations))) / "models"
    return sorted(p.parent.name for p in models_dir.glob("*/vision.py"))


def _twin_note(folder: str) -> str:
    from agent.twins.listing import note

    return note(folder) or ""


def classify(folder: str) -> Folder:
    if folder in registry.BUILDERS:
        return Folder(folder, TWIN, _twin_note(folder))
    if folder in NOT_A_GENERATIVE_VLM:
        return Folder(folder, NOT_GENERATIVE, NOT_A_GENERATIVE_VLM[folder])
    reason = registry.NOT_BUILDABLE.get(folder) or NOT_YET_BUILT.get(folder)
    if reason:
        return Folder(folder, NOT_YET, reason)
    return Folder(folder, UNCLASSIFIED, "no twin and no recorded reason: add one to agent/twins/coverage.py")


def coverage(models_dir: Path | None = None) -> list[Folder]:
    return [classify(f) for f in vision_folders(models_dir)]


def summary(rows: list[Folder] | None = None) -> str:
    """'N of M generative VLM architectures of mlx-vlm X have twins' (M leaves out the non-generative folders)."""
    rows = coverage() if rows is None else rows
    generative = [r for r in rows if r.status != NOT_GENERATIVE]
    twins = sum(r.status == TWIN for r in generative)
    return f"{twins} of {len(generative)} generative VLM architectures of mlx-vlm {mlx_vlm_version()} have twins"
