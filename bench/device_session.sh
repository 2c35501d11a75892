# Sourced by the background plans for the lent GPU box (bench/h200_round7.sh and later): the environment over the
# packages unpacked in /root/site, `ray` and `grid` commands for PYTHONPATH-only installs, `step` (a timestamped
# header) and `pack` (/root/bench and the session log into $OUT/h200.tar.gz, atomically), then the machine's header.
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
