#!/usr/bin/env bash
# Creates .venv with the training pipeline's requirements on first use (the Python tests and the service's
# recorded-events loop test need it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet -r training/requirements.txt
fi
