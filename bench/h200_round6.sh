#!/usr/bin/env bash
# Sixth H200 plan (2026-12-07), issue 16, one background session (setsid, polled), packed after every step:
#  1. P3 on a real Ray cluster of 8 CPU nodes (2 cores each, MLX forced to the CPU): spares sized per group (auto)
#     against one fixed spare, interleaved auto, 1, 1, auto in one lease (bench/scaling.py --spares).
#  2. P5 per-cell dispatch, warm (bench/dispatch.py), on the GPU.
#  3. P2 against a lab cluster started once (grid head start + grid node join; grid run --address), real-size twins
#     with 256 generated tokens, grid and the plain loop interleaved (bench/overhead.py --address).
# Needs wheels in /root/site (../shared/tools/device-wheels; steps 1-2 need only mlx-cpu and ray, step 3 mlx-cuda-13).
# Writes /root/out/h200.tar.gz and
# touches /root/out/DONE at the end.
#
#   setsid nohup bash bench/h200_round6.sh > /root/session.log 2>&1 &
# Carrying the wheels (2026-12-07): the working tree is ~10 MB, so a carried chunk must stay under ~50 MB (the
# device-wheels tool's 60 MB chunks were refused as over 64 MiB). For steps 1-2 only: mlx, mlx-cpu, mlx-vlm, mlx-lm,
# ray and the jsonschema family (91 MB: two 46 MB chunks). Make the calls back to back: the machine goes back ~30 s
# after a call, and this session lost one between its two calls. bench/nvml_capture.py records NVML raw (issue 15).
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

step "1: P3, 8 CPU nodes, spares auto / 1 / 1 / auto"
timeout 480 python3 bench/scaling.py --nodes 8 --cpus-per-node 2 --spares "${P3_SPARES:-auto,1,1,auto}" --out /root/bench/p3
pack

step "2: P5 dispatch, warm (on the GPU where mlx-cuda came along, else on the CPU)"
timeout 200 python3 bench/dispatch.py --out /root/bench/p5
pack
if ! python3 -c "import mlx.core as mx, sys; sys.exit(0 if mx.default_device() == mx.gpu else 1)"; then
  step "no GPU backend (a CPU-only wheel set): P2 on the GPU skipped"; pack; touch $OUT/DONE; exit 0
fi

step "3: P2 against a lab cluster (--address), real-size twins, 256 tokens"
if python3 -m grid head start --port 6390 --no-auth --num-cpus 0 --no-dashboard \
   && python3 -m grid node join 127.0.0.1:6390 --no-auth --name h200; then
  timeout 560 python3 bench/overhead.py --mlx-device "" --address 127.0.0.1:6390 --rounds 2 --max-tokens 256 \
    --trials 3 --models twin:qwen2_vl@7b,twin:qwen2_vl@2b --out /root/bench/p2-lab
  python3 -m grid node leave h200 || true
  python3 -m grid head stop || true
else
  echo "head/node start failed"
fi
pack

step done
pack
touch $OUT/DONE
