"""The reference driver for the official TimeStarMamba cuts and scales the ETTh rows as
TSLib's Dataset_ETT_hour does (the official code itself is not needed for these)."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def driver():
    spec = importlib.util.spec_from_file_location(
        "official_timestarmamba", ROOT / "benchmarks" / "official_timestarmamba.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_blocks_start_a_lookback_early_and_give_the_protocol_window_counts(driver):
    month = 30 * 24
    assert driver.split_rows("train", 96) == (0, 12 * month)
    assert driver.split_rows("val", 96) == (12 * month - 96, 16 * month)
    start, stop = driver.split_rows("test", 96)
    assert (start, stop) == (16 * month - 96, 20 * month)
    assert (stop - start) - 96 - 96 + 1 == 2785  # the test windows at horizon 96


def test_blocks_are_scaled_with_the_training_rows_only(driver):
    month = 30 * 24
    rng = np.random.default_rng(0)
    values = rng.normal(size=(20 * month, 2))
    values[12 * month:] += 100.0  # later rows must not move the scaler
    frame = pd.DataFrame({"date": pd.date_range("2016-07-01", periods=20 * month, freq="h"),
                          "a": values[:, 0], "OT": values[:, 1]})
    train, _ = driver.scaled_block(frame, "train", 96)
    np.testing.assert_allclose(train.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train.std(0), 1.0)
    test, dates = driver.scaled_block(frame, "test", 96)
    assert len(test) == len(dates) == 4 * month + 96
    assert test.mean() > 50
