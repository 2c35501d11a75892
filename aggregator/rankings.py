"""Rankings over a report's groups: one model per architecture for a test matrix, the fastest groups (apart per
kind: real models, real-size twins, tiny twins), and the best speed per GB of memory."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from aggregator.group import Group
from aggregator.synthetic import KINDS, is_random_weights, model_kind


@dataclass
class ModelPick:
    arch: str
    model: str
    decode_tps: float | None
    peak_memory_gb: float | None
    reason: str


def suggest_test_matrix(groups: list[Group]) -> list[ModelPick]:
    """One reliable, fast model per architecture: every cell that ran is ok (on every class); then the smallest share
    of flagged outputs, the most classes covered, and the highest median decode speed across classes."""
    by_model: dict[str, list[Group]] = {}
    for g in groups:
        if g.arch:
            by_model.setdefault(g.model, []).append(g)
    best: dict[str, tuple] = {}
    for model, gs in by_model.items():
        ran = sum(g.ran for g in gs)
        if ran == 0 or sum(g.problems for g in gs):
            continue
        speeds = [g.decode_tps for g in gs if g.decode_tps is not None]
        speed = statistics.median(speeds) if speeds else None
        mems = [g.peak_memory_gb for g in gs if g.peak_memory_gb is not None]
        flagged = sum(g.flagged_rows for g in gs)
        classes = sum(1 for g in gs if g.ran)
        # share of flagged outputs (not their count: a model run on more classes is not penalised), then coverage
        key = (-flagged / ran, classes, speed or 0.0)
        arch = gs[0].arch
        if arch not in best or key > best[arch][0]:
            reason = (
                f"ok on {classes} class{'es' if classes != 1 else ''}, "
                + (f"{speed:.1f} tok/s median" if speed is not None else "speed not measured")
                + ("" if not flagged else f", {flagged} flagged outputs")
            )
            best[arch] = (key, ModelPick(arch, model, speed, max(mems) if mems else None, reason))
    return [best[a][1] for a in sorted(best)]


def top_speed(groups: list[Group], n: int = 10) -> list[Group]:
    return sorted((g for g in groups if g.decode_tps is not None), key=lambda g: -g.decode_tps)[:n]


def top_speed_by_kind(groups: list[Group], n: int = 10) -> dict[str, list[Group]]:
    """Speed rankings kept apart: real models, real-size twins, tiny twins (fixtures are not ranked)."""
    out = {k: top_speed([g for g in groups if model_kind(g.model) == k], n) for k in KINDS[:3]}
    return {k: v for k, v in out.items() if v}


def best_balance(groups: list[Group], n: int = 10) -> list[tuple[Group, float]]:
    """Groups with every cell ok and no quality flag, ranked by tok/s per GB of peak memory."""
    clean = [
        g
        for g in groups
        if g.ran
        and not g.problems
        and not g.flagged_rows
        and g.decode_tps is not None
        and g.peak_memory_gb
        and not is_random_weights(g.model)  # a random-weight model's text has no quality to balance
    ]
    ranked = sorted(((g, g.decode_tps / g.peak_memory_gb) for g in clean), key=lambda x: -x[1])
    return ranked[:n]
