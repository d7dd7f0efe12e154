"""Shared by the benchmark tests: the scripts in ``benchmarks/`` are loaded from their files
(the folder is not a package)."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def load_benchmark():
    """``load_benchmark(name)``: the module ``benchmarks/<name>.py``, freshly executed."""

    def load(name):
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        saved = list(sys.path)  # some scripts put benchmarks/ and the root on sys.path
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path[:] = saved
        return module

    return load
