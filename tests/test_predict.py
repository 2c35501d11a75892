"""*Predicted* decode speed on chips not owned, with its leave-one-out error, on the seed sample (exact factors)."""

from __future__ import annotations

import math
import statistics

import pytest
from sample_data import CLASSES, seed_rows, write_root

from aggregator.dataset import open_results
from aggregator.model import build_report
from aggregator.predict import LABEL


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    write_root(root, seed_rows())
    ds = open_results(root, None)
    try:
        yield build_report(ds)
    finally:
        ds.close()


def _eff(hw: str) -> float:
    """The seed's efficiency on a class: weights make decode 50 % of the M4 Max's 546 GB/s, scaled by its factor."""
    _, _, _, bw, factor = CLASSES[hw]
    return 0.5 * 546.0 * factor / bw


def test_targets_exclude_owned_chips(data):
    chips = {t.chip for t in data.predictions.targets}
    assert "M4 Max 40c" not in chips and "M3 Max 30c" not in chips and "M2 Pro" not in chips
    assert {"M4 Pro", "M4 Max 32c", "M1"} <= chips


def test_every_prediction_is_labelled_and_follows_the_efficiency(data):
    p = data.predictions
    assert p.items and all(i.label == LABEL for i in p.items)
    m4pro = next(i for i in p.items if i.chip == "M4 Pro" and i.basis == "model")
    e = math.exp(statistics.fmean(math.log(_eff(h)) for h in m4pro.sources))
    g = next(g for g in data.perf.groups if g.model == m4pro.model and g.hw_class == "M4-Max-40c-128GB")
    weight = 0.5 * 546e9 / (g.decode_tps)  # the seed's weights for this model (to int rounding)
    assert m4pro.decode_tps == pytest.approx(e * 273e9 / weight, rel=1e-3)
    assert not m4pro.cross_backend


def test_leave_one_out_error_is_measured(data):
    p = data.predictions
    assert p.loo_n == len(p.loo_checks) > 0
    for c in p.loo_checks:
        others = [h for h in CLASSES if h != c["hw_class"]]
        rows = [ch for ch in p.loo_checks if ch["model"] == c["model"]]
        own = {r["hw_class"] for r in rows}
        pool = [h for h in others if h in own] or others
        est = math.exp(statistics.fmean(math.log(_eff(h)) for h in pool))
        assert c["error"] == pytest.approx(abs(est / _eff(c["hw_class"]) - 1), rel=1e-3)
    assert p.loo_error == pytest.approx(statistics.median(c["error"] for c in p.loo_checks))
    assert "leave-one-out error, same backend: median" in p.error_text() and p.loo_error_cross is None


def test_cross_backend_checks_have_their_own_error():
    """A GPU class predicted from CPU efficiency errs by multiples (the committed h200-vs-cpu example: 489 %); one
    median over both kinds would hide the same-backend error, so each is printed apart."""
    from aggregator.predict import Predictions, median_errors

    checks = [
        {"error": 0.146, "cross_backend": False},
        {"error": 0.171, "cross_backend": False},
        {"error": 4.89, "cross_backend": True},
    ]
    (same, n), (cross, n_cross) = median_errors(checks)
    assert (same, n, cross, n_cross) == (pytest.approx(0.1585), 2, 4.89, 1)
    text = Predictions([], [], same, n, checks, cross, n_cross).error_text()
    assert (
        text == "leave-one-out error, same backend: median 16 % over 2 checks; cross-backend: median 489 % over 1 check"
    )
    assert Predictions([], [], None, 0).error_text().startswith("error not measurable")
