#!/usr/bin/env bash
# System packages grid's tests need on Linux: g++ (MLX's CPU backend compiles kernels on first use) and Chromium (the
# HTML report is tested in a real headless browser) and OpenBLAS. On macOS there is nothing to install: Metal needs no compiler.
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0
missing=()
command -v g++ >/dev/null || missing+=(g++)
command -v chromium >/dev/null || missing+=(chromium)
# OpenBLAS: CPU nodes preload it for MLX's f32 matmuls (agent/blas.py); tests check it against numpy
ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas*.so* >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "grid: please install ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
fi
SUDO=$([ "$(id -u)" -eq 0 ] && echo || echo sudo)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
