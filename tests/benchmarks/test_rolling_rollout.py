"""The rolling-cost and roll-out benchmarks run end to end on synthetic hourly data.

Tiny MAT networks on 700 synthetic rows (the ETTh1 borders scaled down), so neither test
needs the ETT files.
"""

import numpy as np
import pandas as pd
import pytest

TINY = ["n1=8", "n2=8", "n_heads=1", "batch_size=64"]


@pytest.fixture(scope="module")
def rolling(load_benchmark):
    return load_benchmark("rolling")


@pytest.fixture(scope="module")
def rollout(load_benchmark):
    return load_benchmark("rollout")


def test_rolling_smoke(rolling, tmp_path):
    out = tmp_path / "rolling.md"
    r = rolling.main([
        "--synthetic", "700", "--seq-len", "24", "--horizon", "12", "--short-rows", "100",
        "--raw-repeats", "5", "--pw-repeats", "1",
        "--naive-all-origins", "10", "--set", *TINY, "--out", str(out),
    ])
    # 700 rows: test block [560 - 24, 700), 140 - 12 + 1 = 129 windows, every 8th: 17.
    assert r["n_origins"] == 17 and r["n_windows"] == 129
    assert r["max_diff"] < 1e-4  # the loop's forecasts are predict_windows' every 8th
    assert r["hist_long"][0] == 560 and r["hist_short"][0] == 108
    for name, values in r["rec"].items():
        assert np.all(values[:10] > 0), name  # the 7-column naive: the first 10 origins
    parts = r["parts"]
    assert parts["network forward (torch)"] > 0
    assert parts["total update + predict"] >= parts["network forward (torch)"]
    text = out.read_text()
    assert "| (a) raw forward pass" in text and "Direct callees of sktime" in text
    per_origin = pd.read_csv(out.with_suffix(".csv"))
    assert len(per_origin) == 17 and (per_origin["long_ms"] > 0).all()


def test_rollout_smoke(rollout, tmp_path):
    out = tmp_path / "rollout.md"
    frame = rollout.main([
        "--synthetic", "700", "--seq-len", "24", "--base-horizon", "12", "--horizons", "24",
        "36", "--max-epochs", "1", "--set", *TINY, "--out", str(out),
    ])
    assert list(frame["horizon"]) == [12, 24, 36]
    # test block [560 - 24, 700): 140 - H + 1 windows, every 8th.
    assert list(frame["n_windows"]) == [len(range(0, 140 - h + 1, 8)) for h in (12, 24, 36)]
    base = frame.iloc[0]
    # At the trained horizon the roll-out loop is the model's own forecast.
    assert base["check_max_abs_diff"] < 1e-4
    assert base["direct_mse"] == pytest.approx(base["rolled_mse"], rel=1e-4)
    values = frame[["direct_mse", "direct_mae", "rolled_mse", "rolled_mae"]].to_numpy()
    assert np.isfinite(values).all() and (values > 0).all()
    assert "| MAT (max_epochs=1) | 36 |" in out.read_text()
    assert out.with_suffix(".csv").exists()

