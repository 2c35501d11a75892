"""Package environments (issue 13): `environments:` in a suite, cells and ids, Ray runtime_envs, provenance read in
the child, EnvBuildError rows, the report's matrix and "what changed", and `grid bisect` — the slow part real: real
mlx-vlm releases from the package index installed into real Ray runtime_envs, real twins, real inference.

The real pair: **llava_onevision**. mlx-vlm 0.6.17 (and every release before 0.7.0) has no
mlx_vlm/models/llava_onevision, so loading `twin:llava_onevision` fails with mlx-vlm's own "Model type
llava_onevision not supported"; 0.7.0 added it (checked with `pip download mlx-vlm==0.6.17 --no-deps` and listing the
wheel). Both releases' other requirements are met by the node's venv, so each environment installs mlx-vlm alone.

Cost: one embedded Ray for the module; three environment builds (0.6.17, 0.7.0, 0.6.16 for bisect; Ray clones the
venv and pip installs one wheel) plus a missing version, ~3–4 min cold on 2 cores; bisect reuses two of them.
"""

import json
import textwrap

import pytest
from typer.testing import CliRunner

from grid.core.environments import Environment, conflicting_pins, pin_problem, version_key
from grid.core.plan import plan_cells
from grid.core.suite import SuiteError, parse_suite

BASE = {"name": "t", "models": ["twin:smolvlm"]}


def test_environments_parse_and_keep_old_hashes_and_ids():
    plain = parse_suite(dict(BASE), "s.yaml")
    with_envs = parse_suite(
        dict(
            BASE,
            environments=[{"id": "a", "packages": ["mlx-vlm==0.7.9"]}, {"id": "b", "packages": ["mlx-vlm==0.7.10"]}],
        ),
        "s.yaml",
    )
    assert plain.environments == () and with_envs.environments[0] == Environment("a", ("mlx-vlm==0.7.9",))
    assert plain.hash == parse_suite(dict(BASE, environments=[]), "s.yaml").hash  # absent == empty: same hash
    old = plan_cells(plain, "r", [("cpu", "")])
    new = plan_cells(with_envs, "r", [("cpu", "")])
    assert len(new) == 2 * len(old) and {c.env_id for c in new} == {"a", "b"}
    assert old[0].cell_id not in {c.cell_id for c in new} and len({c.cell_id for c in new}) == 2
    assert len({c.group_key for c in new}) == 2  # one child per environment


@pytest.mark.parametrize(
    "envs, key",
    [
        ([{"id": "a", "packages": ["mlx-vlm==0.7.9", "mlx-vlm==0.7.10"]}], "environments[0].packages"),
        ([{"id": "a", "packages": ["--index-url http://x"]}], "environments[0].packages[0]"),
        ([{"id": "a b", "packages": ["mlx-vlm"]}], "environments[0].id"),
        ([{"id": "a", "packages": []}], "environments[0].packages"),
        ([{"id": "a", "packages": ["x"]}, {"id": "a", "packages": ["y"]}], "environments"),
        ([{"id": "a", "pins": ["x"]}], "environments[0].pins"),
    ],
)
def test_bad_environments_are_one_line_suite_errors(envs, key):
    with pytest.raises(SuiteError) as e:
        parse_suite(dict(BASE, environments=envs), "s.yaml")
    assert e.value.key == key and "\n" not in str(e.value)


def test_pins_and_versions():
    assert pin_problem("mlx-vlm==0.7.9") is None and pin_problem("transformers>=5.0,<6") is None
    assert pin_problem("https://x/y.whl") and conflicting_pins(("a==1", "A==2"))
    assert sorted(["0.7.10", "0.7.9", "0.6.17"], key=version_key) == ["0.6.17", "0.7.9", "0.7.10"]


def test_resolver_message_is_one_line():
    from grid.driver.envs import resolver_message

    text = "Traceback...\n  ERROR: Could not find a version that satisfies the requirement mlx-vlm==0.0.99 " + (
        "(from versions: 0.0.1, 0.7.9, 0.7.10)\nERROR: No matching distribution found for mlx-vlm==0.0.99\n"
    )
    msg = resolver_message(text)
    assert "\n" not in msg and "No matching distribution" in msg and "newest 0.0.1, 0.7.9, 0.7.10" in msg


def test_a_speed_change_says_when_it_may_not_be_the_releases():
    from aggregator.environments import _cell_changes

    def cell(env, tps, drift=False):
        return dict(env_id=env, status="ok", decode_tps=tps, trial_decode_tps=[tps] * 3, drift_flag=drift,
                    error_message=None, error_class=None)  # fmt: skip

    key = ("org/Real-VLM", "M4-Max-40c-128GB", "p", "i")
    (steady,) = _cell_changes(key, [cell("a", 100.0), cell("b", 150.0)], 3.0, 0.05)
    assert steady.kind == "faster" and steady.caveats == ()
    (drifted,) = _cell_changes(key, [cell("a", 100.0), cell("b", 50.0, drift=True)], 3.0, 0.05)
    assert drifted.kind == "slower" and "drifted" in drifted.caveats[0]
    (twin,) = _cell_changes(("twin:smolvlm", *key[1:]), [cell("a", 100.0), cell("b", 150.0)], 3.0, 0.05)
    assert any("random-weight twin" in c for c in twin.caveats)
    broke = dict(cell("b", 0.0, drift=True), status="failed", error_message="boom")
    (status_change,) = _cell_changes(key, [cell("a", 100.0), broke], 3.0, 0.05)
    assert status_change.kind == "broke" and status_change.caveats == ()  # a status change is never noise


def test_a_release_that_makes_a_vlm_drop_its_image_is_a_break_and_shown_in_the_matrix():
    """Both cells ok, but in the second the processor's output held no image (grid.core.quality.IMAGE_DROPPED): the
    release broke the model as a VLM, whatever its status says."""
    from aggregator.environments import IMAGE_DROPPED_LABEL, _cell_changes, _status_label, _worst

    def cell(env, dropped):
        return dict(env_id=env, status="ok", decode_tps=100.0, trial_decode_tps=[100.0] * 3, drift_flag=False,
                    error_message=None, error_class=None, image_dropped=dropped)  # fmt: skip

    key = ("org/Real-VLM", "M4-Max-40c-128GB", "p", "i")
    (broke,) = _cell_changes(key, [cell("a", False), cell("b", True)], 3.0, 0.05)
    assert broke.kind == "broke" and "text-only" in broke.detail and broke.caveats == ()
    (fixed,) = _cell_changes(key, [cell("a", True), cell("b", False)], 3.0, 0.05)
    assert fixed.kind == "fixed"
    assert _cell_changes(key, [cell("a", True), cell("b", True)], 3.0, 0.05) == []
    assert _status_label(cell("a", True)) == IMAGE_DROPPED_LABEL and _status_label(cell("a", None)) == "ok"
    failed = "failed: Model Error"
    assert _worst("ok", IMAGE_DROPPED_LABEL) == _worst(IMAGE_DROPPED_LABEL, "ok") == IMAGE_DROPPED_LABEL
    assert _worst(IMAGE_DROPPED_LABEL, failed) == _worst(failed, IMAGE_DROPPED_LABEL) == failed


def test_bisect_search_without_a_cluster():
    from grid.core.schema import ResultRow
    from grid.driver import bisect as b

    versions = [f"1.{i}" for i in range(10)]  # good first; 1.6 is the first bad
    calls = []

    def run(cells):
        calls.append(len(cells))
        out = []
        for c in cells:
            v = c.environment.packages[0].split("==")[1]
            ok = version_key(v) < version_key("1.6")
            out.append(
                ResultRow(
                    run_id="r",
                    cell_id=c.cell_id,
                    model="m",
                    hw_class="cpu",
                    status="ok" if ok else "failed",
                    env_id=c.env_id,
                )
            )
        return out

    suite = parse_suite(dict(BASE), "s.yaml")
    r = b.bisect(suite, "pkg", versions, run, "r", ("cpu", ""), parallel=1)
    assert (r.first_bad, r.last_good) == ("1.6", "1.5") and r.rounds <= 5
    r2 = b.bisect(suite, "pkg", versions, run, "r", ("cpu", ""), parallel=3)
    assert r2.first_bad == "1.6" and r2.rounds < r.rounds
    assert b.versions_between(["0.1", "0.2", "0.3"], "0.3", "0.1") == ["0.3", "0.2", "0.1"]
    assert b.versions_between(["0.6.17", "0.7.0rc0", "0.7.0"], "0.6.17", "0.7.0") == ["0.6.17", "0.7.0"]
    assert b.versions_between(["0.6.17", "0.7.0rc0", "0.7.0"], "0.6.17", "0.7.0", pre=True)[1] == "0.7.0rc0"
    with pytest.raises(b.BisectError):
        b.versions_between(["0.1"], "0.1", "9.9")


# --- real: runtime envs from the package index ---------------------------------------------------------------------

OLD, NEW, OLDER = "0.6.17", "0.7.0", "0.6.16"


@pytest.fixture(scope="module")
def ray_cluster(grid_cache):
    from grid.driver.connect import connect, ray_module

    started = connect(None)
    yield
    if started:
        ray_module().shutdown()


@pytest.fixture(scope="module")
def env_run(tmp_path_factory, ray_cluster):
    from grid.cli import app

    base = tmp_path_factory.mktemp("envs")
    suite = base / "suite.yaml"
    suite.write_text(
        textwrap.dedent(f"""
        name: envpair
        models: [twin:llava_onevision, twin:smolvlm]
        images: [{{id: chart, builtin: chart}}]
        generation: {{max_tokens: 8, warmup_runs: 0, trials: 1}}
        environments:
          - {{id: vlm-old, packages: ["mlx-vlm=={OLD}"]}}
          - {{id: vlm-new, packages: ["mlx-vlm=={NEW}"]}}
          - {{id: vlm-missing, packages: ["mlx-vlm==0.0.99"]}}
    """)
    )
    results, reports = base / "results", base / "reports"
    out = CliRunner().invoke(app, ["run", str(suite), "--results", str(results), "--reports", str(reports), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output[out.output.index("{") :])
    import pandas as pd

    df = pd.read_parquet(results / f"run_id={summary['run_id']}")
    return {"summary": summary, "rows": {(r.model, r.env_id): r for r in df.itertuples()}, "results": results}


@pytest.mark.slow
def test_older_release_lacks_the_architecture_newer_runs_it(env_run):
    import sys

    rows = env_run["rows"]
    old, new = rows[("twin:llava_onevision", "vlm-old")], rows[("twin:llava_onevision", "vlm-new")]
    assert old.status == "failed" and "Model type llava_onevision not supported" in old.error_message
    assert new.status == "ok", new.error_message
    assert rows[("twin:smolvlm", "vlm-old")].status == "ok"  # the old release itself works
    # provenance read inside the child: the environment's own interpreter and mlx-vlm
    assert (old.mlx_vlm_version, new.mlx_vlm_version) == (OLD, NEW)
    assert old.env_python != sys.executable and "runtime_resources" in old.env_python
    assert new.transformers_version and new.mlx_version and new.env_build_s is not None


@pytest.mark.slow
def test_a_version_that_does_not_exist_is_skipped_rows(env_run):
    row = env_run["rows"][("twin:smolvlm", "vlm-missing")]
    assert row.status == "skipped" and row.error_class == "EnvBuildError"
    assert "mlx-vlm==0.0.99" in row.error_message and "\n" not in row.error_message
    # the manifest keeps every build: which env, on which node, how long, and why the missing pin failed
    from grid import store

    builds = store.read_manifest(env_run["results"], env_run["summary"]["run_id"])["env_builds"]
    assert {b["env_id"] for b in builds} >= {row.env_id, "vlm-old", "vlm-new"}
    missing = [b for b in builds if b["env_id"] == row.env_id]
    assert missing and all(b["error"] and b["node_id"] for b in missing)
    assert all(b["seconds"] > 0 for b in builds if b["env_id"] == "vlm-new")


@pytest.mark.slow
def test_report_shows_matrix_and_what_changed(env_run):
    md = next((env_run["results"].parent / "reports").rglob("report.md")).read_text()
    assert "Compatibility by Package Environment" in md and "What Changed Between Environments" in md
    section = md[md.index("What Changed Between Environments") :]
    assert "fixed" in section and "vlm-new" in section


@pytest.mark.slow
def test_bisect_finds_the_first_release_supporting_llava_onevision(env_run, tmp_path):
    from grid.cli import app

    args = ["bisect", "twin:llava_onevision", "--package", "mlx-vlm", "--good", NEW, "--bad", OLDER]
    out = CliRunner().invoke(app, args + ["--results", str(tmp_path / "results"), "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output[out.output.index("{") :])
    # 0.7.0 is the first release that supports it (with --pre bisect finds 0.7.0rc0: measured 2026-12-02)
    assert (got["first_bad"], got["last_good"]) == (OLD, NEW), got
    assert got["rounds"] == 2
    assert any("not supported" in p["detail"] for p in got["probes"] if p["bad"])
