#!/usr/bin/env bash
# The README's test command: install into a fresh virtual environment, then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e ".[test,dask,ray]"
export OMP_NUM_THREADS=1 TRITON_INTERPRET=1
# Two workers: the suite is CPU-bound single-threaded work and CI machines have two cores.
# loadgroup keeps each xdist_group on one worker (tests/test_backends.py: one cluster at a time).
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup tests
