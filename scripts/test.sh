#!/usr/bin/env bash
# Sets up everything the tests need and runs them: a project venv with the package and its dev extras,
# and the Pulumi CLI for the real-engine tests (from PATH, else built once from Pulumi's Go modules by
# tools/pulumi/build.sh into a cache outside the clone; the first build takes several minutes).
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"

if ! command -v pulumi >/dev/null 2>&1; then
    if command -v go >/dev/null 2>&1; then
        echo "test.sh: the Pulumi CLI for the real-engine tests (tools/pulumi/build.sh)..." >&2
        if bin="$(bash tools/pulumi/build.sh)"; then
            PATH="$bin:$PATH"
            export PATH
            echo "test.sh: $(pulumi version) at $bin" >&2
        fi
    else
        echo "test.sh: no Pulumi CLI and no Go to build it: the real-engine tests will be skipped" >&2
    fi
fi

exec .venv/bin/python -m pytest "$@"
