#!/usr/bin/env bash
# Everything grid measures on the lent H200 machine, in one background session (the device tool's calls last at most
# 10 minutes; this runs under setsid and is polled). Needs the wheels from ../shared/tools/device-wheels unpacked into
# /root/site, plus duckdb, which they lack. Packs /root/{res,rep,bench} into /root/out/h200.tar.gz after each step and
# touches /root/out/DONE at the end.
#
#   setsid nohup bash bench/h200_session.sh > /root/session.log 2>&1 &
set -u
export PYTHONPATH=/root/site:$PWD HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1
export GRID_CACHE=/root/gridcache PATH=/root/bin:$PATH
OUT=/root/out
mkdir -p $OUT /root/bin /root/bench /root/res /root/rep
# Wheels unpacked with zipfile have no console scripts: give grid's node commands a `ray`.
printf '#!/bin/sh\nexec python3 -m ray.scripts.scripts "$@"\n' > /root/bin/ray && chmod +x /root/bin/ray
step() { echo "=== $(date -u +%H:%M:%S) $*"; }
# Everything so far in one archive, so whatever the session reaches can be fetched even if time runs out.
pack() { mkdir -p /root/res /root/rep /root/bench; cp /root/session.log /root/bench/ 2>/dev/null; tar czf $OUT/h200.tar.gz.tmp -C /root res rep bench && mv $OUT/h200.tar.gz.tmp $OUT/h200.tar.gz; }

step machine
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -m agent.hardware | tee /root/bench/hardware.json

step grid: head, one H200 node, the h200-vs-cpu suite
ADDR=""
# --no-dashboard: the device wheels are Ray's minimal install (no aiohttp & co. for the dashboard)
if python3 -m grid head start --port 6390 --no-auth --num-cpus 0 --no-dashboard \
   && python3 -m grid node join 127.0.0.1:6390 --no-auth --name h200; then
  ADDR="--address 127.0.0.1:6390"
  python3 -c "import json, ray; ray.init(address='127.0.0.1:6390', log_to_driver=False); print(json.dumps(
    [{k: n.get(k) for k in ('NodeID', 'Alive', 'Labels', 'Resources')} for n in ray.nodes()], indent=1))" \
    | tee /root/bench/nodes.json
else
  echo "head/node start failed: falling back to grid's embedded single-node Ray"
fi
python3 -m grid run h200-vs-cpu $ADDR --results /root/res --reports /root/rep --run-id h200
pack

# grid and raw mlx back to back on the same machine: the real-size twins with 128 generated tokens, then raw decoders
# of the same text dimensions decoding 128 tokens.
step grid: real-size twins, 128 tokens
python3 -m grid run bench/h200-decode.yaml $ADDR --results /root/res --reports /root/rep --run-id h200-decode
pack

step raw mlx decode, the reference
python3 bench/raw_decode.py --dims 7b --bits 16 --bits 4 --out /root/bench/raw-7b.json
pack
python3 bench/raw_decode.py --dims 1.5b --bits 16 --bits 4 --out /root/bench/raw-1.5b.json
pack

step leave the lab
python3 -m grid node leave h200 || true
python3 -m grid head stop 2>/dev/null || true

step done
pack
ls -la $OUT /root/bench
touch $OUT/DONE
