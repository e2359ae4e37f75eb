#!/usr/bin/env bash
# Every test, after setting up the machine: the Fiji plugin's Maven build with its JUnit tests
# (against a real `phenosort serve`), then pytest (ruff lint included, see tests/test_lint.py).
# Real-data tests read ../shared/data beside the repository. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if command -v mvn >/dev/null; then
    mvn -ntp package -Dphenosort.python="$PWD/.venv/bin/python"
else
    echo "test.sh: Maven (mvn) not found: the Fiji plugin is not built or tested" >&2
    exit 1
fi
.venv/bin/python -m pytest "$@"
