#!/usr/bin/env bash
# Fifth H200 plan (2026-12-03), one foreground call: issue 12's leave-one-out error needs a real-size model ok on two
# classes of one backend family, and the 2B twin needs >400 s on 12 Xeon cores (round 4: still in its first cell at
# 420 s). SmolVLM-256M's dimensions (twin:smolvlm@256m, 0.26 B parameters) finish on every class:
#  1. the H200's GPU (class H200-141GB, backend cuda)
#  2. the same machine's CPU pinned to cores 0-11 (`--mlx-device cpu`, class Xeon-12c-128GB) with the bandwidth probe
# The 2-core EPYC rows come from this project's own box (reports/examples/h200-vs-cpu/README.md).
# Needs the wheels of ../shared/tools/device-wheels in /root/site (duckdb among them); writes $OUT/h200.tar.gz.
#
#   bash bench/h200_round5.sh      (in one call; about 4-6 minutes)
set -u
export PYTHONPATH=/root/site:$PWD HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1
export GRID_CACHE=/root/gridcache PATH=/root/bin:$PATH
OUT=${OUT:-/root/out}
S=reports/examples/h200-vs-cpu
mkdir -p $OUT /root/bin /root/bench /root/res
printf '#!/bin/sh\nexec python3 -m ray.scripts.scripts "$@"\n' > /root/bin/ray && chmod +x /root/bin/ray
step() { echo "=== $(date -u +%H:%M:%S) $*"; }
pack() { cp /root/*.log /root/bench/ 2>/dev/null; tar czf $OUT/h200.tar.gz -C /root res bench; }
trap pack EXIT

step machine
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
step "1: the GPU"
timeout 200 python3 -m grid run $S/small-suite.yaml --results /root/res --run-id h200-small --no-report \
  > /root/gpu.log 2>&1; echo "gpu rc=$?" | tee -a /root/gpu.log; tail -n 4 /root/gpu.log
pack
step "2: the CPU, cores 0-11"
timeout 300 taskset -c 0-11 python3 -m grid run $S/small-suite.yaml --mlx-device cpu --measure-bandwidth \
  --results /root/res --run-id xeon-cpu-small --no-report > /root/cpu.log 2>&1; echo "cpu rc=$?" | tee -a /root/cpu.log
tail -n 4 /root/cpu.log
step done
