#!/usr/bin/env bash
# Fourth H200 plan (2026-12-03): the two things round 3 could not finish, side by side on disjoint cores.
#  A (issue 12) the H200 machine's own CPU as a second real class, now that `--mlx-device cpu` really runs on the CPU
#    (round 3's rows ran on the GPU; fixed in agent/adapter.py): `grid run --mlx-device cpu` pinned to cores 0-11
#    (class Xeon-12c-128GB), reports/examples/h200-vs-cpu/xeon-suite.yaml, so the real-size Qwen2-VL-2B twin is
#    measured on two classes and the prediction's leave-one-out error becomes measurable.
#  B2 (issue 16) grid's overhead on real-size twins on the GPU against a lab cluster started once (`--address`),
#    pinned to cores 12-15: bench/overhead.py, grid vs the plain loop interleaved (A B, B A).
# Needs the wheels from ../shared/tools/device-wheels in /root/site (duckdb among them). Packs /root/{res,bench} into
# /root/out/h200.tar.gz after each step and touches /root/out/DONE at the end.
#
#   setsid nohup bash bench/h200_round4.sh > /root/session.log 2>&1 &
# Every polling call must end by copying /root/out/h200.tar.gz to $OUT: a lease can be lost between two calls
# (2026-12-03: A finished its 7 cells in 975 s, then the machine was given back before its rows were fetched).
set -u
export PYTHONPATH=/root/site:$PWD HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1
export GRID_CACHE=/root/gridcache PATH=/root/bin:$PATH
OUT=/root/out
mkdir -p $OUT /root/bin /root/bench /root/res
printf '#!/bin/sh\nexec python3 -m ray.scripts.scripts "$@"\n' > /root/bin/ray && chmod +x /root/bin/ray
step() { echo "=== $(date -u +%H:%M:%S) $*"; }
# packs under a unique temporary name, so A's pack and B2's never collide; the newest complete tarball wins
pack() { cp /root/session.log /root/*.log /root/bench/ 2>/dev/null; tar czf $OUT/h200.tar.gz.$$.$BASHPID -C /root res bench && mv $OUT/h200.tar.gz.$$.$BASHPID $OUT/h200.tar.gz; }

step machine
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
taskset -c 0-11 python3 -c "import json; from agent.hardware import probe
print(json.dumps(probe(device_info=False, mlx_device='cpu').to_dict(), indent=2))" | tee /root/bench/hardware-cpu12.json

step A: the machine CPU as a class, in the background
( taskset -c 0-11 python3 -m grid run reports/examples/h200-vs-cpu/xeon-suite.yaml --mlx-device cpu \
    --measure-bandwidth --results /root/res --run-id xeon-cpu --no-report > /root/a.log 2>&1; echo "A rc=$?" >> /root/a.log; pack ) &
APID=$!

step B2: overhead against a lab cluster started once
M=twin:qwen2_vl@7b,twin:qwen2_vl@7b-q4,twin:qwen2_vl@2b,twin:qwen2_vl@2b-q4
if taskset -c 12-15 python3 -m grid head start --port 6390 --no-auth --num-cpus 0 --no-dashboard \
   && taskset -c 12-15 python3 -m grid node join 127.0.0.1:6390 --no-auth --name h200; then
  taskset -c 12-15 python3 bench/overhead.py --mlx-device "" --address 127.0.0.1:6390 --models $M --rounds 2 \
    --max-tokens 128 --trials 3 --out /root/bench/overhead-lab > /root/b2.log 2>&1; echo "B2 rc=$?" >> /root/b2.log
  python3 -m grid node leave h200 || true
  python3 -m grid head stop 2>/dev/null || true
else
  echo "B2: head/node start failed" | tee -a /root/b2.log
fi
pack

step waiting for A
wait $APID
step done
pack
ls -la $OUT /root/bench
touch $OUT/DONE
