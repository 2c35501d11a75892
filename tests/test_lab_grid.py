"""The grid on a real multi-node Ray lab on one machine: 3 hardware classes, 4 nodes (one class has two), a head that
runs nothing. Placement per class, a memory-fit skip, prefetch, submit/status/logs/fetch from a separate "laptop"
process, resume after the driver is killed, a class with no node, a node killed mid-run, and the only node of a class
killed, rejoined and resumed.

Real parts throughout: `grid` CLI processes, `ray start` nodes, mlx-vlm on synthetic twins in isolated children.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
import yaml
from lab_cluster import GRID, Lab

from grid import store

pytestmark = pytest.mark.slow

HF_SENTINEL = "hf_" + "GridLabSentinelTokenNeverLeaks0123"
BIG = {  # Qwen2-VL-7B's dims, no weights: predicted ~17 GB, so it fits 128 GB but not 18 GB or 8 GB classes
    "model_type": "qwen2_vl",
    "hidden_size": 3584,
    "num_hidden_layers": 28,
    "intermediate_size": 18944,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "hidden_size": 3584},
}
CLASSES = {"M4-Max-40c-128GB": 128, "M3-Pro-14c-18GB": 18, "M2-8c-8GB": 8}


def write_sparse_weights(path, nbytes: int) -> None:
    """A safetensors file whose header describes one bf16 tensor of nbytes: sparse on disk (no data written), so
    placement predicts a big model from the header while the folder costs nothing."""
    header = json.dumps({"w": {"dtype": "BF16", "shape": [nbytes // 2], "data_offsets": [0, nbytes]}}).encode()
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header)
        f.truncate(8 + len(header) + nbytes)


def write_suite(path, models, max_tokens=8, name="lab", prompts=1, exact_tokens=False):
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "models": models,
                "prompts": [{"id": f"p{i}", "text": f"Describe this image ({i})."} for i in range(prompts)],
                "images": [{"id": "chart", "builtin": "chart"}],
                "generation": {
                    "max_tokens": max_tokens,
                    "exact_tokens": exact_tokens,
                    "warmup_runs": 0,
                    "trials": 1,
                    "timeout_s": 120,
                },
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab-grid"))
    lab.env["HF_TOKEN"] = HF_SENTINEL  # every node's environment has it; nothing grid writes may contain it
    try:
        lab.start_head()
        for name in ("m4a", "m4b"):  # supervised: the one the kill test hits must rejoin by itself
            lab.add_node(name, "M4-Max-40c-128GB", ram_gb=128, supervise=True, wait=False)
        lab.add_nodes([("m3", "M3-Pro-14c-18GB", 18), ("m2", "M2-8c-8GB", 8)])  # all four join at once
        lab.wait_joined(["m4a", "m4b"])
        yield lab
    finally:
        lab.teardown()


def run_cli(lab, *args, timeout=300):
    return lab.grid(*args, timeout=timeout)


def assert_rows_on_their_class(lab, rows):
    labels = lab.label_of()
    for r in rows:
        if r.node_id:
            assert labels[r.node_id] == r.hw_class, f"{r.model} ran on {labels[r.node_id]}, row says {r.hw_class}"


def test_nodes_joined_with_their_labels(lab):
    nodes = {n["node_ip"]: n for n in lab.nodes_json(cli=True)}  # through `grid nodes --json`
    (head,) = [n for n in nodes.values() if n["role"] == "grid-head"]
    assert head["hw_class"] == "" and head["alive"]  # the head carries no class: cells never land there
    for _name, node in lab.nodes.items():
        n = nodes[node["ip"]]
        assert (n["hw_class"], n["role"], n["alive"], n["backend"]) == (node["hw_class"], "grid-node", True, "cpu")
        assert n["ram_gb"] == CLASSES[node["hw_class"]]


def test_a_driver_with_a_token_lying_around_runs_on_a_head_without_auth(lab, tmp_path):
    """The head runs with --no-auth; the driver's machine has ~/.ray/auth_token (any embedded `grid run` makes one) and
    RAY_AUTH_MODE unset. The driver asks the head and talks without a token: in token mode it refused its workers'
    token-less replies and waited forever (found on the lent GPU machine, 2026-12-08)."""
    from grid.driver.ray_auth import head_wants_token

    assert head_wants_token(lab.address) is False
    token = tmp_path / "auth_token"
    token.write_text("b" * 64)
    token.chmod(0o600)
    env = {k: v for k, v in lab.env.items() if k != "RAY_AUTH_MODE"} | {"RAY_AUTH_TOKEN_PATH": str(token)}
    suite = write_suite(tmp_path / "suite.yaml", [{"id": "twin:qwen2_vl"}], name="token-lying-around")
    results = tmp_path / "results"
    proc = subprocess.run(
        [GRID, "run", str(suite), "--address", lab.address, "--results", str(results), "--no-report", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = store.read_rows(results, json.loads(proc.stdout)["run_id"])
    assert sorted(r.hw_class for r in rows) == sorted(CLASSES) and all(r.status == "ok" for r in rows)


def test_matrix_is_placed_per_class_and_a_cell_that_cannot_fit_is_skipped(lab, tmp_path):
    big = tmp_path / "big-model"
    big.mkdir()
    (big / "config.json").write_text(json.dumps(BIG))
    write_sparse_weights(big / "model.safetensors", 17 * 10**9)  # passes the suite's folder check, reads as ~17 GB
    for name in ("tokenizer.json", "preprocessor_config.json"):
        (big / name).write_text("{}")
    suite = write_suite(tmp_path / "suite.yaml", [{"id": "twin:qwen2_vl"}, {"id": str(big)}])
    results = tmp_path / "results"
    out = run_cli(lab, "run", str(suite), "--address", lab.address, "--results", str(results), "--no-report", "--json")
    run_id = json.loads(out.stdout)["run_id"]
    rows = store.read_rows(results, run_id)

    assert sorted((r.model.split("/")[-1], r.hw_class) for r in rows) == sorted(
        (m, c) for m in ("twin:qwen2_vl", "big-model") for c in CLASSES
    )
    assert_rows_on_their_class(lab, rows)
    twins = [r for r in rows if r.model == "twin:qwen2_vl"]
    assert all(r.status == "ok" and r.node_id for r in twins), [(r.hw_class, r.status, r.error_message) for r in twins]
    head_id = next(n["node_id"] for n in lab.nodes_json() if n["role"] == "grid-head")
    assert head_id not in {r.node_id for r in rows}

    by_class = {r.hw_class: r for r in rows if r.model == str(big)}
    for cls in ("M3-Pro-14c-18GB", "M2-8c-8GB"):
        skipped = by_class[cls]
        assert skipped.status == "skipped" and skipped.error_class == "Memory Fit" and not skipped.node_id
        assert skipped.memory_limit_gb == pytest.approx(0.75 * CLASSES[cls])
        assert skipped.predicted_memory_gb > skipped.memory_limit_gb > 0
        assert f"{skipped.predicted_memory_gb:.2f} GB" in skipped.error_message
    placed = by_class["M4-Max-40c-128GB"]  # fits 96 GB: sent, and fails for real (its weights are not the model's)
    assert placed.status == "failed" and placed.node_id and placed.predicted_memory_gb > 15


def test_prefetch_reports_every_node(lab, tmp_path):
    local = tmp_path / "local-model"
    local.mkdir()
    suite = write_suite(
        tmp_path / "suite.yaml",
        [{"id": "twin:gemma3"}, {"id": str(local)}, {"id": "grid-test/not-on-this-offline-box"}],
    )
    out = run_cli(lab, "prefetch", str(suite), "--address", lab.address, "--json")
    reports = json.loads(out.stdout)
    alive = {n["node_id"] for n in lab.nodes_json() if n["alive"] and n["role"] == "grid-node"}
    assert {r["node_id"] for r in reports} == alive
    for r in reports:
        statuses = {m["model"]: m["status"] for m in r["models"]}
        assert statuses == {"twin:gemma3": "twin", str(local): "present", "grid-test/not-on-this-offline-box": "error"}
        assert HF_SENTINEL not in json.dumps(r)


def test_submit_follow_logs_and_fetch_from_a_laptop_process(lab, tmp_path):
    suite = write_suite(tmp_path / "suite.yaml", [{"id": "twin:smolvlm"}], name="laptop")
    results = tmp_path / "head-results"
    laptop = {"HF_TOKEN": HF_SENTINEL, "GRID_CACHE": str(tmp_path / "laptop-cache")}
    dash = ["--dashboard", lab.dashboard]
    submitted = lab.grid(
        "submit", str(suite), *dash, "--results", str(results), "--reports", str(tmp_path / "head-reports"), env=laptop
    )
    run_id = submitted.stdout.strip().splitlines()[-1]
    assert run_id.endswith(tuple("0123456789abcdef")) and "laptop" in run_id

    followed = lab.grid("status", run_id, *dash, "--follow", "--json", env=laptop, timeout=300)
    final = json.loads(followed.stdout.strip().splitlines()[-1])
    assert final["job_status"] == "SUCCEEDED", final
    assert final["progress"]["state"] == "finished" and final["progress"]["done"] == {"ok": 3}

    logs = lab.grid("logs", run_id, *dash, env=laptop).stdout
    assert "GRID_PROGRESS" not in logs and HF_SENTINEL not in logs

    from ray.job_submission import JobSubmissionClient

    info = JobSubmissionClient(lab.dashboard).get_job_info(f"grid-{run_id}")
    assert HF_SENTINEL not in json.dumps({"meta": info.metadata, "env": info.runtime_env}, default=str)
    assert info.metadata["grid_run_id"] == run_id

    to = tmp_path / "laptop-copy"
    lab.grid("fetch", run_id, *dash, "--to", str(to), env=laptop, timeout=300)
    rows = store.read_rows(to / "results", run_id)
    assert sorted(r.hw_class for r in rows) == sorted(CLASSES) and all(r.status == "ok" for r in rows)
    assert_rows_on_their_class(lab, rows)
    fetched = b"".join(p.read_bytes() for p in to.rglob("*") if p.is_file())
    assert (to / "reports" / run_id).is_dir() and HF_SENTINEL.encode() not in fetched


def test_resume_after_the_driver_is_killed_never_runs_a_finished_cell_twice(lab, tmp_path):
    # one model, two prompts: 3 groups (one per class) of 2 cells, so the kill lands between cells of a group
    suite = write_suite(tmp_path / "suite.yaml", [{"id": "twin:qwen2_vl"}], name="resume", prompts=2)
    results = tmp_path / "results"
    run_id = "resume-test"
    log = open(tmp_path / "driver.log", "w")
    driver = subprocess.Popen(
        [
            GRID,
            "run",
            str(suite),
            "--address",
            lab.address,
            "--results",
            str(results),
            "--run-id",
            run_id,
            "--no-report",
        ],
        env=lab.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    folder = results / f"run_id={run_id}"
    lab.wait_for(lambda: list(folder.glob("*.parquet")), 240, "the first row")
    driver.send_signal(signal.SIGKILL)
    driver.wait(30)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.parquet")}
    assert 1 <= len(before) < 6

    reports = str(tmp_path / "reports")  # never the default ./reports of whatever folder the test runs in
    out = lab.grid("resume", run_id, "--results", str(results), "--reports", reports, "--address", lab.address,
                   "--json", timeout=300)  # fmt: skip
    assert json.loads(out.stdout)["ran"] == 6 - len(before)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.parquet")}
    assert {k: after[k] for k in before} == before  # finished cells untouched
    rows = store.read_rows(results, run_id)
    assert len(rows) == len({r.cell_id for r in rows}) == 6
    assert sorted((r.prompt_id, r.hw_class) for r in rows) == sorted((p, c) for p in ("p0", "p1") for c in CLASSES)
    assert_rows_on_their_class(lab, rows)
    again = lab.grid("resume", run_id, "--results", str(results), "--reports", reports, "--address", lab.address,
                     "--json")  # fmt: skip
    assert json.loads(again.stdout)["ran"] == 0


def test_a_class_with_no_live_node_is_skipped_after_the_wait(lab, tmp_path, monkeypatch):
    import ray

    from grid.core.suite import load_suite
    from grid.driver.connect import live_targets
    from grid.driver.scheduler import run_suite

    suite = load_suite(write_suite(tmp_path / "suite.yaml", [{"id": "twin:qwen2_vl"}], name="nonode"))
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # restored after: a leak made later embedded runs hang
    ray.init(address=lab.address, log_to_driver=False)
    try:
        per_node = live_targets(per_node=True)
        alive = [n for n in lab.nodes_json() if n["alive"] and n["role"] == "grid-node"]
        assert sorted(per_node) == sorted((n["hw_class"], n["node_id"]) for n in alive)
        result = run_suite(suite, tmp_path / "results", targets=[("M1-Ultra-64c-128GB", "")], class_wait_s=3)
    finally:
        ray.shutdown()
    (row,) = result.rows
    assert (row.status, row.error_class, row.hw_class) == ("skipped", "No Node", "M1-Ultra-64c-128GB")
    assert "no live node of class M1-Ultra-64c-128GB" in row.error_message


def test_a_node_killed_mid_run_is_retried_on_its_sibling_and_no_cell_is_lost(lab, tmp_path):
    # long enough (a few seconds of exact tokens) that the kill lands inside the cell: with 64 tokens the cell could
    # finish between the progress poll and the kill, and the row came from the victim (seen once, 2026-12-03)
    suite = write_suite(
        tmp_path / "suite.yaml", [{"id": "twin:qwen2_vl"}], max_tokens=2048, name="kill", exact_tokens=True
    )
    results = tmp_path / "results"
    run_id = "kill-test"
    log = open(tmp_path / "driver.log", "w")
    driver = subprocess.Popen(
        [
            GRID,
            "run",
            str(suite),
            "--address",
            lab.address,
            "--results",
            str(results),
            "--run-id",
            run_id,
            "--no-report",
        ],
        env=lab.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    progress = results / f"run_id={run_id}" / "_progress.json"

    def m4_running():
        try:
            snap = json.loads(progress.read_text())
        except (OSError, ValueError):
            return None
        return next(
            (f["node_id"] for f in snap["flights"] if f["hw_class"] == "M4-Max-40c-128GB" and f["state"] == "running"),
            None,
        )

    victim = lab.wait_for(m4_running, 180, "the M4 cell to start")
    name = next(n for n, v in lab.nodes.items() if v["hw_class"] == "M4-Max-40c-128GB" and victim in lab.node_ids(n))
    os.kill(lab.raylet_pid(name), signal.SIGKILL)  # the Mac dies under its cell
    assert driver.wait(300) == 0, (tmp_path / "driver.log").read_text()[-3000:]

    rows = store.read_rows(results, run_id)
    assert sorted(r.hw_class for r in rows) == sorted(CLASSES)  # every cell has its row: none lost
    m4 = next(r for r in rows if r.hw_class == "M4-Max-40c-128GB")
    assert m4.node_id != victim
    if m4.status == "node_lost":  # allowed only if no sibling was alive
        assert "died" in m4.error_message
    else:
        assert (m4.status, m4.attempt) == ("ok", 2)
        assert lab.label_of()[m4.node_id] == "M4-Max-40c-128GB"
    assert all(r.status == "ok" for r in rows if r is not m4)
    # the killed node's supervisor rejoins it under a new node id (Ray never revives a dead node id)
    rejoined = lab.wait_for(lambda: [i for i in lab.node_ids(name) if i != victim], 120, f"{name} to rejoin")
    assert rejoined and victim in lab.node_ids(name, alive=False)


def _start_driver(lab, tmp_path, suite, results, run_id, *extra):
    log = open(tmp_path / "driver.log", "w")
    args = [GRID, "run", str(suite), "--address", lab.address, "--results", str(results), "--run-id", run_id]
    return subprocess.Popen([*args, "--no-report", *extra], env=lab.env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path)  # fmt: skip


def _running_on(results, run_id, hw_class):
    try:
        snap = json.loads((results / f"run_id={run_id}" / "_progress.json").read_text())
    except (OSError, ValueError):
        return None
    return next((f["node_id"] for f in snap["flights"] if f["hw_class"] == hw_class and f["state"] == "running"), None)


def test_the_only_node_of_a_class_killed_then_rejoined_is_resumed_to_a_complete_report(lab, tmp_path):
    # two models: the M2 class (one node) runs one group at a time, so the kill lands under one group while the other
    # waits; with no sibling the first becomes node_lost and the waiting one skipped after the 5 s class wait
    models = [{"id": "twin:qwen2_vl"}, {"id": "twin:smolvlm"}]
    suite = write_suite(tmp_path / "suite.yaml", models, max_tokens=64, name="only")
    results, reports, run_id = tmp_path / "results", tmp_path / "reports", "only-node"
    driver = _start_driver(lab, tmp_path, suite, results, run_id, "--class-wait", "5")
    victim = lab.wait_for(lambda: _running_on(results, run_id, "M2-8c-8GB"), 240, "the M2 cell to start")
    assert victim in lab.node_ids("m2")
    from grid.lab.node_processes import node_processes

    os.kill(lab.raylet_pid("m2"), signal.SIGKILL)  # the only M2 Mac dies under its cell: all its processes with it
    for proc in node_processes(lab._temp_dir("m2")):
        proc.kill()
    assert driver.wait(300) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    assert not (tmp_path / "reports").exists()  # --no-report: nothing under the default reports folder, Ray's log too

    first = {r.cell_id: r for r in store.read_rows(results, run_id)}
    assert len(first) == 6  # every planned cell has a row
    lost = {c for c, r in first.items() if r.status in ("node_lost", "skipped")}
    m2 = {c for c, r in first.items() if r.hw_class == "M2-8c-8GB"}
    assert any(first[c].status == "node_lost" for c in m2) and lost <= m2
    assert all(r.status == "ok" for c, r in first.items() if c not in lost)

    lab.add_node("m2", "M2-8c-8GB", ram_gb=8)  # the Mac comes back (a new Ray node id, the same class)
    out = lab.grid("resume", run_id, "--results", str(results), "--reports", str(reports), "--address", lab.address,
                   "--json", timeout=300)  # fmt: skip
    summary = json.loads(out.stdout[out.stdout.index("{") :])
    assert summary["ran"] == len(lost) and summary["by_status"] == {"ok": len(lost)}
    after = {r.cell_id: r for r in store.read_rows(results, run_id)}
    assert {r.status for r in after.values()} == {"ok"}
    assert all(after[c].finished_at == first[c].finished_at for c in first if c not in lost)  # none ran twice
    assert {after[c].node_id for c in lost} <= set(lab.node_ids("m2"))  # on the rejoined node
    md = (reports / run_id / "report.md").read_text()
    assert "6 of 6 planned cells have rows (complete)" in md


def test_leave_stops_only_that_node(lab):
    from grid.lab.node_processes import node_processes

    assert node_processes(lab._temp_dir("m3"))
    lab.grid("node", "leave", "m3")
    assert node_processes(lab._temp_dir("m3")) == []
    lab.wait_for(lambda: not lab.node_ids("m3"), 60, "m3 marked dead")
    assert lab.node_ids("m2") and node_processes(lab._temp_dir("head"))
    lab.grid("node", "leave", "m4a")  # a supervised node: its supervisor stops too, it must not rejoin
    assert lab.nodes["m4a"]["supervisor"].wait(30) is not None and node_processes(lab._temp_dir("m4a")) == []
    unknown = lab.grid("node", "leave", "no-such-node", check=False)
    assert unknown.returncode == 1 and "no-such-node" in unknown.stderr and "Traceback" not in unknown.stderr
