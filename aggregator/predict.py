"""*Predicted* decode speed on chips of the hardware table that the lab does not own.

Decode is memory-bound: tok/s ≈ efficiency × bandwidth ÷ weight bytes read per token, where the efficiency (achieved
bytes/s ÷ the bandwidth limit) is measured per model on the classes the lab has. A prediction for a chip uses the
model's own efficiency (the geometric mean over its measured classes of the same backend family when there are any,
else over all of them, marked cross-backend), else its architecture's at the same size kind. Tiny twins and fixtures
are not predicted: their decode is overhead-bound, the bandwidth model does not apply.

The error is measured, never assumed: each measured (model, class) is predicted from the *other* classes only
(leave-one-out) and compared with its measurement; the median absolute relative error is printed beside every
prediction. With a single measured class there is nothing to leave out and the error is "not measurable".
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

from aggregator.analysis import Group, HardwareClass
from aggregator.synthetic import FIXTURE, TINY, model_kind
from grid.core.hardware_table import BANDWIDTH_GBPS

LABEL = "predicted"


@dataclass
class Target:
    chip: str  # "M4 Max 40c"
    bandwidth_gbps: float
    backend: str  # "metal" | "cuda"


@dataclass
class Prediction:
    model: str
    arch: str | None
    chip: str
    bandwidth_gbps: float
    decode_tps: float  # *predicted*
    basis: str  # "model" | "architecture"
    sources: list[str]  # the measured classes it comes from
    cross_backend: bool
    label: str = LABEL


@dataclass
class Predictions:
    targets: list[Target]
    items: list[Prediction]
    loo_error: float | None  # median |predicted − measured| ÷ measured over the same-backend leave-one-out checks
    loo_n: int
    loo_checks: list[dict] = field(default_factory=list)  # model, class, measured, predicted, error, cross_backend
    # the same over the checks predicted from another backend's efficiency: the error a cross-backend prediction has
    loo_error_cross: float | None = None
    loo_n_cross: int = 0

    def to_dict(self) -> dict:
        return asdict(self) | {"label": LABEL}

    def error_text(self) -> str:
        if self.loo_error is None and self.loo_error_cross is None:
            return "error not measurable (each model was measured on one class only: nothing to leave out)"
        parts = [
            f"{what}: median {err * 100:.0f} % over {n} check{'s' if n != 1 else ''}"
            for what, err, n in (
                ("leave-one-out error, same backend", self.loo_error, self.loo_n),
                ("cross-backend", self.loo_error_cross, self.loo_n_cross),
            )
            if err is not None
        ]
        return "; ".join(parts)


def family(backend: str) -> str:
    return "cuda" if backend == "cuda" else "metal" if backend in ("metal", "gpu", "") else backend


def targets(classes: list[HardwareClass]) -> list[Target]:
    """Every chip in the table that no measured class is (a measured chip's own figure beats a prediction)."""
    owned = {(c.bandwidth_gbps, c.chip.replace("Apple ", "").replace("NVIDIA ", "")) for c in classes}
    out = []
    for chip, entry in BANDWIDTH_GBPS.items():
        for cores, bw in entry.items() if isinstance(entry, dict) else [(None, entry)]:
            if any(bw == b and chip == name for b, name in owned):
                continue
            out.append(Target(f"{chip} {cores}c" if cores else chip, bw, "cuda" if chip[0] == "H" else "metal"))
    return out


@dataclass
class _Measured:
    model: str
    arch: str | None
    hw_class: str
    backend: str
    efficiency: float
    tps: float
    bytes_per_token: float


def _measured(groups: list[Group], classes: list[HardwareClass], bytes_of: dict) -> list[_Measured]:
    bw = {c.hw_class: (c.bandwidth_gbps, c.backend) for c in classes}
    out = []
    for g in groups:
        b, (gbps, backend) = bytes_of.get((g.model, g.hw_class)), bw.get(g.hw_class, (None, ""))
        if model_kind(g.model) in (TINY, FIXTURE) or not g.decode_tps or not b or not gbps:
            continue
        out.append(_Measured(g.model, g.arch, g.hw_class, backend, b * g.decode_tps / (gbps * 1e9), g.decode_tps, b))
    return out


class _Pool:
    """The measured (model, class) pairs indexed by model and by (architecture, size kind): a 1M-row report has
    ~1,600 of them and ~5,000 lookups, a scan per lookup was 1.9 s."""

    def __init__(self, measured: list[_Measured]) -> None:
        self.by_model: dict[str, list[_Measured]] = {}
        self.by_arch: dict[tuple, list[_Measured]] = {}
        for m in measured:
            self.by_model.setdefault(m.model, []).append(m)
            self.by_arch.setdefault((m.arch, model_kind(m.model)), []).append(m)

    def efficiency(self, model: str, arch: str | None, kind: str, fam: str, leave_out: str | None = None):
        """(geomean efficiency, basis, sources, cross_backend), or None; `leave_out`: a class not to learn from."""
        for basis, cands in (
            ("model", self.by_model.get(model, [])),
            ("architecture", self.by_arch.get((arch, kind), [])),
        ):
            cands = [m for m in cands if m.hw_class != leave_out]
            same = [m for m in cands if family(m.backend) == fam]
            use = same or cands
            if use:
                e = math.exp(statistics.fmean(math.log(m.efficiency) for m in use))
                return e, basis, sorted({m.hw_class for m in use}), not same
        return None


def leave_one_out(measured: list[_Measured]) -> list[dict]:
    pool = _Pool(measured)
    checks = []
    for m in measured:
        est = pool.efficiency(m.model, m.arch, model_kind(m.model), family(m.backend), leave_out=m.hw_class)
        if est is None:
            continue
        bw = m.tps * m.bytes_per_token / m.efficiency  # the class's bandwidth, bytes/s
        predicted = est[0] * bw / m.bytes_per_token
        checks.append(
            {
                "model": m.model,
                "hw_class": m.hw_class,
                "measured_tps": m.tps,
                "predicted_tps": predicted,
                "error": abs(predicted - m.tps) / m.tps,
                "cross_backend": est[3],
            }
        )
    return checks


def predict(groups: list[Group], classes: list[HardwareClass], bytes_of: dict) -> Predictions:
    """`bytes_of`: (model, class) -> weight bytes read per decoded token (decode_weight_bytes, else weight_bytes)."""
    measured = _measured(groups, classes, bytes_of)
    pool = _Pool(measured)
    tg = targets(classes)
    items = []
    seen: dict[str, _Measured] = {}
    for m in measured:
        seen.setdefault(m.model, m)
    for model, m in sorted(seen.items()):
        for t in tg:
            est = pool.efficiency(model, m.arch, model_kind(model), t.backend)
            if est:
                tps = est[0] * t.bandwidth_gbps * 1e9 / m.bytes_per_token
                items.append(Prediction(model, m.arch, t.chip, t.bandwidth_gbps, tps, est[1], est[2], est[3]))
    checks = leave_one_out(measured)
    same, cross = median_errors(checks)
    return Predictions(tg, items, same[0], same[1], checks, cross[0], cross[1])


def median_errors(checks: list[dict]) -> tuple[tuple[float | None, int], tuple[float | None, int]]:
    """(median error, n) over the same-backend checks, then over the cross-backend ones: kept apart, since a CPU
    class predicted from a GPU's efficiency errs by multiples and would hide the same-backend error in one median."""
    out = []
    for cross in (False, True):
        errs = [c["error"] for c in checks if c["cross_backend"] == cross]
        out.append((statistics.median(errs) if errs else None, len(errs)))
    return out[0], out[1]
