#!/usr/bin/env bash
# Every test (ruff lint included, see tests/test_lint.py), after setting up the venv.
# Real-data tests read ../shared/data beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
