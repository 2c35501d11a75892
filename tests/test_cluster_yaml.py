"""cluster.yaml is a valid Ray cluster-launcher config (Ray's own validation) whose commands form a grid lab."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config
from typer.main import get_command

from grid.cli import app

CLUSTER_YAML = Path(__file__).parent.parent / "cluster.yaml"


def test_cluster_yaml_passes_rays_validation():
    raw = yaml.safe_load(CLUSTER_YAML.read_text())
    assert raw["provider"]["type"] == "local"
    assert raw["provider"]["head_ip"] and len(raw["provider"]["worker_ips"]) >= 1
    assert {"ssh_user", "ssh_private_key"} <= set(raw["auth"])
    config = prepare_config(raw)
    validate_config(config)  # raises on a schema error
    workers = config["available_node_types"]["local.cluster.node"]
    assert workers["max_workers"] == len(raw["provider"]["worker_ips"])


def test_cluster_yaml_starts_grid_not_ray_stop():
    raw = yaml.safe_load(CLUSTER_YAML.read_text())
    commands = raw["head_start_ray_commands"] + raw["worker_start_ray_commands"] + raw["setup_commands"]
    assert not any("ray stop" in c for c in commands), "ray stop is host-wide"
    assert any("grid head start" in c and "--autoscaling-config" in c for c in raw["head_start_ray_commands"])
    assert any("grid node join $RAY_HEAD_IP:6379" in c for c in raw["worker_start_ray_commands"])
    assert "HF_TOKEN" not in CLUSTER_YAML.read_text().replace("# ", "")
    # every grid command line in it parses with the real CLI: the commands and options exist, the arguments fit
    cli = get_command(app)
    checked = 0
    for c in commands:
        words = shlex.split(c.replace(" || true", "").replace(" &", "").split(">>")[0].replace("nohup ", ""))
        if not words or not words[0].endswith("/grid"):
            continue
        args, cmd, ctx = words[1:], cli, None
        while hasattr(cmd, "get_command"):
            name, args = args[0], args[1:]
            ctx = click.Context(cmd, info_name=name, parent=ctx)
            cmd = cmd.get_command(ctx, name)
            assert cmd is not None, f"unknown grid command in cluster.yaml: {c}"
        cmd.make_context(name, list(args), parent=ctx)  # raises click.UsageError on an unknown option
        checked += 1
    assert checked >= 4
