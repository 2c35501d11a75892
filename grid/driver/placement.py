"""Placement before dispatch: what each class can hold, what each model needs, which cells cannot fit, and the order.

Runs on the driver, never imports mlx. A model's need comes from (best first) its files on the driver (local folder,
Hugging Face cache, built twin), the Hub's safetensors metadata (headers only, over HTTP range requests), or its
config dims (twin configs are pure Python). Anything unknown is placed unpredicted: a missing fact never blocks a run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from grid.core.plan import Cell
from grid.core.schema import ResultRow
from grid.core.status import Status
from grid.core.suite import ModelSpec
from grid.driver import memory


@dataclass(frozen=True)
class ClassLimit:
    hw_class: str
    ram_gb: float | None
    working_set_gb: float | None
    nodes: int

    @property
    def limit_gb(self) -> float | None:
        return memory.memory_limit_gb(self.ram_gb, self.working_set_gb)


def class_limits(nodes: list[dict]) -> dict[str, ClassLimit]:
    """Per hw_class, the smallest RAM / working set among its live grid nodes (`ray.nodes()` entries): a cell of a
    class may land on any of its nodes, so the tightest one decides."""
    by_class: dict[str, list[dict]] = {}
    for n in nodes:
        labels = n.get("Labels") or {}
        if n.get("Alive") and labels.get("role") == "grid-node" and labels.get("hw_class"):
            by_class.setdefault(labels["hw_class"], []).append(labels)
    out = {}
    for cls, labels in by_class.items():
        rams = [float(x["ram_gb"]) for x in labels if x.get("ram_gb")]
        sets = [float(x["working_set_gb"]) for x in labels if x.get("working_set_gb")]
        out[cls] = ClassLimit(
            cls, min(rams) if rams else None, min(sets) if len(sets) == len(labels) else None, len(labels)
        )
    return out


# --- a model's predicted need --------------------------------------------------------------------------------------------


def _hf_cached_dir(model: ModelSpec) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(model.id, "config.json", revision=model.revision)
        return Path(hit).parent if isinstance(hit, str) else None
    except Exception:
        return None


def _hub_estimate(model: ModelSpec, max_tokens: int) -> memory.MemoryEstimate | None:
    """Header-only sizes from the Hub (no weights downloaded). Skipped offline."""
    if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True"):
        return None
    try:
        from huggingface_hub import HfApi, hf_hub_download

        meta = HfApi().get_safetensors_metadata(model.id, revision=model.revision)
        config = json.loads(Path(hf_hub_download(model.id, "config.json", revision=model.revision)).read_text())
        weights = memory.param_count_weight_bytes(meta.parameter_count)
        return memory.predict_memory(config, max_tokens, weight_bytes=weights, weights_from="hub-metadata")
    except Exception:
        return None


def _twin_estimate(model: ModelSpec, max_tokens: int) -> memory.MemoryEstimate | None:
    try:
        from agent.twins.build import twin_files
        from agent.twins.files import cache_root
        from agent.twins.spec import parse

        spec = parse(model.id)
        built = cache_root() / spec.folder_name
        if (built / "config.json").exists():
            return memory.predict_memory_gb(built, max_tokens)
        return memory.predict_memory(twin_files(spec).config, max_tokens)
    except Exception:
        return None


def estimate(model: ModelSpec, max_tokens: int) -> memory.MemoryEstimate | None:
    try:
        if model.source == "twin":
            return _twin_estimate(model, max_tokens)
        if model.source == "local":
            return memory.predict_memory_gb(Path(model.id).expanduser(), max_tokens)
        cached = _hf_cached_dir(model)
        if cached is not None and any(cached.glob("*.safetensors")):
            return memory.predict_memory_gb(cached, max_tokens)
        return _hub_estimate(model, max_tokens)
    except (memory.ModelSizeError, OSError, ValueError):
        return None


# --- decisions -----------------------------------------------------------------------------------------------------------


def grid_row(cell: Cell, status: str, error_class: str, message: str, fix: str, **extra) -> ResultRow:
    """A row the driver writes itself (skipped, node_lost): same identity fields as an agent row (grid.core.rows)."""
    from grid.core import rows

    return rows.driver_row(cell, status, error_class, message, fix, **extra)


def fit_check(
    cells: list[Cell], limits: dict[str, ClassLimit], estimates: dict[str, memory.MemoryEstimate | None]
) -> tuple[list[Cell], list[ResultRow]]:
    """Split cells into those to place and `skipped` rows for those predicted not to fit their class."""
    place, skipped = [], []
    for cell in cells:
        est = estimates.get(cell.model.id)
        lim = limits.get(cell.hw_class)
        if est is None or lim is None:
            place.append(cell)
            continue
        ok, limit_gb = memory.fits(est, lim.ram_gb, lim.working_set_gb)
        if ok:
            place.append(cell)
            continue
        basis = (
            "MLX working set"
            if lim.working_set_gb
            else f"{memory.DEFAULT_WORKING_SET_FRACTION:g} x {lim.ram_gb:g} GB RAM"
        )
        skipped.append(
            grid_row(
                cell,
                Status.SKIPPED,
                "Memory Fit",
                f"predicted {est.total_gb:.2f} GB (weights {est.weight_bytes / memory.GB:.2f} + KV "
                f"{est.kv_bytes / memory.GB:.2f} + activations {est.activation_bytes / memory.GB:.2f}, from "
                f"{est.weights_from}) > limit {limit_gb:.2f} GB ({basis}) of {cell.hw_class}",
                "Run it on a class with more memory, pick a quantized variant, or lower max_tokens.",
                predicted_memory_gb=est.total_gb,
                memory_limit_gb=limit_gb,
                weight_bytes=est.weight_bytes,
            )
        )
    return place, skipped


def longest_first(groups: list[list[Cell]], estimates: dict[str, memory.MemoryEstimate | None]) -> list[list[Cell]]:
    """Dispatch order: predicted work first, so the biggest groups do not start last and stretch the run.
    Work ~ weight bytes (decode is memory-bound: each token reads the weights) x cells x token budget."""

    def work(group: list[Cell]) -> float:
        est = estimates.get(group[0].model.id)
        size = est.weight_bytes if est else 0
        return size * sum(c.generation.max_tokens * max(1, c.generation.trials) for c in group)

    return sorted(groups, key=work, reverse=True)
