#!/usr/bin/env bash
# Pack what a lent GPU machine lacks (Python 3.12, x86_64, no network there) as one xz-compressed site folder, split
# into chunks that each fit one carried call beside the ~9 MB working tree (64 MiB a call). Wheels are unpacked here
# first and Ray's Java jars, RLlib, Serve, Tune and Train dropped: 167 MB of wheels became 104 MB (2026-12-08), and
# with duckdb (the CLI imports it) about 125 MB, three chunks.
#
#   bash bench/device_site.sh [CHUNKS]        (in the repo root; writes .devwheels/1..CHUNKS, ignored by git)
# then, back to back (the machine goes back ~30 s after a call):
#   run 1..N-1: carry [".devwheels/i"]  mkdir -p /root/dw && cp .devwheels/i/* /root/dw/
#   run N:      carry [".devwheels/N"]  cp .devwheels/N/* /root/dw/ && cat /root/dw/part.* | python3 -c "import sys,
#               lzma, tarfile; tarfile.open(fileobj=lzma.LZMAFile(sys.stdin.buffer), mode='r|').extractall('/root')"
#               && export PYTHONPATH=/root/site:$PWD && (setsid nohup bash bench/h200_round8.sh > /root/session.log
#               2>&1 < /dev/null &)
#   then calls that wait for /root/out/DONE (each up to 600 s: a call in flight keeps the machine).
set -euo pipefail
chunks=${1:-3}
top=$(git rev-parse --show-toplevel); cd "$top"
grep -qx '/.devwheels/' .git/info/exclude 2>/dev/null || echo '/.devwheels/' >> .git/info/exclude
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_35_x86_64 --platform manylinux_2_34_x86_64 --platform manylinux_2_31_x86_64 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$work/whl" \
  mlx==0.32.4 mlx-cuda-13==0.32.4 mlx-vlm==0.7.10 mlx-lm==0.32.2 ray==2.60.0 duckdb==2.0.1 \
  jsonschema jsonschema-specifications referencing rpds-py
python3 - "$work" <<'PY'
import glob, os, sys, zipfile
site = os.path.join(sys.argv[1], "site")
for w in sorted(glob.glob(os.path.join(sys.argv[1], "whl", "*.whl"))):
    z = zipfile.ZipFile(w)
    z.extractall(site)
    for info in z.infolist():  # zipfile drops run bits; Ray's gcs_server and raylet need them
        mode = (info.external_attr >> 16) & 0o777
        path = os.path.join(site, info.filename)
        if mode and os.path.isfile(path):
            os.chmod(path, mode)
PY
rm -rf "$work"/site/ray/{jars,rllib,serve,tune,train}
find "$work/site" -name __pycache__ -type d -prune -exec rm -rf {} +
tar cf - -C "$work" site | xz -9e -T2 > "$work/site.tar.xz"
rm -rf .devwheels && mkdir -p .devwheels
split -n "$chunks" -d -a 1 "$work/site.tar.xz" "$work/part."
i=0; for p in "$work"/part.*; do i=$((i+1)); mkdir -p ".devwheels/$i"; mv "$p" ".devwheels/$i/"; done
ls -la .devwheels/*/
