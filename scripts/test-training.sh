#!/usr/bin/env bash
# Runs the Python suite (training/tests) in .venv, creating it on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
cd training
exec ../.venv/bin/python -m pytest -q --durations=5 tests
