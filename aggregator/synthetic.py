"""Honest synthetic data: which models are twins (random weights), which cells are fixtures or expected failures, and
the verdict of those cells against what they were expected to do.

A `twin:<arch>` is a tiny random-weight model of a real mlx-vlm architecture, `twin:<arch>@<size>` one with a real
model's dimensions: their speed and memory are real measurements of real mlx-vlm code, their text is noise. A
`twin-broken:<case>` is a fixture built to fail, and a suite model with `expect:` an expected failure: their cells are
judged against the expectation ("fixture verdicts") and kept out of the headline success rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.dataset import ResultsDataset
from aggregator.statuses import OK
from grid.core.errors import GridError

TINY, REAL_SIZE, FIXTURE, REAL = "tiny twin", "real-size twin", "fixture", "real model"
KINDS = (REAL, REAL_SIZE, TINY, FIXTURE)  # the order rankings are shown in

BANNER = (
    "Synthetic data: this report includes twins (random-weight models of real mlx-vlm architectures). Their speed "
    "and memory are real measurements of real mlx-vlm code; their text is noise, so no quality flags on text or quality "
    "rankings are computed for them (flags of how a model ran, such as a dropped image, are kept)."
)


def model_kind(model: str) -> str:
    if model.startswith("twin-broken:"):
        return FIXTURE
    if model.startswith("twin:"):
        return REAL_SIZE if "@" in model else TINY
    return REAL


def is_random_weights(model: str) -> bool:
    return model_kind(model) != REAL


@dataclass
class FixtureVerdict:
    model: str
    hw_class: str
    expected: str  # e.g. "failed / Processor Error / mlx-vlm", or "any failure" for a twin-broken without expect
    got: str
    as_expected: bool


@dataclass
class Synthetic:
    kinds: dict[str, str]  # model -> kind
    counts: dict[str, int]  # kind -> models
    expected_models: set[str] = field(default_factory=set)  # fixtures and models with `expect:`
    verdicts: list[FixtureVerdict] = field(default_factory=list)

    @property
    def has_twins(self) -> bool:
        return any(k != REAL for k in self.kinds.values())

    @property
    def banner(self) -> str | None:
        return BANNER if self.has_twins else None

    @property
    def as_expected(self) -> int:
        return sum(v.as_expected for v in self.verdicts)

    def verdict_line(self) -> str | None:
        if not self.verdicts:
            return None
        return f"fixture verdicts: {self.as_expected}/{len(self.verdicts)} as expected"

    def to_dict(self) -> dict:
        return {
            "has_twins": self.has_twins,
            "banner": self.banner,
            "model_kinds": self.counts,
            "fixture_verdicts": {
                "as_expected": self.as_expected,
                "total": len(self.verdicts),
                "cells": [vars(v) for v in self.verdicts],
            },
        }


def _expectations(ds: ResultsDataset) -> dict[str, dict]:
    """model -> its suite `expect:` mapping, from each run's manifest (rows do not carry it)."""
    from grid.store import read_manifest

    out: dict[str, dict] = {}
    for run in ds.run_ids:
        try:
            manifest = read_manifest(ds.root, run)
        except (GridError, OSError, ValueError, KeyError):
            continue
        for m in (manifest.get("suite") or {}).get("models") or []:
            if isinstance(m, dict) and m.get("expect"):
                out[m["id"]] = m["expect"]
    return out


def _judge(row: dict, expect: dict | None) -> FixtureVerdict:
    got = " / ".join(str(row[k]) for k in ("status", "error_class", "error_package") if row.get(k))
    if not expect:
        return FixtureVerdict(row["model"], row["hw_class"], "any failure", got, row["status"] != OK)
    keys = [k for k in ("status", "error_class", "error_package") if expect.get(k)]
    ok = all(str(row.get(k) or "") == str(expect[k]) for k in keys)
    return FixtureVerdict(row["model"], row["hw_class"], " / ".join(str(expect[k]) for k in keys), got, ok)


def analyze_synthetic(ds: ResultsDataset) -> Synthetic:
    models = [r["model"] for r in ds.records("SELECT DISTINCT model FROM rows ORDER BY model")]
    kinds = {m: model_kind(m) for m in models}
    counts = {k: n for k in KINDS if (n := sum(1 for v in kinds.values() if v == k))}
    expect = _expectations(ds)
    expected = {m for m in models if kinds[m] == FIXTURE or m in expect}
    verdicts = []
    if expected:
        for r in ds.records(
            "SELECT model, hw_class, status, error_class, error_package FROM rows "
            "WHERE status <> 'skipped' ORDER BY model, hw_class, prompt_id, image_id"
        ):
            if r["model"] in expected:
                verdicts.append(_judge(r, expect.get(r["model"])))
    return Synthetic(kinds, counts, expected, verdicts)
