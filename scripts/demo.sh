#!/usr/bin/env bash
# The main job on built-in demo data: set up, generate data, train, predict, report.
# Usage: scripts/demo.sh [OUTPUT_DIR]   (default demo-output/, must be new or empty)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-demo-output}
if [ -z "${1:-}" ] && [ -d "$out" ]; then rm -rf "$out"; fi  # the default folder is ours
.venv/bin/phenosort demo --out "$out"
