#!/usr/bin/env bash
# The README's test command: install into a fresh virtual environment, then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e ".[test]"
export OMP_NUM_THREADS=1 TRITON_INTERPRET=1
# Two workers: the suite is CPU-bound single-threaded work and CI machines have two cores.
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 tests
