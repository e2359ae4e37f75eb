#!/usr/bin/env bash
# Issue 15's GPU check (scripts/bench_gpu.py) on a lent GPU machine, in two steps:
#
#   here, once:  bash scripts/device_check.sh prepare
#   there:       bash scripts/device_check.sh run      (the device tool's run, carry: .whl .device-data)
#
# The lent machine's python3 (3.12) already holds torch with CUDA, numpy, scipy, scikit-image,
# tifffile and safetensors, and reaches no package index: phenosort's other needs travel as
# wheels in .whl (about 29 MB), and PanNuke (the train part) as .device-data. Both folders
# are ignored by git (.git/info/exclude). Results: $OUT/gpu.json and $OUT/gpu.log.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
    for path in /.whl/ /.device-data/; do
        grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >>.git/info/exclude
    done
    pin() { grep -E "^$1==" constraints.txt | head -1; }
    # the versions CI installs (constraints.txt), and dask's and distributed's own needs
    # that the lent machine lacks
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
        "$(pin dask)" "$(pin distributed)" "$(pin imagecodecs)" \
        partd locket tblib zict tornado
    rm -rf .device-data && mkdir -p .device-data
    cp -r ../shared/data/pannuke_breast25 .device-data/
    du -sh .whl .device-data
    ;;
run)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD/python" PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
    out="${OUT:-/tmp/gpu-check}"
    mkdir -p "$out"
    python3 scripts/bench_gpu.py --data-root .device-data --out "$out/gpu.json" "${@:2}" \
        2>&1 | tee "$out/gpu.log"
    ;;
*)
    echo "usage: $0 prepare | run [bench_gpu.py options]" >&2
    exit 2
    ;;
esac
