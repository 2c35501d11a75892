#!/usr/bin/env bash
# Seventh H200 plan (2026-12-08), issues 16 and 15, one background session (setsid, polled), packed after every step:
#  1. P5 per-cell dispatch, warm, on the GPU, 4 prompts a model: sentinel readings spaced (auto) against one after
#     every cell (0), interleaved auto, 0, 0, auto (bench/dispatch.py --sentinel-gaps).
#  2. P3 on a real Ray cluster of 8 CPU nodes (2 cores each, MLX forced to the CPU), spares auto, 1, 1, auto.
#  3. P2 against a lab cluster started once (grid head start + grid node join; grid run --address), real-size twins,
#     3 prompts a model, 256 tokens, grid and the plain loop interleaved (bench/overhead.py --address).
# Needs /root/site: mlx 0.32.4 + mlx-cuda-13, mlx-vlm 0.7.10, mlx-lm 0.32.2, ray 2.60.0 (jars, rllib, serve, tune and
# train left out) and the jsonschema family, unpacked here and carried as one xz tar split in two ~52 MB chunks
# (.devwheels/1, .devwheels/2; the tree is ~9 MB, so each call stays under 64 MiB). Writes /root/out/h200.tar.gz
# and touches /root/out/DONE at the end.
#
#   setsid nohup bash bench/h200_round7.sh > /root/session.log 2>&1 &
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
nproc; uptime; git log --oneline -1 2>/dev/null || true

step "1: P5 dispatch, warm, GPU, 4 prompts a model, sentinel gaps auto / 0 / 0 / auto"
timeout 240 python3 bench/dispatch.py --prompts 4 --sentinel-gaps auto,0,0,auto --out /root/bench/p5
pack

step "2: P3, 8 CPU nodes, spares auto / 1 / 1 / auto"
timeout 420 python3 bench/scaling.py --nodes 8 --cpus-per-node 2 --spares "${P3_SPARES:-auto,1,1,auto}" --out /root/bench/p3
pack

step "3: P2 against a lab cluster (--address), real-size twins, 3 prompts, 256 tokens"
if python3 -m grid head start --port 6390 --no-auth --num-cpus 0 --no-dashboard \
   && python3 -m grid node join 127.0.0.1:6390 --no-auth --name h200; then
  timeout 450 python3 bench/overhead.py --mlx-device "" --address 127.0.0.1:6390 --rounds 2 --max-tokens 256 \
    --trials 2 --prompts 3 --models twin:qwen2_vl@7b,twin:qwen2_vl@2b --out /root/bench/p2-lab
  python3 -m grid node leave h200 || true
  python3 -m grid head stop || true
else
  echo "head/node start failed"
fi
pack

step done
pack
touch $OUT/DONE
