#!/usr/bin/env bash
# The README's main command: install into a fresh virtual environment, then run the main job
# (every skmamba forecaster against naive baselines on data shipped with sktime; offline).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# The "bench" extra brings matplotlib for the job's plot, and everything the scripts in
# benchmarks/ and examples/ import (mambapy, statsmodels).
.venv/bin/pip install -q -c constraints.txt -e ".[bench]"
export OMP_NUM_THREADS=1
.venv/bin/python -m skmamba --out outputs
