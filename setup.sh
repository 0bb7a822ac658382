#!/usr/bin/env bash
# Set up (or refresh) .venv/ with lensmith and everything it needs. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

pip_install() {
    if ! .venv/bin/pip install --quiet --disable-pip-version-check "$@" >.venv/pip.log 2>&1; then
        grep -v "is ignored" .venv/pip.log | tail -40 >&2
        echo "setup.sh: pip install $* failed (full log: .venv/pip.log)" >&2
        exit 1
    fi
}
# torch is pinned here, not in the package metadata: this pair installs from this
# machine's package cache in about a minute; unpinned, pip fetches a newer multi-GB build.
pip_install "torch==2.14.1" "torchvision==0.29.1"
pip_install -e ".[all,dev]"
(cd / && "$OLDPWD/.venv/bin/python" -c "import lensmith.cli, lensmith.agent, lensmith.tools, lensmith.memory, lensmith.tui, lensmith.evals")
echo "lensmith is ready: .venv/bin/lensmith --help"
