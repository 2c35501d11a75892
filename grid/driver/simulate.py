"""Scale that cannot be rented here, by simulation: the real dispatch loop (grid.driver.dispatch.Execution) against a
simulated Ray (`SimCalls`, a grid.driver.calls.Calls) with a simulated clock: hundreds of nodes in several hardware
classes, nodes that die (the stream raises NodeDied, or hangs until the head marks the node dead) and nodes that
join. Rows are kept in memory (no Parquet), so 10,000 cells take seconds.

The simulated Ray does what Ray does with grid's tasks: a task waits in its class's queue (label selector + one
grid_slot per node) in submission order, and a node that frees takes the next task of its class. That is
work-conserving by construction: what the simulation measures is the dispatch loop's own cost (decisions per second)
and the makespan an order gives, against the ideal.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import random
import time
from collections import deque
from dataclasses import dataclass, field

from grid.core.options import RunOptions
from grid.core.plan import Cell, plan_cells
from grid.core.schema import ResultRow
from grid.core.status import Status
from grid.core.suite import parse_suite
from grid.driver.calls import NodeDied


@dataclass(eq=False)
class SimTask:
    group: list[Cell]
    attempt: int
    durations: list[float]
    seq: int
    node: str | None = None
    started: float = 0.0
    ready: deque = field(default_factory=deque)  # items ready to take
    done_rows: int = 0
    hang: bool = False
    dead: bool = False  # cancelled or finished: never ready again

    def __hash__(self) -> int:
        return self.seq


class SimCalls:
    """A simulated cluster. `duration(cell, attempt) -> s` gives each cell's time; `events` are (time, "die"|"join",
    node_id, hw_class); a dying node's running task raises NodeDied (or, with probability hang_p, hangs)."""

    def __init__(self, nodes: dict[str, str], duration, events=(), hang_p: float = 0.5, seed: int = 0):
        self.now = 0.0
        self.table = {
            n: {"NodeID": n, "Alive": True, "Labels": {"role": "grid-node", "hw_class": c}} for n, c in nodes.items()
        }
        self.free: dict[str, deque] = {}
        for n, c in nodes.items():
            self.free.setdefault(c, deque()).append(n)
        self.queue: dict[str, deque] = {}
        self.running: dict[str, SimTask] = {}
        self.duration, self.hang_p, self.rng = duration, hang_p, random.Random(seed)
        self.heap: list = []  # (time, seq, kind, payload)
        self.seq = itertools.count()
        for t, kind, node, cls in events:
            heapq.heappush(self.heap, (t, next(self.seq), kind, (node, cls)))
        self.ready: set[SimTask] = set()
        self.submitted = 0
        self.busy_s: dict[str, float] = {}

    def clock(self) -> float:
        return self.now

    # --- Calls ---
    def submit(self, group, attempt, options: RunOptions):
        task = SimTask(list(group), attempt, [self.duration(c, attempt) for c in group], next(self.seq))
        self.submitted += 1
        self.queue.setdefault(group[0].hw_class, deque()).append(task)
        self._dispatch(group[0].hw_class)
        return task

    def wait(self, handles, timeout_s):
        limit = self.now + timeout_s
        while True:
            if self.ready:
                return [self.ready.pop()]
            if not self.heap or self.heap[0][0] > limit:
                self.now = limit
                return []
            t, _, kind, payload = heapq.heappop(self.heap)
            self.now = max(self.now, t)
            self._event(kind, payload)

    def take(self, task: SimTask):
        item = task.ready.popleft()
        if task.ready:
            self.ready.add(task)
        else:
            self.ready.discard(task)
        if isinstance(item, Exception):
            raise item
        if item is StopIteration:
            task.dead = True
            raise StopIteration
        return item

    def cancel(self, task: SimTask) -> None:
        if task.dead:
            return
        task.dead = True
        self.ready.discard(task)
        q = self.queue.get(task.group[0].hw_class)
        if task.node is None and q is not None and task in q:
            q.remove(task)
        elif task.node is not None and self.running.get(task.node) is task:
            self._release(task.node)

    def nodes(self, alive_only: bool = True) -> list[dict]:
        return [dict(n) for n in self.table.values() if n["Alive"] or not alive_only]

    # --- the simulated cluster ---
    def _dispatch(self, cls: str) -> None:
        q, free = self.queue.get(cls), self.free.get(cls)
        while q and free:
            node, task = free.popleft(), q.popleft()
            task.node, task.started = node, self.now
            self.running[node] = task
            task.ready.append({"node_id": node, "hostname": node})
            self.ready.add(task)
            t = self.now
            for i, d in enumerate(task.durations):
                t += d
                heapq.heappush(self.heap, (t, next(self.seq), "row", (task, i)))
            heapq.heappush(self.heap, (t, next(self.seq), "end", (task, None)))

    def _release(self, node: str) -> None:
        task = self.running.pop(node, None)
        if task is not None:
            self.busy_s[node] = self.busy_s.get(node, 0.0) + self.now - task.started
        entry = self.table[node]
        if entry["Alive"]:
            cls = entry["Labels"]["hw_class"]
            self.free.setdefault(cls, deque()).append(node)
            self._dispatch(cls)

    def _event(self, kind: str, payload) -> None:
        if kind in ("row", "end"):
            task, i = payload
            if task.dead or task.hang or self.running.get(task.node) is not task:
                return
            if kind == "row":
                cell = task.group[i]
                task.ready.append(ResultRow(cell.run_id, cell.cell_id, cell.model.id, cell.hw_class, Status.OK,
                                            node_id=task.node, attempt=task.attempt))  # fmt: skip
            else:
                task.ready.append(StopIteration)
                self._release(task.node)
            self.ready.add(task)
        elif kind == "die":
            node, _ = payload
            if node not in self.table or not self.table[node]["Alive"]:
                return
            self.table[node]["Alive"] = False
            cls = self.table[node]["Labels"]["hw_class"]
            if node in self.free.get(cls, ()):
                self.free[cls].remove(node)
            task = self.running.pop(node, None)
            if task is not None and not task.dead:
                if self.rng.random() < self.hang_p:
                    task.hang = True  # a partitioned node: only the head's node table tells
                else:
                    task.ready.append(NodeDied(f"NodeDiedError: simulated death of {node}"))
                    self.ready.add(task)
        elif kind == "join":
            node, cls = payload
            self.table[node] = {"NodeID": node, "Alive": True, "Labels": {"role": "grid-node", "hw_class": cls}}
            self.free.setdefault(cls, deque()).append(node)
            self._dispatch(cls)


def memory_writer():
    """A row writer for Execution that keeps rows in a dict and refuses a cell written twice."""
    rows: dict[str, ResultRow] = {}

    def write(_root, row: ResultRow) -> None:
        if row.cell_id in rows:
            raise AssertionError(f"cell {row.cell_id} written twice")
        rows[row.cell_id] = row

    write.rows = rows
    return write


@dataclass
class SimResult:
    cells: int
    rows: int
    statuses: dict
    makespan_s: float
    ideal_s: float
    decisions: int
    wall_s: float
    submitted: int

    @property
    def decisions_per_s(self) -> float:
        return self.decisions / self.wall_s if self.wall_s else 0.0


def run_simulation(cells: list[Cell], groups: list[list[Cell]], nodes: dict[str, str], duration, events=(),
                   results_root="/tmp/grid-sim", class_wait_s: float = 120.0, seed: int = 0,
                   predicted: dict | None = None) -> SimResult:  # fmt: skip
    """Dispatch `groups` (already ordered) with the real loop against SimCalls; the results root only holds the
    progress file (rows stay in memory). `predicted` ((model, class) -> group seconds) orders retries, as in a run."""
    from grid.driver.dispatch import Execution

    calls = SimCalls(nodes, duration, events, seed=seed)
    writer = memory_writer()
    ex = Execution(results_root, "sim", None, RunOptions(class_wait_s=class_wait_s), {}, calls=calls,
                   clock=calls.clock, writer=writer, predicted=predicted)  # fmt: skip
    t0 = time.perf_counter()
    rows = ex.run(groups)
    wall = time.perf_counter() - t0
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return SimResult(len(cells), len(rows), statuses, calls.now, ideal_makespan(groups, nodes, duration), ex.decisions,
                     wall, calls.submitted)  # fmt: skip


def ideal_makespan(groups: list[list[Cell]], nodes: dict[str, str], duration) -> float:
    """max over classes of max(Σ group time / nodes of the class, longest group): no order beats it (no deaths)."""
    per_class: dict[str, list[float]] = {}
    for g in groups:
        per_class.setdefault(g[0].hw_class, []).append(sum(duration(c, 1) for c in g))
    counts: dict[str, int] = {}
    for c in nodes.values():
        counts[c] = counts.get(c, 0) + 1
    return max(max(sum(v) / counts.get(k, 1), max(v)) for k, v in per_class.items())


# --- a scenario: models x prompts x 8 classes, lognormal model times, class speed factors, deaths and joins ---

CLASSES = [f"M{i}-class" for i in range(8)]


def scenario(models=125, prompts=10, per_class=25, deaths=20, joins=20, seed=1):
    suite = parse_suite(
        {"name": "sim", "models": ["org/m0"], "prompts": [{"id": f"p{i}", "text": f"say {i}"} for i in range(prompts)]},
        "test",
    )
    # planning 10,000 cells is not what is tested: plan one model's, then copy them to every model and class
    seed_cells = plan_cells(suite, "sim", [(CLASSES[0], "")])
    cells = [
        dataclasses.replace(
            c, model=dataclasses.replace(c.model, id=f"org/m{m}"), hw_class=cls, cell_id=f"{cls}-{m}-{j}"
        )  # fmt: skip
        for m in range(models)
        for cls in CLASSES
        for j, c in enumerate(seed_cells)
    ]
    rng = random.Random(seed)
    base = {f"org/m{i}": rng.lognormvariate(2.5, 0.8) for i in range(models)}
    speed = {c: 1.0 + i * 0.3 for i, c in enumerate(CLASSES)}

    def duration(cell, attempt):
        return base[cell.model.id] * speed[cell.hw_class]

    nodes = {f"{c}-n{j}": c for c in CLASSES for j in range(per_class)}
    names = sorted(nodes)
    events = [(rng.uniform(10, 400), "die", n, "") for n in rng.sample(names, deaths)]
    events += [(rng.uniform(10, 400), "join", f"{c}-new{j}", c) for j, c in enumerate(rng.choices(CLASSES, k=joins))]
    return cells, nodes, duration, events
