"""An offline lab (issue 13): environments built ahead with `grid prefetch --env` while the package index is reachable
run later with no index; one that was not prebuilt is a skipped row that says so and what to do.

Real parts: a one-node lab (`grid head start`, `grid node join`), Ray's pip runtime_env, the real package index for
the prefetch. "Offline" is pip's own configuration switched under the running node (PIP_CONFIG_FILE, read by every
pip call: `no-index`, no find-links), as a lab behind a firewall has it; the driver's index check sees the same.
"""

from __future__ import annotations

import json

import pytest
import yaml
from lab_cluster import Lab

from grid import store

pytestmark = pytest.mark.slow

ONLINE = "[global]\n"
OFFLINE = "[global]\nno-index = true\nfind-links =\nextra-index-url =\nretries = 0\ntimeout = 3\n"
PREBUILT, NOT_PREBUILT = "mlx-vlm==0.7.9", "mlx-vlm==0.7.8"


def write_suite(path, envs: dict[str, str]):
    path.write_text(yaml.safe_dump({
        "name": "offline",
        "models": [{"id": "twin:smolvlm"}],
        "prompts": [{"id": "p", "text": "Describe this image."}],
        "images": [{"id": "chart", "builtin": "chart"}],
        "generation": {"max_tokens": 8, "warmup_runs": 0, "trials": 1},
        "environments": [{"id": k, "packages": [v]} for k, v in envs.items()],
    }))  # fmt: skip
    return path


def test_prebuilt_environments_run_offline_and_a_missing_one_says_prefetch(tmp_path):
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text(ONLINE)
    lab = Lab(tmp_path)
    lab.env.pop("PIP_FIND_LINKS", None)  # the only package sources are the index and what pip.conf says
    lab.env["PIP_CONFIG_FILE"] = str(pip_conf)
    try:
        lab.start_head()
        lab.add_node("n1", "Xeon-offline", ram_gb=24)
        ahead = write_suite(tmp_path / "ahead.yaml", {"prebuilt": PREBUILT})
        pre = lab.grid("prefetch", str(ahead), "--env", "--address", lab.address, "--json", timeout=600)
        (built,) = json.loads(pre.stdout)
        assert (built["env_id"], built["status"], built["mlx_vlm_version"]) == ("prebuilt", "built", "0.7.9")

        pip_conf.write_text(OFFLINE)  # the lab loses the index
        suite = write_suite(tmp_path / "suite.yaml", {"prebuilt": PREBUILT, "missing": NOT_PREBUILT})
        results = tmp_path / "results"
        lab.grid("run", str(suite), "--address", lab.address, "--results", str(results), "--run-id", "off",
                 "--no-report", timeout=600)  # fmt: skip
    finally:
        lab.teardown()
    rows = {r.env_id: r for r in store.read_rows(results, "off")}
    assert rows["prebuilt"].status == "ok" and rows["prebuilt"].mlx_vlm_version == "0.7.9"  # from the node's cache
    missing = rows["missing"]
    assert (missing.status, missing.error_class) == ("skipped", "EnvBuildError")
    assert "grid prefetch SUITE --env" in missing.error_message and "cannot be reached" in missing.error_message
    assert "no package" not in missing.error_message  # an unreachable index is not "no such package"
