"""`grid head start|stop`, `grid node join|leave`, `grid nodes`: forming a lab of Macs into one Ray cluster."""

from __future__ import annotations

from typing import Annotated

import typer

from grid.cli import output
from grid.cli.common import (
    DashboardAlias,
    Json,
    SimulateClass,
    SimulateRam,
    SimulateWorkingSet,
    dashboard_url,
    new_app,
    node_options,
)

head_app = new_app(
    help="The Ray head of a lab (schedules cells, hosts the Jobs API; never runs a cell).", no_args_is_help=True
)
node_app = new_app(help="This machine as a grid node: join a lab's head, leave it.", no_args_is_help=True)
app = new_app()  # `grid nodes`; the root adds head_app and node_app as `grid head` / `grid node`

NoAuth = Annotated[
    bool, typer.Option("--no-auth", help="Disable Ray token auth (only on a trusted, isolated network).")
]
NumCpus = Annotated[int | None, typer.Option("--num-cpus", help="CPUs Ray may schedule on this node (default: all).")]
ObjectStore = Annotated[
    int | None,
    typer.Option(
        "--object-store-memory", help="Object store bytes (nodes: 256 MiB, rows are small; head: Ray's default)."
    ),
]


@head_app.command("start")
def head_start(  # the parameters are the command's options
    port: Annotated[int, typer.Option("--port", help="GCS port the nodes join.")] = 6379,
    dashboard_host: Annotated[
        str,
        typer.Option(
            "--dashboard-host", help="Interface for the dashboard / Jobs API. 0.0.0.0 exposes it to the network."
        ),
    ] = "127.0.0.1",
    dashboard_port: Annotated[int, typer.Option("--dashboard-port")] = 8265,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="--no-dashboard: for Ray's minimal install; nodes join and `grid run --address` "
            "works from a node, but submit, status and nodes need the dashboard.",
        ),
    ] = True,
    node_ip: Annotated[
        str | None, typer.Option("--node-ip-address", help="This machine's IP as the nodes see it.")
    ] = None,
    no_auth: NoAuth = False,
    num_cpus: NumCpus = None,
    object_store_memory: ObjectStore = None,
    node_timeout_s: Annotated[
        float, typer.Option("--node-timeout", help="Seconds before a silent node is marked dead.")
    ] = 30,
    temp_dir: Annotated[
        str | None, typer.Option("--temp-dir", help="Ray temp dir of the head (default /tmp/grid/head).")
    ] = None,
    client_port: Annotated[
        int | None, typer.Option("--ray-client-server-port", help="Ray Client port (default 10001).")
    ] = None,
    autoscaling_config: Annotated[
        str | None,
        typer.Option(
            "--autoscaling-config", help="Set by `ray up cluster.yaml` so the head starts the listed workers."
        ),
    ] = None,
    dashboard_agent_port: Annotated[
        int | None,
        typer.Option("--dashboard-agent-listen-port", help="Only when another Ray runs on this host (default 52365)."),
    ] = None,
) -> None:
    """Start the lab's Ray head with the dashboard (Jobs API) and token auth.

    Example: grid head start --node-ip-address 192.168.1.10
    """
    from grid.lab.cluster import start_head

    rec = start_head(
        port=port,
        dashboard_host=dashboard_host,
        dashboard_port=dashboard_port,
        node_ip=node_ip,
        auth=not no_auth,
        num_cpus=num_cpus,
        object_store_memory=object_store_memory,
        node_timeout_s=node_timeout_s,
        temp_dir=temp_dir,
        ray_client_server_port=client_port,
        autoscaling_config=autoscaling_config,
        dashboard_agent_port=dashboard_agent_port,
        dashboard=dashboard,
    )
    _print_head(rec, dashboard_host, dashboard_port)


def _print_head(rec, dashboard_host: str, dashboard_port: int) -> None:
    from grid.lab.cluster import token_path

    output.line(f"[bold green]head started[/] at {rec.address} (temp dir {rec.temp_dir})")
    output.line(f"  dashboard / Jobs API: {rec.dashboard_url or 'off (--no-dashboard)'}")
    if rec.auth:
        output.line(
            f"  token auth: on; token file {token_path()} — copy it to each Mac as ~/.ray/auth_token "
            "(or export RAY_AUTH_TOKEN) and to your laptop"
        )
    else:
        output.line("  [yellow]token auth: off[/] — anyone who reaches these ports can run code here")
    output.line(f"  on each Mac:   grid node join {rec.address} --supervise")
    if not rec.dashboard_url:
        output.line(f"  on a node:     grid run SUITE --address {rec.address}")
    elif dashboard_host in ("127.0.0.1", "localhost"):
        output.line(
            f"  from a laptop: ssh -N -L {dashboard_port}:127.0.0.1:{dashboard_port} HEAD, then "
            f"grid submit SUITE --dashboard http://127.0.0.1:{dashboard_port}"
        )
    else:
        output.line(f"  from a laptop: grid submit SUITE --dashboard {rec.dashboard_url}")


@head_app.command("stop")
def head_stop() -> None:
    """Stop the head grid started on this machine (by PID; never `ray stop`, which is host-wide).

    Example: grid head stop
    """
    from grid.lab.cluster import leave

    rec, pids = leave(None, role="head")
    output.line(f"head {rec.name} stopped ({len(pids)} processes)")


@node_app.command("join")
def node_join(  # the parameters are the command's options
    address: Annotated[str, typer.Argument(help="The head's GCS address, HEAD:6379.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Local name of this node (default node-<hostname>).")
    ] = None,
    node_ip: Annotated[
        str | None, typer.Option("--node-ip-address", help="This machine's IP as the head sees it.")
    ] = None,
    no_auth: NoAuth = False,
    num_cpus: NumCpus = None,
    object_store_memory: ObjectStore = None,
    dashboard_agent_port: Annotated[
        int | None,
        typer.Option("--dashboard-agent-listen-port", help="Only when several nodes share one host (default 52365)."),
    ] = None,
    temp_dir: Annotated[
        str | None, typer.Option("--temp-dir", help="Ray temp dir of this node (default /tmp/grid/<name>).")
    ] = None,
    supervise: Annotated[
        bool,
        typer.Option(
            "--supervise",
            help="Stay in the foreground and rejoin whenever the node is marked dead (its raylet exits); "
            "Ctrl-C leaves.",
        ),
    ] = False,
    no_device_info: Annotated[
        bool, typer.Option("--no-device-info", help="Skip MLX's working-set probe (faster).")
    ] = False,
    simulate_class: SimulateClass = "",
    simulate_ram_gb: SimulateRam = None,
    simulate_working_set_gb: SimulateWorkingSet = None,
    disk_budget: Annotated[
        str | None,
        typer.Option(
            "--disk-budget",
            help="Most disk grid's own model downloads may take here (e.g. 200GB); grid evicts its least recently "
            "used downloads to stay inside it, never anything else in the Hugging Face cache.",
        ),
    ] = None,
) -> None:
    """Probe this machine and join the lab as a labelled node that runs one benchmark at a time.

    Example: grid node join 192.168.1.10:6379 --supervise
    """
    from agent.hardware import join_refusal, probe
    from grid.lab import cluster

    simulate = node_options(simulate_class, simulate_ram_gb, simulate_working_set_gb)
    hw = probe(device_info=not no_device_info, simulate=simulate)
    if disk_budget:
        from agent.disk import parse_size

        try:
            parse_size(disk_budget)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--disk-budget") from None
    refusal = join_refusal(hw)
    if refusal:  # Rosetta / Intel Mac: MLX cannot run here; joining would only mislabel the node
        output.line(f"[bold red]not joining[/]: {refusal}")
        raise typer.Exit(2)
    kw = dict(
        node_ip=node_ip,
        num_cpus=num_cpus,
        object_store_memory=object_store_memory,
        dashboard_agent_port=dashboard_agent_port,
        temp_dir=temp_dir,
        simulate=simulate,
        **({"disk_budget": disk_budget} if disk_budget else {}),
    )
    labels = ", ".join(f"{k}={v}" for k, v in cluster.node_labels(hw).items())
    if supervise:
        output.line(f"supervising node {name or ''} ({labels}); Ctrl-C to leave")
        cluster.supervise(address, hw, name=name, auth=not no_auth, log=output.line, **kw)
        return
    rec = cluster.join(address, hw, name=name, auth=not no_auth, **kw)
    output.line(f"[bold green]joined[/] {address} as {rec.name}: {labels}; leave with `grid node leave {rec.name}`")


@node_app.command("leave")
def node_leave(
    name: Annotated[str | None, typer.Argument(help="Node name (needed only if several run here).")] = None,
) -> None:
    """Stop this machine's grid node by PID (never `ray stop`: that kills every Ray on the host).

    Example: grid node leave
    """
    from grid.lab.cluster import leave

    rec, pids = leave(name, role="node")
    output.line(f"node {rec.name} left ({len(pids)} processes stopped)")


@app.command("nodes")
def nodes_command(
    dashboard: Annotated[
        str | None,
        typer.Option(
            "--dashboard",
            "-d",
            envvar="GRID_DASHBOARD",
            help="The head's dashboard URL, http://HEAD:8265 (default: the head started here, or RAY_ADDRESS).",
        ),
    ] = None,
    address: DashboardAlias = None,
    as_json: Json = False,
) -> None:
    """List the lab's nodes: class, RAM, backend, alive, and the cell each one runs.

    Example: grid nodes --dashboard http://127.0.0.1:8265
    """
    from grid.lab.cluster import list_grid_nodes

    nodes = list_grid_nodes(dashboard_url(dashboard, address, required=False))
    output.show(nodes, as_json, _print_nodes)


def _print_nodes(nodes: list[dict]) -> None:
    output.table(
        "grid nodes",
        ("node", "role", "class", "RAM GB", "backend", "alive", "running"),
        (
            (
                f"{n['node_ip']} {n['node_id'][:8]}",
                n["role"],
                (n["hw_class"] or "—") + (" (simulated)" if n.get("simulated") else ""),
                f"{n['ram_gb']:.0f}" if n["ram_gb"] else "—",
                n["backend"] or "—",
                "[green]yes[/]" if n["alive"] else "[red]no[/]",
                ", ".join(n["running"]) or "—",
            )
            for n in nodes
        ),
    )
