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
source bench/device_session.sh

step "1: P5 dispatch, warm, GPU, 4 prompts a model, sentinel gaps auto / 0 / 0 / auto"
timeout 240 python3 bench/dispatch.py --prompts 4 --sentinel-gaps auto,0,0,auto --out /root/bench/p5
pack

step "2: P3, 8 CPU nodes, spares auto / 1 / 1 / auto"
timeout 420 python3 bench/scaling.py --nodes 8 --cpus-per-node 2 --spares "${P3_SPARES:-auto,1,1,auto}" --out /root/bench/p3
pack

step "3: P2 against a lab cluster (--address), real-size twins, 3 prompts, 256 tokens"
p2_lab 450
pack

step done
pack
touch $OUT/DONE
