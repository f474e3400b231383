#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite. Services the tests need
# (PostgreSQL, Chromium) are started by the tests' own fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
