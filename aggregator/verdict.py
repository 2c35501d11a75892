"""The hardware verdict: each class against a reference class, over the models both ran.

Per-class medians compare different model sets (a class whose real-size cells timed out has a median over tiny
models only); the verdict compares like with like: the geometric mean of the per-model speed ratios over the models
both classes ran ok, with the ratios' range and geometric standard deviation. Beside it: the models only one class
ran (with the other's failure, or its predicted memory need against its limit), the largest model each class ran,
cold start (the first cell's load and TTFT), the share of the bandwidth limit with its source, and optional
price-performance from a small lab file (`--prices`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.analysis import Group, HardwareClass
from aggregator.dataset import ReportError, ResultsDataset
from aggregator.statuses import OK
from aggregator.synthetic import model_kind
from grid.core.hardware_table import BANDWIDTH_GBPS

NOISE_FRACTION = 0.001  # below 0.1 % of the bandwidth limit a share is noise
OVERHEAD_FRACTION = 0.02  # below 2 %: per-token overhead, not weight reads, sets the speed


@dataclass
class Speedup:
    n: int
    geomean: float | None  # reference speed ÷ this class's speed
    low: float | None
    high: float | None
    gsd: float | None  # geometric standard deviation (×), None below two models


@dataclass
class OnlyOne:
    model: str
    ran_on: str
    other: str
    other_outcome: str  # "timeout", "oom (needs 16.8 GB > limit 12.0 GB)", "not run", ...


@dataclass
class ClassVerdict:
    hw_class: str
    common_models: list[str]
    common_kinds: dict[str, int]
    decode: Speedup
    prefill: Speedup
    faster: str | None  # the class that is faster over the common models (None: no common model)
    only_reference: list[OnlyOne] = field(default_factory=list)
    only_this: list[OnlyOne] = field(default_factory=list)

    def headline(self, reference: str) -> str:
        d = self.decode
        if not d.n or d.geomean is None:
            return f"{self.hw_class}: no model ran ok on both {self.hw_class} and {reference}"
        spread = f"range {d.low:.2f}–{d.high:.2f}×" + (f", geometric sd {d.gsd:.2f}×" if d.gsd else "")
        kinds = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in self.common_kinds.items())
        caveat = (
            "; tiny twins only: per-token overhead, not bandwidth, sets their speed"
            if set(self.common_kinds) == {"tiny twin"}
            else ""
        )
        return (
            f"{reference} = {d.geomean:.2f}× {self.hw_class} decode (geomean over {d.n} common models: {kinds}; "
            f"{spread}{caveat}); faster: {self.faster}"
        )


@dataclass
class ClassFacts:
    hw_class: str
    largest_model: str | None
    largest_gb: float | None  # its weight bytes, GB
    first_load_s: float | None
    first_ttft_s: float | None
    bandwidth_fraction: float | None  # of the largest model the class ran
    bandwidth_text: str
    bandwidth_source: str  # "datasheet" | "measured probe" | "—"
    price: float | None = None
    tps_per_1000: float | None = None  # geomean decode tok/s per 1,000 of currency


@dataclass
class Verdict:
    reference: str | None
    classes: list[ClassVerdict]
    facts: list[ClassFacts]
    currency: str | None = None
    price_models: int = 0  # models every priced class ran (the price-performance basis)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self) | {"headlines": [c.headline(self.reference) for c in self.classes]}


def geo_speedup(ratios: list[float]) -> Speedup:
    ratios = [r for r in ratios if r and r > 0]
    if not ratios:
        return Speedup(0, None, None, None, None)
    logs = [math.log(r) for r in ratios]
    gsd = math.exp(statistics.stdev(logs)) if len(logs) >= 2 else None
    return Speedup(len(ratios), math.exp(statistics.fmean(logs)), min(ratios), max(ratios), gsd)


def pick_largest(classes: list[HardwareClass], override: str | None = None) -> str | None:
    """`override`, else the class with the most memory (then bandwidth, then ok cells)."""
    names = [c.hw_class for c in classes]
    if override:
        if override not in names:
            raise ReportError(f"reference class {override!r} is not in this report; classes: {', '.join(names)}")
        return override
    if not classes:
        return None
    return max(classes, key=lambda c: (c.ram_gb or 0, c.bandwidth_gbps or 0, c.ok, c.hw_class)).hw_class


_EXTRA_SQL = f"""
    SELECT model, hw_class, median(prefill_tps) FILTER (status = '{OK}') AS prefill,
           max(coalesce(weight_bytes, decode_weight_bytes)) FILTER (status = '{OK}') AS wb,
           max(predicted_memory_gb) AS need, max(memory_limit_gb) AS lim, min(started_at) AS first
    FROM rows GROUP BY model, hw_class"""

_COLD_SQL = """
    SELECT hw_class, arg_min(load_s, started_at) FILTER (load_s IS NOT NULL) AS load,
           arg_min(coalesce(cold_ttft_s, ttft_s), started_at) FILTER (status = 'ok') AS ttft
    FROM rows GROUP BY hw_class"""


def _outcome(g: Group | None, extra: dict | None) -> str:
    if g is None:
        return "not run"
    text = "skipped" if not g.ran else g.worst if not g.ok else "no speed measured"
    if text in ("skipped", "oom") and extra and extra.get("need") and extra.get("lim"):
        text += f" (predicted need {extra['need']:.1f} GB vs limit {extra['lim']:.1f} GB)"
    elif g.error_class and g.ran:
        text += f" ({g.error_class})"
    return text


def _class_verdict(hw: str, ref: str, by: dict, extra: dict, models: list[str]) -> ClassVerdict:
    common, dec, pre, only_ref, only_this = [], [], [], [], []
    for m in models:
        a, b = by.get((m, ref)), by.get((m, hw))
        a_ok, b_ok = a is not None and a.decode_tps, b is not None and b.decode_tps
        if a_ok and b_ok:
            common.append(m)
            dec.append(a.decode_tps / b.decode_tps)
            pa, pb = (extra.get((m, ref)) or {}).get("prefill"), (extra.get((m, hw)) or {}).get("prefill")
            if pa and pb:
                pre.append(pa / pb)
        elif a_ok:
            only_ref.append(OnlyOne(m, ref, hw, _outcome(b, extra.get((m, hw)))))
        elif b_ok:
            only_this.append(OnlyOne(m, hw, ref, _outcome(a, extra.get((m, ref)))))
    decode = geo_speedup(dec)
    kinds: dict[str, int] = {}
    for m in common:
        kinds[model_kind(m)] = kinds.get(model_kind(m), 0) + 1
    faster = None if decode.geomean is None else ref if decode.geomean >= 1 else hw
    return ClassVerdict(hw, common, kinds, decode, geo_speedup(pre), faster, only_ref, only_this)


def bandwidth_source(c: HardwareClass) -> str:
    if c.bandwidth_gbps is None:
        return "—"
    chip = c.chip.replace("Apple ", "").replace("NVIDIA ", "")
    entry = BANDWIDTH_GBPS.get(chip)
    values = entry.values() if isinstance(entry, dict) else [entry]
    return "datasheet" if c.bandwidth_gbps in values else "measured probe"


def bandwidth_text(fraction: float | None) -> str:
    if fraction is None:
        return "—"
    if fraction < NOISE_FRACTION:
        return "<0.1 % (overhead-bound)"
    text = f"{fraction * 100:.1f} %"
    return text + " (overhead-bound)" if fraction < OVERHEAD_FRACTION else text


def _facts(c: HardwareClass, groups: list[Group], extra: dict, cold: dict) -> ClassFacts:
    mine = [g for g in groups if g.hw_class == c.hw_class]
    sized = [(extra[(g.model, g.hw_class)]["wb"], g.model) for g in mine if g.ok and extra.get((g.model, g.hw_class))]
    sized = [s for s in sized if s[0]]
    largest = max(sized) if sized else None
    # the largest model is the most bandwidth-bound one: a median over tiny models would measure overhead only
    frac = next((g.bandwidth_fraction for g in mine if largest and g.model == largest[1]), None)
    cs = cold.get(c.hw_class) or {}
    return ClassFacts(
        c.hw_class,
        largest[1] if largest else None,
        largest[0] / 1e9 if largest else None,
        cs.get("load"),
        cs.get("ttft"),
        frac,
        bandwidth_text(frac),
        bandwidth_source(c) if frac is not None else "—",
    )


def load_prices(path: str | Path | None) -> tuple[dict[str, float], str | None]:
    """A small lab file: `currency: EUR` and `prices: {M4-Max-40c-128GB: 4000, ...}` (or the prices at top level)."""
    if not path:
        return {}, None
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ReportError(f"--prices {path}: cannot read it ({e})") from None
    currency = data.pop("currency", None) if isinstance(data, dict) else None
    prices = data.get("prices", data) if isinstance(data, dict) else None
    if not isinstance(prices, dict) or not all(isinstance(v, int | float) and v > 0 for v in prices.values()):
        raise ReportError(f"--prices {path}: expected `prices: {{CLASS: positive number, ...}}`")
    return {str(k): float(v) for k, v in prices.items()}, currency


def _apply_prices(v: Verdict, groups: list[Group], prices: dict[str, float]) -> None:
    priced = [f for f in v.facts if f.hw_class in prices]
    if not priced:
        return
    speed = {(g.model, g.hw_class): g.decode_tps for g in groups if g.decode_tps}
    models = {g.model for g in groups}
    common = [m for m in models if all((m, f.hw_class) in speed for f in priced)]
    v.price_models = len(common)
    for f in priced:
        f.price = prices[f.hw_class]
        if common:
            gm = math.exp(statistics.fmean(math.log(speed[(m, f.hw_class)]) for m in common))
            f.tps_per_1000 = gm / f.price * 1000


def build_verdict(
    ds: ResultsDataset,
    groups: list[Group],
    classes: list[HardwareClass],
    reference: str | None = None,
    prices: dict[str, float] | None = None,
    currency: str | None = None,
) -> Verdict:
    ref = pick_largest(classes, reference)
    extra = {(r["model"], r["hw_class"]): r for r in ds.records(_EXTRA_SQL)}
    cold = {r["hw_class"]: r for r in ds.records(_COLD_SQL)}
    by = {(g.model, g.hw_class): g for g in groups}
    models = sorted({g.model for g in groups if model_kind(g.model) != "fixture"})
    verdicts = [_class_verdict(c.hw_class, ref, by, extra, models) for c in classes if c.hw_class != ref]
    facts = [_facts(c, groups, extra, cold) for c in classes]
    v = Verdict(ref, verdicts, facts, currency)
    _apply_prices(v, groups, prices or {})
    return v
