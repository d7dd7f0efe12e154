"""Shared test set-up: one torch thread, small synthetic series with the layout of real ones."""

import numpy as np
import pandas as pd
import pytest
import torch

# Tests share a small machine; more threads only add contention.
torch.set_num_threads(1)

ETT_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")


def ett_like(n_rows=300, seed=0):
    """A deterministic hourly frame laid out like the ETT files, with synthetic values.

    Six load series (the ETT column names HUFL ... LULL) with a daily cycle and its second
    harmonic, a weekly cycle, a slow random-walk drift, a few level shifts and heavy-tailed
    noise, and an oil temperature OT that follows the HUFL + MUFL load through a first-order
    lag plus its own (ambient) daily cycle. Values are rounded to three decimals as in ETT.
    The index is a ``DatetimeIndex`` named ``date`` with freq ``"h"`` from 2016-07-01.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    day, week = 2 * np.pi * t / 24, 2 * np.pi * t / (24 * 7)
    loads = []
    for _ in range(6):
        amp, phase = rng.uniform(0.8, 3.0), rng.uniform(0, 2 * np.pi)
        cycle = amp * (np.sin(day + phase) + 0.3 * np.sin(2 * day + 2 * phase)
                       + 0.3 * np.sin(week + phase))
        drift = np.cumsum(rng.normal(0.0, 0.03 * amp, n_rows))
        shifts = np.zeros(n_rows)
        for start in rng.integers(0, n_rows, size=max(1, n_rows // 400)):
            shifts[start:] += rng.normal(0.0, 0.7 * amp)
        noise = 0.15 * amp * rng.standard_t(4, n_rows)
        loads.append(rng.uniform(4.0, 12.0) + cycle + drift + shifts + noise)
    loads = np.column_stack(loads)
    drive = 0.6 * (loads[:, 0] + loads[:, 2]) + 2.0 * np.sin(day - 2.0)
    oil = np.empty(n_rows)
    oil[0] = drive[0]
    for i in range(1, n_rows):
        oil[i] = 0.92 * oil[i - 1] + 0.08 * drive[i]
    oil += 0.2 * rng.standard_normal(n_rows)
    values = np.round(np.column_stack([loads, oil]), 3)
    index = pd.date_range("2016-07-01", periods=n_rows, freq="h", name="date")
    return pd.DataFrame(values, index=index, columns=list(ETT_COLUMNS))


def pytest_configure(config):
    # sktime 1.2 warns on every forecaster construction about a future config default.
    config.addinivalue_line(
        "filterwarnings", "ignore:The default of config ``remember_data``:FutureWarning"
    )


@pytest.fixture(scope="session")
def hourly_frame():
    """300 rows x 7 columns of :func:`ett_like`, read-only (shared by the session)."""
    return ett_like(300)


@pytest.fixture
def hourly_small(hourly_frame):
    """A fresh copy of ``hourly_frame``, safe to modify."""
    return hourly_frame.copy()


@pytest.fixture(scope="session")
def hourly_long():
    """2,000 rows x 7 columns of :func:`ett_like` (12 weeks), read-only."""
    return ett_like(2000, seed=1)


@pytest.fixture
def y_range():
    """A univariate float series of 120 points on a RangeIndex."""
    t = np.arange(120)
    rng = np.random.default_rng(0)
    return pd.Series(np.sin(t / 5.0) + 0.1 * rng.standard_normal(120), name="y")
