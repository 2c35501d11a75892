"""Token auth as a lab has it: `grid head start` (token auth on, the default) and a node that share the head's token
file, and a separate "laptop" process whose only credential is a copy of that file at ~/.ray/auth_token, with
RAY_AUTH_MODE unset as LAB.md leaves it. submit -> status -> fetch -> nodes must all work; no token, or a wrong one,
is one line of advice naming where grid looked.
"""

from __future__ import annotations

import json
import shutil

import pytest
from lab_cluster import Lab
from test_lab_grid import write_suite

from grid import store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab-auth"), auth=True)
    try:
        lab.start_head()
        lab.add_node("m2", "M2-8c-8GB", ram_gb=8)
        yield lab
    finally:
        lab.teardown()


def laptop(tmp_path, token: str | None):
    home = tmp_path / "laptop-home"
    (home / ".ray").mkdir(parents=True, exist_ok=True)
    if token is not None:
        (home / ".ray" / "auth_token").write_text(token)
        (home / ".ray" / "auth_token").chmod(0o600)
    return {"HOME": str(home), "GRID_CACHE": str(tmp_path / "laptop-cache")}


def test_head_token_is_private(lab):
    token = lab.root / "home" / ".ray" / "auth_token"
    assert token.stat().st_mode & 0o777 == 0o600 and len(token.read_text().strip()) == 64


def test_the_head_is_asked_whether_it_wants_a_token(lab):
    from grid.driver.ray_auth import head_wants_token

    assert head_wants_token(lab.address) is True  # its GCS refused a request without one


def test_laptop_with_only_the_token_file_submits_follows_fetches_and_lists_nodes(lab, tmp_path):
    env = laptop(tmp_path, (lab.root / "home" / ".ray" / "auth_token").read_text())
    dash = ["--dashboard", lab.dashboard]
    suite = write_suite(tmp_path / "suite.yaml", [{"id": "twin:smolvlm"}], name="authed")
    run_id = (
        lab.grid(
            "submit",
            str(suite),
            *dash,
            "--results",
            str(tmp_path / "head-results"),
            "--reports",
            str(tmp_path / "head-reports"),
            env=env,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    final = json.loads(
        lab.grid("status", run_id, *dash, "--follow", "--json", env=env, timeout=300).stdout.strip().splitlines()[-1]
    )
    assert final["job_status"] == "SUCCEEDED", final
    to = tmp_path / "copy"
    lab.grid("fetch", run_id, *dash, "--to", str(to), env=env, timeout=300)
    rows = store.read_rows(to / "results", run_id)
    assert [(r.hw_class, r.status) for r in rows] == [("M2-8c-8GB", "ok")]
    nodes = json.loads(lab.grid("nodes", "--json", *dash, env=env).stdout)
    assert {n["hw_class"] for n in nodes if n["alive"]} >= {"M2-8c-8GB"}


@pytest.mark.parametrize("token", [None, "0" * 64], ids=["no-token", "wrong-token"])
def test_missing_or_wrong_token_is_one_line_of_advice(lab, tmp_path, token):
    env = laptop(tmp_path, token)
    for args in (["nodes", "--dashboard", lab.dashboard], ["status", "nope", "--dashboard", lab.dashboard]):
        proc = lab.grid(*args, env=env, check=False)
        err = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(err) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "token" in err[0] and str(tmp_path / "laptop-home" / ".ray" / "auth_token") in err[0], err[0]
    shutil.rmtree(tmp_path / "laptop-home")
