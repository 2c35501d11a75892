"""History across runs and like-for-like comparisons (issue 12, item 7): real Parquet written the way grid.store
writes it, three runs of one model whose decode speed drops beyond compare's noise rule and which then breaks."""

from __future__ import annotations

import json

import pytest
import typer
from sample_data import write_root
from typer.testing import CliRunner

from aggregator import build_report, open_results
from aggregator.compare import compare_runs
from aggregator.history import history
from aggregator.render.markdown import render_markdown
from grid.cli import report
from grid.core.schema import ResultRow

runner = CliRunner()
BASE = dict(model="org/m", hw_class="M4-Max", prompt_id="p", image_id="i", suite_hash="s1", max_tokens=64, trials=3)


def _row(run: str, started: str, status: str = "ok", tps: list[float] | None = None, **over) -> ResultRow:
    fields = dict(BASE, mlx_version="0.30", mlx_vlm_version="0.3.10", transformers_version="4.57", chip="Apple M4 Max")
    fields.update(over)
    if status == "ok":
        fields.update(decode_tps=sorted(tps)[1], trial_decode_tps=tps)
    else:
        fields.update(error_class="API Mismatch", error_package="mlx-vlm", error_message="TypeError: bad keyword")
    return ResultRow(run_id=run, cell_id=f"{run}-c", status=status, started_at=started, finished_at=started, **fields)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    write_root(root, [_row("r1", "2026-11-01T00:00:00", tps=[100.0, 101.0, 99.0])])
    write_root(root, [_row("r2", "2026-11-02T00:00:00", tps=[60.0, 61.0, 59.0], mlx_vlm_version="0.4.0")])
    write_root(root, [_row("r3", "2026-11-03T00:00:00", "failed", transformers_version="5.0")])
    write_root(root, [_row("r4", "2026-11-04T00:00:00", tps=[60.0, 61.0, 62.0], max_tokens=128, chip="Apple M2")])
    return root


def test_history_finds_first_slower_and_first_broken_run(root):
    ds = open_results(root, None)
    try:
        h = history(ds)
        d = build_report(ds)
    finally:
        ds.close()
    assert [r.run_id for r in h.runs] == ["r1", "r2", "r3", "r4"]
    assert h.runs[1].versions["mlx-vlm"] == "0.4.0" and h.runs[2].versions["transformers"] == "5.0"
    (s,) = h.series
    assert [(p.run_id, p.status, p.decode_tps) for p in s.points] == [
        ("r1", "ok", 100.0),
        ("r2", "ok", 60.0),
        ("r3", "failed", None),
        ("r4", "ok", 61.0),
    ]
    assert (s.slower_in, s.broke_in) == ("r2", "r3")
    md = render_markdown(d)
    assert "## 📈 History Across Runs" in md and "r2 (mlx 0.30, mlx-vlm 0.4.0, transformers 4.57)" in md
    assert "| `org/m` | M4-Max | 100 tok/s · ok | 60 tok/s · ok | failed | 61 tok/s · ok | `r3` | `r2` |" in md


def test_history_cli_filters(root):
    app = typer.Typer()
    report.register(app)
    res = runner.invoke(app, ["history", "--results", str(root), "--model", "org/m", "--class", "M4-Max", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["series"][0]["slower_in"] == "r2" and len(out["runs"]) == 4
    res = runner.invoke(app, ["history", "--results", str(root), "--model", "nope"])
    assert res.exit_code == 0 and "org/m" not in res.output


def test_compare_flags_and_strict_refuses_unlike_runs(root):
    cmp = compare_runs(root, "r2", "r4")
    assert "suite setting max_tokens: 64 → 128" in cmp.mismatches
    assert "chip of M4-Max: Apple M4 Max → Apple M2" in cmp.mismatches
    assert compare_runs(root, "r1", "r2").mismatches == ["mlx-vlm version: 0.3.10 → 0.4.0"]
    app = typer.Typer()
    report.register(app)
    res = runner.invoke(app, ["compare", "r2", "r4", "--results", str(root)])
    assert res.exit_code == 0 and "Not like for like" in res.output and "max_tokens: 64 → 128" in res.output
    res = runner.invoke(app, ["compare", "r2", "r4", "--results", str(root), "--strict"])
    assert res.exit_code == 1 and "not comparable" in res.output


# --- the per-run cache of finished runs (aggregator.history_cache) ------------------------------------------------------


def _many_runs(root) -> None:
    """Two models on two classes over four runs, three of them compacted (run r4 stays one file per cell)."""
    from grid.compact import compact_run

    for i, run in enumerate(("r1", "r2", "r3", "r4")):
        day = f"2026-11-0{i + 1}T00:00:00"
        rows = []
        for model in ("org/a", "org/b"):
            for cls in ("M4-Max", "M2"):
                slow = 0.5 if (run == "r3" and model == "org/b") else 1.0
                status = "failed" if (run == "r4" and model == "org/a" and cls == "M2") else "ok"
                tps = [100.0 * slow, 101.0 * slow, 99.0 * slow]
                cell = f"{run}-{model.replace('/', '_')}-{cls}"
                rows.append(_row(run, day, status, tps, model=model, hw_class=cls).replace(cell_id=cell))
        write_root(root, rows)
        if run != "r4":
            compact_run(root, run)


def _dict_via_dataset(root, **filters) -> dict:
    ds = open_results(root, None)
    try:
        return history(ds, filters.get("model"), filters.get("hw_class")).to_dict()
    finally:
        ds.close()


def test_a_cached_history_is_the_history_and_changes_with_the_run(tmp_path):
    from aggregator.history_cache import CACHE, history_of_root

    _many_runs(tmp_path)
    expected = _dict_via_dataset(tmp_path)
    assert history_of_root(tmp_path).to_dict() == expected  # first call: reads every run, caches the compacted
    cached = sorted(p.parent.name for p in tmp_path.glob(f"run_id=*/{CACHE}"))
    assert cached == ["run_id=r1", "run_id=r2", "run_id=r3"]  # r4 is not compacted: read every time
    assert history_of_root(tmp_path).to_dict() == expected  # second call: from the caches
    planted = json.loads((tmp_path / "run_id=r1" / CACHE).read_text())
    planted["points"][0]["m"] = 12345.0  # served from the cache, not read again: the planted figure shows
    (tmp_path / "run_id=r1" / CACHE).write_text(json.dumps(planted))
    assert 12345.0 in [p["decode_tps"] for s in history_of_root(tmp_path).to_dict()["series"] for p in s["points"]]
    (tmp_path / "run_id=r1" / CACHE).unlink()
    assert history_of_root(tmp_path).to_dict() == expected and (tmp_path / "run_id=r1" / CACHE).exists()
    series = {(s["model"], s["hw_class"]): s for s in expected["series"]}
    assert series[("org/b", "M2")]["slower_in"] == "r3" and series[("org/a", "M2")]["broke_in"] == "r4"
    for model, cls in (("org/b", None), (None, "M2"), ("org/a", "M4-Max")):
        assert history_of_root(tmp_path, model, cls).to_dict() == _dict_via_dataset(tmp_path, model=model, hw_class=cls)

    # a cache whose run changed is never served: r2 gets a re-run cell file beside its parts (a resume)
    stale = (tmp_path / "run_id=r2" / CACHE).read_text()
    rerun = _row("r2", "2026-11-02T00:00:00", "failed", model="org/a", hw_class="M4-Max", attempt=2)
    write_root(tmp_path, [rerun.replace(cell_id="r2-org_a-M4-Max")])
    changed = _dict_via_dataset(tmp_path)
    assert changed != expected and history_of_root(tmp_path).to_dict() == changed
    assert (tmp_path / "run_id=r2" / CACHE).read_text() == stale  # not sealed now: left alone, not rewritten
