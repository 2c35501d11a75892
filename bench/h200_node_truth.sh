#!/usr/bin/env bash
# Issue 15 on the lent H200, one background session (the device tool's calls last at most 10 minutes; this runs under
# setsid and is polled). Needs the wheels from ../shared/tools/device-wheels unpacked into /root/site (as for
# bench/h200_session.sh); nvidia-ml-py (pynvml) is on that machine's image (../shared/notes/device-mlx-cuda.md).
# Packs /root/nt into /root/out/h200-node-truth.tar.gz after each step and touches /root/out/DONE at the end.
#
#   setsid nohup bash bench/h200_node_truth.sh > /root/nt-session.log 2>&1 &   (then poll: cp /root/out/h200-node-truth.tar.gz $OUT/)
set -u
export PYTHONPATH=/root/site:$PWD HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1
export GRID_CACHE=/root/gridcache
OUT=${OUT:-/root/out}
R=/root/nt
mkdir -p $OUT $R/res $R/rep
step() { echo "=== $(date -u +%H:%M:%S) $*"; }
pack() { cp /root/nt-session.log $R/ 2>/dev/null; tar czf $OUT/h200-node-truth.tar.gz.tmp -C /root nt && mv $OUT/h200-node-truth.tar.gz.tmp $OUT/h200-node-truth.tar.gz; }

step captures: real outputs for tests/fixtures/linux/h200/ and the probe
nvidia-smi --query-gpu=temperature.gpu,clocks.sm,clocks.mem,power.draw,clocks_throttle_reasons.active \
  --format=csv,noheader,nounits > $R/nvidia_smi_state.txt 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > $R/nvidia_smi.txt 2>&1
python3 -c "import pynvml; pynvml.nvmlInit(); h = pynvml.nvmlDeviceGetHandleByIndex(0); \
print('nvidia-ml-py', pynvml.nvmlSystemGetDriverVersion(), pynvml.nvmlDeviceGetTotalEnergyConsumption(h), 'mJ')" \
  > $R/pynvml.txt 2>&1
python3 -m agent.hardware > $R/hardware.json 2>&1
python3 -c "from agent import node_state, energy, blas; m, why = energy.open_meter('cuda'); \
print(node_state.read('cuda')); print(m and m.source, why, blas.choice())" > $R/node_state.txt 2>&1
pack

step sentinel cost on CUDA and NVML counter resolution
python3 bench/sentinel_cost.py --n 20 --poll-s 5 --out $R/sentinel_cuda.json > $R/sentinel_cuda.log 2>&1
python3 bench/sentinel_cost.py --n 10 --mlx-device cpu --poll-s 1 --out $R/sentinel_cpu.json > $R/sentinel_cpu.log 2>&1
pack

step NVML against a known load: 5 s of bf16 matmuls, energy window vs nvidia-smi power.draw
python3 - > $R/nvml_load.json 2>&1 <<'PY'
import json, subprocess, time, mlx.core as mx
from agent.energy import EnergyProbe
p = EnergyProbe("cuda"); idle = p.measure_idle(3.0)
a = mx.random.normal((8192, 8192)).astype(mx.bfloat16); mx.eval(a)
def load():
    end = time.perf_counter() + 5
    while time.perf_counter() < end:
        mx.eval(a @ a)
j, s = p.window(load)
draw = subprocess.run(["nvidia-smi", "--query-gpu=power.draw", "--format=csv,noheader,nounits"], capture_output=True, text=True).stdout
print(json.dumps({"idle_w": idle, "load_j": j, "load_s": s, "load_w": j / s, "smi_power_draw_after_w": draw.strip()}))
PY
pack

step grid run: real-size twins with energy, node state, sentinel in every row
python3 -m grid run bench/h200-decode.yaml --results $R/res --reports $R/rep --run-id h200-node-truth > $R/run.log 2>&1
python3 - > $R/energy_rows.txt 2>&1 <<'PY'
import glob, pyarrow.parquet as pq
cols = ["model", "status", "decode_tps", "generation_tokens", "energy_j", "avg_power_w", "energy_per_token_j",
        "idle_power_w", "energy_source", "energy_na_reason", "trial_energy_j", "sentinel_group_ms",
        "sentinel_before_ms", "sentinel_after_ms", "sentinel_drift", "drift_flag", "gpu_temp_c", "gpu_sm_clock_mhz",
        "gpu_power_w", "gpu_throttle_reasons", "blas"]
for f in sorted(glob.glob("/root/nt/res/**/*.parquet", recursive=True)):
    t = pq.read_table(f)
    for r in t.select([c for c in cols if c in t.column_names]).to_pylist():
        print(r)
PY
pack

step done
ls -la $OUT $R
touch $OUT/DONE
