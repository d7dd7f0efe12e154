"""The reference driver for the official TimeStarMamba cuts and scales the ETTh rows as
ltsf.py and TSLib's Dataset_ETT_hour do (the official code itself is not needed for these)."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def driver(load_benchmark):
    return load_benchmark("official_timestarmamba")


def test_blocks_start_a_lookback_early_and_give_the_protocol_window_counts(driver):
    month = 30 * 24
    frame = _frame(20 * month)
    blocks = driver.protocol_blocks(frame, 96)
    dates = frame.index
    assert blocks["train"][1][0] == dates[0] and blocks["train"][1][-1] == dates[12 * month - 1]
    assert blocks["val"][1][0] == dates[12 * month - 96]
    assert blocks["val"][1][-1] == dates[16 * month - 1]
    assert blocks["test"][1][0] == dates[16 * month - 96]
    assert blocks["test"][1][-1] == dates[20 * month - 1]
    assert len(blocks["test"][0]) - 96 - 96 + 1 == 2785  # the test windows at horizon 96


def test_blocks_are_scaled_with_the_training_rows_only(driver):
    month = 30 * 24
    frame = _frame(20 * month)
    frame.iloc[12 * month:] += 100.0  # later rows must not move the scaler
    blocks = driver.protocol_blocks(frame, 96)
    train = blocks["train"][0]
    np.testing.assert_allclose(train.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train.std(0), 1.0)
    test, dates = blocks["test"]
    assert len(test) == len(dates) == 4 * month + 96
    assert test.mean() > 50


def _frame(n_rows):
    """Shaped as load_ett returns an ETT file: hourly DatetimeIndex named date."""
    values = np.random.default_rng(0).normal(size=(n_rows, 2))
    index = pd.date_range("2016-07-01", periods=n_rows, freq="h", name="date")
    return pd.DataFrame(values, index=index, columns=["a", "OT"])
