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
source bench/device_session.sh
python3 -c "import duckdb, mlx.core as mx, mlx_vlm, ray; print(mx.default_device(), ray.__version__)" || exit 1

step "1: P2 against a lab cluster (--address), real-size twins, 3 prompts, 256 tokens"
p2_lab 560
pack

step "2: P5 dispatch, warm, GPU, 4 prompts a model, sentinel gaps auto / 0 / 0 / auto"
timeout 420 python3 bench/dispatch.py --prompts 4 --sentinel-gaps auto,0,0,auto --out /root/bench/p5
pack

step done
pack
touch $OUT/DONE
