"""The Ray calls of the dispatch loop, behind a small interface so the loop's state machine (fail-over, watchdog, class
waits) runs in unit tests against a fake (tests/test_dispatch.py) as well as on a real cluster.

`take` turns what Ray raises into the kinds the loop tells apart; StopIteration (the task ended) passes through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from grid.core.options import RunOptions
from grid.core.plan import Cell
from grid.driver.connect import NODE_ROLE, SLOT, grid_nodes_safe, ray_module


class TakeError(Exception):
    """Taking the next item from a group's stream failed. `str()` is the reason written into rows."""


class NodeDied(TakeError):
    """The task's node died or the item's object was lost with it: retry on a sibling."""


class WorkerDied(TakeError):
    """The worker process crashed or the task was cancelled: the node may well be fine (and may serve the retry)."""


class TaskFailed(TakeError):
    """grid's own agent code raised (a bug, not the model's failure): the group's cells are `crashed`."""


class EnvFailed(TakeError):
    """Ray could not set up the group's runtime environment on the node (a pin gone from the index since the
    pre-build, a full disk): its cells are `skipped` with the environment's error, retryable by `grid resume`."""


class RayFailure(TakeError):
    """Any other Ray error (Ray's memory monitor, RaySystemError, ...): retried like a worker crash."""


class Calls(Protocol):
    """What the dispatch loop asks of Ray. A handle is whatever submit returns (hashable)."""

    def submit(self, group: list[Cell], attempt: int, options: RunOptions) -> Any: ...

    def wait(self, handles: Iterable[Any], timeout_s: float) -> list[Any]:
        """The handles (at most one) with an item ready, after at most timeout_s."""
        ...

    def take(self, handle: Any) -> Any:
        """The next item: the start marker (a dict) or a ResultRow. Raises StopIteration or a TakeError."""
        ...

    def cancel(self, handle: Any) -> None: ...

    def nodes(self, alive_only: bool = True) -> list[dict]:
        """`ray.nodes()` entries of grid nodes; [] when the head does not answer."""
        ...


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class RayCalls:
    """The real calls: one streaming Ray task per group on a node of its class, holding the node's grid_slot."""

    def submit(self, group: list[Cell], attempt: int, options: RunOptions):
        from agent.tasks import group_task

        ray = ray_module()
        cell = group[0]
        selector = {"role": NODE_ROLE}
        if cell.hw_class:
            selector["hw_class"] = cell.hw_class
        task_options = dict(
            num_returns="streaming",
            num_cpus=0,
            resources={SLOT: 1},
            label_selector=selector,
            max_retries=0,
            name=f"grid:{cell.run_id}:{cell.model.id}@{cell.hw_class}",
        )
        if cell.node_id:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            task_options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(cell.node_id, soft=False)
        if cell.environment is not None:  # the group's worker (and the child it spawns) run in the env's python
            from grid.driver.envs import runtime_env

            task_options["runtime_env"] = runtime_env(cell.environment)
            task_options["name"] += f"[{cell.env_id}]"
        return ray.remote(group_task).options(**task_options).remote(group, attempt, options)

    def wait(self, handles: Iterable[Any], timeout_s: float) -> list[Any]:
        ready, _ = ray_module().wait(list(handles), num_returns=1, timeout=timeout_s)
        return ready

    def take(self, handle: Any) -> Any:
        ray = ray_module()
        try:
            return ray.get(next(handle))
        except StopIteration:
            raise
        except (ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as exc:
            raise NodeDied(_reason(exc)) from exc
        except (
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.ActorDiedError,
            ray.exceptions.TaskCancelledError,
        ) as exc:
            raise WorkerDied(_reason(exc)) from exc
        except ray.exceptions.RayTaskError as exc:
            raise TaskFailed(str(exc)) from exc
        except ray.exceptions.RuntimeEnvSetupError as exc:  # normally caught before dispatch (grid.driver.envs)
            raise EnvFailed(_reason(exc)) from exc
        except ray.exceptions.RayError as exc:  # OutOfMemoryError (Ray's memory monitor), RaySystemError, ...
            raise RayFailure(_reason(exc)) from exc

    def cancel(self, handle: Any) -> None:
        ray_module().cancel(handle, force=True)

    def nodes(self, alive_only: bool = True) -> list[dict]:
        return grid_nodes_safe(alive_only)
