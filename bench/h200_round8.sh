#!/usr/bin/env bash
# Eighth plan for the lent GPU box (written 2026-12-08 after round 7), issue 16, one background session (setsid,
# polled), packed after every step. Round 7 measured P3 (BENCHMARKS.md); what it could not:
#  1. P2 against a lab cluster started once (grid head start --no-auth + grid node join; grid run --address; fixed
#     since: a driver with a token file lying around no longer hangs on a --no-auth head), real-size twins, 3 prompts
#     a model, 256 tokens, grid and the plain loop interleaved (bench/overhead.py --address).
#  2. P5 per-cell dispatch on the GPU, 4 prompts a model: sentinel readings spaced (auto) against one after every cell
#     (0), interleaved auto, 0, 0, auto. Every group whose spare is not ready pays a ~15 s child start there, so this
#     takes minutes: 420 s allowed.
# Needs /root/site from bench/device_site.sh (duckdb included: the CLI imports it). Writes /root/out/h200.tar.gz and
# touches /root/out/DONE at the end.
#
#   setsid nohup bash bench/h200_round8.sh > /root/session.log 2>&1 < /dev/null &
set -u
export PYTHONPATH=/root/site:$PWD HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1
export GRID_CACHE=/root/gridcache PATH=/root/bin:$PATH
OUT=/root/out
mkdir -p $OUT /root/bin /root/bench
printf '#!/bin/sh\nexec python3 -m ray.scripts.scripts "$@"\n' > /root/bin/ray && chmod +x /root/bin/ray
printf '#!/bin/sh\nexec python3 -m grid "$@"\n' > /root/bin/grid && chmod +x /root/bin/grid
step() { echo "=== $(date -u +%H:%M:%S) $*"; }
pack() { cp /root/session.log /root/bench/ 2>/dev/null; tar czf $OUT/h200.tar.gz.tmp -C /root bench && mv $OUT/h200.tar.gz.tmp $OUT/h200.tar.gz; }

step machine
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
nproc; uptime
python3 -c "import duckdb, mlx.core as mx, mlx_vlm, ray; print(mx.default_device(), ray.__version__)" || exit 1

step "1: P2 against a lab cluster (--address), real-size twins, 3 prompts, 256 tokens"
if python3 -m grid head start --port 6390 --no-auth --num-cpus 0 --no-dashboard \
   && python3 -m grid node join 127.0.0.1:6390 --no-auth --name h200; then
  timeout 560 python3 bench/overhead.py --mlx-device "" --address 127.0.0.1:6390 --rounds 2 --max-tokens 256 \
    --trials 2 --prompts 3 --models twin:qwen2_vl@7b,twin:qwen2_vl@2b --out /root/bench/p2-lab
  python3 -m grid node leave h200 || true
  python3 -m grid head stop || true
else
  echo "head/node start failed"
fi
pack

step "2: P5 dispatch, warm, GPU, 4 prompts a model, sentinel gaps auto / 0 / 0 / auto"
timeout 420 python3 bench/dispatch.py --prompts 4 --sentinel-gaps auto,0,0,auto --out /root/bench/p5
pack

step done
pack
touch $OUT/DONE
