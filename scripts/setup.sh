#!/usr/bin/env bash
# Set up a fresh machine: the Debian packages of the Fiji plugin build (scripts/apt-packages.txt,
# when run as root with apt-get; it waits while another apt-get or dpkg runs), then .venv with
# phenosort and its test tools. Idempotent: installs only what is missing, re-installs Python
# packages only when pyproject.toml or constraints.txt changed. torch is pinned by
# constraints.txt (CPU wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    missing=()
    for pkg in $(grep -v '^#' scripts/apt-packages.txt); do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}"
        # waits, with a message, while another apt-get or dpkg (e.g. unattended upgrades) runs
        bash scripts/apt-get-wait.sh update -qq
        DEBIAN_FRONTEND=noninteractive bash scripts/apt-get-wait.sh install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi
if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        # Debian's system Python ships venv separately
        rm -rf .venv
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            bash scripts/apt-get-wait.sh update -qq
            bash scripts/apt-get-wait.sh install -y -qq python3-venv python3-pip >/dev/null
        fi
        "$PYTHON" -m venv .venv
    fi
fi
stamp=.venv/.phenosort-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev,imagej]"
    echo "$want" > "$stamp"
fi
