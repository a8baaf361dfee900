#!/usr/bin/env bash
# Runs the Python suite (training/tests) in .venv, creating it on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet -r training/requirements.txt
fi
cd training
exec ../.venv/bin/python -m pytest -q --durations=5 tests
