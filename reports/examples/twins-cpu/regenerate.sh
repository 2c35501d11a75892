#!/usr/bin/env bash
# Regenerates this folder: the compatibility report of the `twins` and `failures` suites on this machine's CPU.
#   bash reports/examples/twins-cpu/regenerate.sh          (from the repo root, with grid installed)
# Offline (HF_HUB_OFFLINE=1): every model is a synthetic twin built on the fly into $GRID_CACHE.
set -euo pipefail
cd "$(dirname "$0")/../../.."
export HF_HUB_OFFLINE=1
grid="$(command -v grid || echo .venv/bin/grid)"  # the installed CLI, or the repo's virtual environment
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
"$grid" run twins --run-id twins-cpu --results "$results" --no-report
"$grid" run failures --run-id failures-cpu --results "$results" --no-report
"$grid" report twins-cpu failures-cpu --results "$results" --out reports/examples/twins-cpu
