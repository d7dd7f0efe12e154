#!/usr/bin/env bash
# Build the documentation with warnings as errors; the gallery examples run during the build.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e ".[docs]"
export OMP_NUM_THREADS=1 MPLBACKEND=agg
.venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
echo "Documentation: docs/_build/html/index.html"
