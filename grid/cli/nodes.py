"""`grid head start|stop`, `grid node join|leave`, `grid nodes`: forming a lab of Macs into one Ray cluster."""

from __future__ import annotations

import functools
import json

import typer
from rich.console import Console
from rich.table import Table

from grid.cli.common import JsonOpt, UserError, handle_errors

console = Console()
head_app = typer.Typer(
    help="The Ray head of a lab (schedules cells, hosts the Jobs API; never runs a cell).", no_args_is_help=True
)
node_app = typer.Typer(help="This machine as a grid node: join a lab's head, leave it.", no_args_is_help=True)
app = typer.Typer(no_args_is_help=True)  # the sub-app, for embedding elsewhere
app.add_typer(head_app, name="head")
app.add_typer(node_app, name="node")


def register(root_app: typer.Typer) -> None:
    root_app.add_typer(head_app, name="head")
    root_app.add_typer(node_app, name="node")
    root_app.command("nodes")(nodes_command)


def cluster_errors(func):
    """ClusterError -> UserError, so handle_errors prints one line of advice."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from grid.lab.cluster import ClusterError

        try:
            return func(*args, **kwargs)
        except ClusterError as e:
            raise UserError(str(e)) from None

    return wrapper


NoAuthOpt = typer.Option(False, "--no-auth", help="Disable Ray token auth (only on a trusted, isolated network).")
NumCpusOpt = typer.Option(None, "--num-cpus", help="CPUs Ray may schedule on this node (default: all).")
ObjectStoreOpt = typer.Option(
    None, "--object-store-memory", help="Object store bytes (nodes: 256 MiB, rows are small; head: Ray's default)."
)


@head_app.command("start")
@handle_errors
@cluster_errors
def head_start(
    port: int = typer.Option(6379, "--port", help="GCS port the nodes join."),
    dashboard_host: str = typer.Option(
        "127.0.0.1",
        "--dashboard-host",
        help="Interface for the dashboard / Jobs API. 0.0.0.0 exposes it to the network.",
    ),
    dashboard_port: int = typer.Option(8265, "--dashboard-port"),
    dashboard: bool = typer.Option(
        True,
        "--dashboard/--no-dashboard",
        help="--no-dashboard: for Ray's minimal install; nodes join and `grid run --address` "
        "works from a node, but submit, status and nodes need the dashboard.",
    ),
    node_ip: str = typer.Option(None, "--node-ip-address", help="This machine's IP as the nodes see it."),
    no_auth: bool = NoAuthOpt,
    num_cpus: int = NumCpusOpt,
    object_store_memory: int = ObjectStoreOpt,
    node_timeout_s: float = typer.Option(30, "--node-timeout", help="Seconds before a silent node is marked dead."),
    temp_dir: str = typer.Option(None, "--temp-dir", help="Ray temp dir of the head (default /tmp/grid/head)."),
    client_port: int = typer.Option(None, "--ray-client-server-port", help="Ray Client port (default 10001)."),
    autoscaling_config: str = typer.Option(
        None, "--autoscaling-config", help="Set by `ray up cluster.yaml` so the head starts the listed workers."
    ),
    dashboard_agent_port: int = typer.Option(
        None, "--dashboard-agent-listen-port", help="Only when another Ray runs on this host (default 52365)."
    ),
) -> None:
    """Start the lab's Ray head with the dashboard (Jobs API) and token auth.

    Example: grid head start --node-ip-address 192.168.1.10
    """
    from grid.lab.cluster import start_head, token_path

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
    console.print(f"[bold green]head started[/] at {rec.address} (temp dir {rec.temp_dir})")
    console.print(f"  dashboard / Jobs API: {rec.dashboard_url or 'off (--no-dashboard)'}")
    if rec.auth:
        console.print(
            f"  token auth: on; token file {token_path()} — copy it to each Mac as ~/.ray/auth_token "
            "(or export RAY_AUTH_TOKEN) and to your laptop"
        )
    else:
        console.print("  [yellow]token auth: off[/] — anyone who reaches these ports can run code here")
    console.print(f"  on each Mac:   grid node join {rec.address} --supervise")
    if not dashboard:
        console.print(f"  on a node:     grid run SUITE --address {rec.address}")
    elif dashboard_host in ("127.0.0.1", "localhost"):
        console.print(
            f"  from a laptop: ssh -N -L {dashboard_port}:127.0.0.1:{dashboard_port} HEAD, then "
            f"grid submit SUITE --address http://127.0.0.1:{dashboard_port}"
        )
    else:
        console.print(f"  from a laptop: grid submit SUITE --address {rec.dashboard_url}")


@head_app.command("stop")
@handle_errors
@cluster_errors
def head_stop() -> None:
    """Stop the head grid started on this machine (by PID; never `ray stop`, which is host-wide).

    Example: grid head stop
    """
    from grid.lab.cluster import leave

    rec, pids = leave(None, role="head")
    console.print(f"head {rec.name} stopped ({len(pids)} processes)")


@node_app.command("join")
@handle_errors
@cluster_errors
def node_join(
    address: str = typer.Argument(..., help="The head's GCS address, HEAD:6379."),
    name: str = typer.Option(None, "--name", help="Local name of this node (default node-<hostname>)."),
    node_ip: str = typer.Option(None, "--node-ip-address", help="This machine's IP as the head sees it."),
    no_auth: bool = NoAuthOpt,
    num_cpus: int = NumCpusOpt,
    object_store_memory: int = ObjectStoreOpt,
    dashboard_agent_port: int = typer.Option(
        None, "--dashboard-agent-listen-port", help="Only when several nodes share one host (default 52365)."
    ),
    temp_dir: str = typer.Option(None, "--temp-dir", help="Ray temp dir of this node (default /tmp/grid/<name>)."),
    supervise: bool = typer.Option(
        False,
        "--supervise",
        help="Stay in the foreground and rejoin whenever the node is marked dead (its raylet exits); Ctrl-C leaves.",
    ),
    no_device_info: bool = typer.Option(False, "--no-device-info", help="Skip MLX's working-set probe (faster)."),
) -> None:
    """Probe this machine and join the lab as a labelled node that runs one benchmark at a time.

    Example: grid node join 192.168.1.10:6379 --supervise
    """
    from agent.hardware import probe
    from grid.lab import cluster

    hw = probe(device_info=not no_device_info)
    kw = dict(
        node_ip=node_ip,
        num_cpus=num_cpus,
        object_store_memory=object_store_memory,
        dashboard_agent_port=dashboard_agent_port,
        temp_dir=temp_dir,
    )
    labels = ", ".join(f"{k}={v}" for k, v in cluster.node_labels(hw).items())
    if supervise:
        console.print(f"supervising node {name or ''} ({labels}); Ctrl-C to leave")
        cluster.supervise(address, hw, name=name, auth=not no_auth, log=console.print, **kw)
        return
    rec = cluster.join(address, hw, name=name, auth=not no_auth, **kw)
    console.print(f"[bold green]joined[/] {address} as {rec.name}: {labels}; leave with `grid node leave {rec.name}`")


@node_app.command("leave")
@handle_errors
@cluster_errors
def node_leave(name: str = typer.Argument(None, help="Node name (needed only if several run here).")) -> None:
    """Stop this machine's grid node by PID (never `ray stop`: that kills every Ray on the host).

    Example: grid node leave
    """
    from grid.lab.cluster import leave

    rec, pids = leave(name, role="node")
    console.print(f"node {rec.name} left ({len(pids)} processes stopped)")


@handle_errors
@cluster_errors
def nodes_command(
    address: str = typer.Option(
        None,
        "--address",
        "-a",
        help="Dashboard URL http://HEAD:8265 (default: the head started here, or RAY_ADDRESS).",
        envvar="GRID_DASHBOARD",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """List the lab's nodes: class, RAM, backend, alive, and the cell each one runs.

    Example: grid nodes --address http://127.0.0.1:8265
    """
    from grid.lab.cluster import list_grid_nodes

    nodes = list_grid_nodes(address)
    if as_json:
        typer.echo(json.dumps(nodes, indent=2))
        return
    table = Table(title="grid nodes")
    for col in ("node", "role", "class", "RAM GB", "backend", "alive", "running"):
        table.add_column(col)
    for n in nodes:
        table.add_row(
            f"{n['node_ip']} {n['node_id'][:8]}",
            n["role"],
            n["hw_class"] or "—",
            f"{n['ram_gb']:.0f}" if n["ram_gb"] else "—",
            n["backend"] or "—",
            "[green]yes[/]" if n["alive"] else "[red]no[/]",
            ", ".join(n["running"]) or "—",
        )
    console.print(table)
