#!/usr/bin/env bash
# System packages grid's tests need on Linux: g++ (MLX's CPU backend compiles kernels on first use) and Chromium (the
# HTML report is tested in a real headless browser). On macOS there is nothing to install: Metal needs no compiler.
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0
missing=()
command -v g++ >/dev/null || missing+=(g++)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "grid: please install ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
fi
SUDO=$([ "$(id -u)" -eq 0 ] && echo || echo sudo)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
