import sys, time, json, tempfile, statistics
from pathlib import Path
sys.path.insert(0, "bench")
import common  # noqa
from common import P2_MODELS, suite_dict
from grid.driver.connect import connect, live_targets
from grid.core.suite import parse_suite
from grid.core.plan import plan_cells
from grid.core.options import RunOptions
from grid import store
from grid.driver.scheduler import execute
connect(None)
suite = parse_suite(suite_dict("p5", list(P2_MODELS), 16, 2), "p5.yaml")
res = Path(tempfile.mkdtemp())
trace = "/tmp/p5trace.jsonl"
for label in ("cold", "warm"):
    Path(trace).unlink(missing_ok=True)
    got = []
    cells = plan_cells(suite, store.new_run_id(label), live_targets())
    t0 = time.time()
    rows = execute(cells, res, on_row=lambda r: got.append((time.time(), r)), options=RunOptions(trace_path=trace))
    t1 = time.time()
ev = [json.loads(l) for l in open(trace)]
starts = [e["t"] for e in ev if e["event"] == "group_start"]
dones = [e["t"] for e in ev if e["event"] == "cell_done"]
ends = [e["t"] for e in ev if e["event"] == "group_end"]
arrive = [t for t, _ in got]
walls = [r.wall_s for _, r in got]
n = len(rows)
print("cells", n, "execute", round(t1 - t0, 2), "sum wall", round(sum(walls), 2), "per cell ms", round((t1 - t0 - sum(walls)) / n * 1e3, 1))
print("first group_start - execute start ms", round((starts[0] - t0) * 1e3, 1))
print("cell_done -> row written at driver, ms (median)", round(statistics.median(a - d for a, d in zip(arrive, dones)) * 1e3, 1))
print("row written -> next group_start ms (median)", round(statistics.median(s - a for a, s in zip(arrive, starts[1:])) * 1e3, 1))
print("group_start -> cell wall start (bandwidth, keep_awake) ms: n/a in trace; group_end - cell_done ms", round(statistics.median(e - d for e, d in zip(ends, dones)) * 1e3, 1))
print("last row -> execute end ms", round((t1 - arrive[-1]) * 1e3, 1))
