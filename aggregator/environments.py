"""The version axis of a report: a compatibility matrix model × package environment per hardware class, and what
changed from one environment to the next — models that broke, were fixed, got faster or slower — each with the first
environment where it changed.

Environments are ordered by the version of their first pin (`mlx-vlm==0.6.17` before `mlx-vlm==0.7.0`), the node's
own environment (env_id "") first. Speed changes use compare's noise rule (aggregator/compare.py, `RULE`): flagged
when |m_b − m_a| > max(k × √(s_a² + s_b²), min_relative × |m_a|), s = 1.4826 × MAD of the raw trials (0 with < 3).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from aggregator.dataset import ResultsDataset
from aggregator.statuses import OK, SKIPPED
from aggregator.synthetic import is_random_weights
from grid.core.environments import version_key

NODE_ENV = "(node)"  # how the node's own environment is shown


@dataclass
class EnvChange:
    model: str
    hw_class: str
    prompt_id: str
    image_id: str
    kind: str  # broke | fixed | faster | slower
    env_before: str
    env_first: str  # the first environment where it changed
    detail: str  # the error, or the decode speeds
    # why a speed change may not be the release's: the node drifted in either cell, the model is a random-weight twin
    caveats: tuple[str, ...] = ()


@dataclass
class EnvReport:
    environments: list[str]  # in order
    packages: dict[str, str]  # env id -> its pins
    # hw_class -> model -> env id -> status ("ok", "failed: <error_class>", ...)
    matrix: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    changes: list[EnvChange] = field(default_factory=list)


def _order_key(env_id: str, packages: str) -> tuple:
    if not env_id:
        return (0, ())
    first = packages.split(",")[0]
    version = first.split("==", 1)[1].strip() if "==" in first else ""
    return (1, first.split("==")[0].strip(), version_key(version) if version else (), env_id)


def _center_spread(trials, median) -> tuple[float | None, float]:
    values = [float(t) for t in (trials or []) if t is not None]
    if not values:
        return median, 0.0
    m = statistics.median(values)
    spread = 1.4826 * statistics.median([abs(v - m) for v in values]) if len(values) >= 3 else 0.0
    return m, spread


def noisy_change(a: tuple, b: tuple, k: float = 3.0, min_relative: float = 0.05) -> bool:
    """compare's noise rule on (median, spread) pairs."""
    (ma, sa), (mb, sb) = a, b
    if ma is None or mb is None:
        return False
    return abs(mb - ma) > max(k * math.sqrt(sa * sa + sb * sb), min_relative * abs(ma))


def analyze_environments(ds: ResultsDataset, k: float = 3.0, min_relative: float = 0.05) -> EnvReport | None:
    """None when no row ran in a package environment (the report then has no such section)."""
    # asked of DuckDB first: the records below are every cell, 5.4 s of a 1M-row report that has no environments
    if not ds.scalar("SELECT count(*) FROM raw WHERE coalesce(env_id, '') <> ''"):
        return None
    records = ds.records("""
        SELECT model, hw_class, prompt_id, image_id, coalesce(env_id, '') AS env_id,
               coalesce(env_packages, '') AS env_packages, status, error_class, error_message,
               decode_tps, trial_decode_tps, drift_flag, list_contains(quality_flags, 'image-dropped') AS image_dropped
        FROM raw QUALIFY row_number() OVER (PARTITION BY model, hw_class, prompt_id, image_id, env_id
                                            ORDER BY attempt DESC, finished_at DESC) = 1""")
    if not any(r["env_id"] for r in records):
        return None
    packages = {r["env_id"]: r["env_packages"] for r in records}
    order = sorted(packages, key=lambda e: _order_key(e, packages[e]))
    report = EnvReport([e or NODE_ENV for e in order], {e or NODE_ENV: p for e, p in packages.items()})
    cells: dict[tuple, dict[str, dict]] = {}
    for r in records:
        label = _status_label(r)
        per_model = report.matrix.setdefault(r["hw_class"], {}).setdefault(r["model"], {})
        per_model[r["env_id"] or NODE_ENV] = _worst(per_model.get(r["env_id"] or NODE_ENV), label)
        if r["status"] != SKIPPED:  # a cell that never ran (its environment did not build) neither broke nor fixed
            cells.setdefault((r["model"], r["hw_class"], r["prompt_id"], r["image_id"]), {})[r["env_id"]] = r
    for key, by_env in sorted(cells.items()):
        report.changes.extend(_cell_changes(key, [by_env[e] for e in order if e in by_env], k, min_relative))
    return report


IMAGE_DROPPED_LABEL = f"{OK}: image dropped"  # ran text-only (grid.core.quality.IMAGE_DROPPED): not a clean ok


def _status_label(r: dict) -> str:
    if r["status"] == OK:
        return IMAGE_DROPPED_LABEL if r.get("image_dropped") else OK
    return f"{r['status']}: {r['error_class'] or '?'}"


def _worst(old: str | None, new: str) -> str:
    """A failure over a dropped image over a clean ok."""
    rank = {None: 0, OK: 1, IMAGE_DROPPED_LABEL: 2}
    return new if rank.get(old, 3) < rank.get(new, 3) else old


def _speed_caveats(model: str, before: dict, after: dict) -> tuple[str, ...]:
    """The cells of two environments ran at different times: a node that drifted in either, or a tiny twin whose
    speed is per-token overhead, makes a speed change the node's or the machine's rather than the release's."""
    out = []
    if before.get("drift_flag") or after.get("drift_flag"):
        out.append("the node drifted during a cell (drift sentinel)")
    if is_random_weights(model):
        out.append("random-weight twin: its speed is overhead, not a real model's")
    return tuple(out)


def _cell_changes(key: tuple, seq: list[dict], k: float, min_relative: float) -> list[EnvChange]:
    out = []
    for before, after in zip(seq, seq[1:], strict=False):
        kind, detail = "", ""
        if before["status"] == OK and after["status"] != OK:
            kind, detail = "broke", f"{after['status']}: {(after['error_message'] or after['error_class'] or '')[:300]}"
        elif before["status"] != OK and after["status"] == OK:
            kind, detail = "fixed", f"was {before['status']}: {(before['error_message'] or '')[:300]}"
        elif bool(before.get("image_dropped")) != bool(after.get("image_dropped")):  # both ok, one of them text-only
            kind = "broke" if after.get("image_dropped") else "fixed"
            detail = (
                "the image is dropped: the model ran text-only"
                if after.get("image_dropped")
                else ("was text-only (image dropped); the image is used again")
            )
        elif before["status"] == OK:
            a = _center_spread(before["trial_decode_tps"], before["decode_tps"])
            b = _center_spread(after["trial_decode_tps"], after["decode_tps"])
            if noisy_change(a, b, k, min_relative):
                kind = "faster" if b[0] > a[0] else "slower"
                detail = f"decode {a[0]:.1f} → {b[0]:.1f} tok/s"
        if kind:
            env = (before["env_id"] or NODE_ENV, after["env_id"] or NODE_ENV)
            caveats = _speed_caveats(key[0], before, after) if kind in ("faster", "slower") else ()
            out.append(EnvChange(*key, kind, env[0], env[1], detail, caveats))
    return out
