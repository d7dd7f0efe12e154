"""Shared test set-up: one torch thread, small real and synthetic series."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

# Tests share a small machine; more threads only add contention.
torch.set_num_threads(1)

ETTH1 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ETTh1.csv"


def pytest_configure(config):
    # sktime 1.2 warns on every forecaster construction about a future config default.
    config.addinivalue_line(
        "filterwarnings", "ignore:The default of config ``remember_data``:FutureWarning"
    )


@pytest.fixture(scope="session")
def etth1_frame():
    """The first 300 hourly rows of ETTh1 (7 columns), read-only; skips if the file is absent."""
    if not ETTH1.is_file():
        pytest.skip(f"{ETTH1} not found")
    df = pd.read_csv(ETTH1, index_col="date", parse_dates=True, nrows=300)
    df.index = pd.DatetimeIndex(df.index, freq="h")
    return df


@pytest.fixture
def etth1_small(etth1_frame):
    """A fresh copy of the ETTh1 slice, safe to modify."""
    return etth1_frame.copy()


@pytest.fixture
def y_range():
    """A univariate float series of 120 points on a RangeIndex."""
    t = np.arange(120)
    rng = np.random.default_rng(0)
    return pd.Series(np.sin(t / 5.0) + 0.1 * rng.standard_normal(120), name="y")
