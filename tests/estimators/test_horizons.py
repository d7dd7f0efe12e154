"""Any horizon without ceremony: default horizon and lookback, roll-out, fast rolling updates."""

import time

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline, load_longley
from sktime.forecasting.base import ForecastingHorizon
from sktime.forecasting.naive import NaiveForecaster

from skmamba.estimators import MODELS, MixMambaForecaster, SMambaForecaster
from skmamba.estimators._context import SeriesContext
from skmamba.estimators._windows import (
    MIN_WINDOWS,
    choose_windows,
    patch_len_for,
    seasonal_period,
)

FORECASTERS = list(MODELS.values())


# The windows these tests were written for (sktime's conformance sets use shorter
# ones, for its panels of 10 time points).
WINDOWS = {"seq_len": 8, "pred_len": 5}


def tiny(cls, **overrides):
    return cls(**{**cls.get_test_params()[0], **WINDOWS, **overrides})


# ---------------------------------------------------------------- the rules
@pytest.mark.parametrize("index, sp", [
    (pd.period_range("2000-01", periods=4, freq="M"), 12),
    (pd.period_range("2000Q1", periods=4, freq="Q"), 4),
    (pd.period_range("2000", periods=4, freq="Y"), 1),
    (pd.date_range("2024-01-01", periods=4, freq="h"), 24),
    (pd.date_range("2024-01-01", periods=4, freq="D"), 7),
    (pd.date_range("2024-01-01", periods=4, freq="B"), 5),
    (pd.date_range("2024-01-01", periods=4, freq="W"), 52),
    (pd.date_range("2024-01-01", periods=4, freq="MS"), 12),
    (pd.date_range("2024-01-01", periods=4, freq="15min"), 96),
    (pd.date_range("2024-01-01", periods=4, freq="2h"), 12),
    (pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]), 7),
    (pd.RangeIndex(4), 1),
])
def test_seasonal_period_of_the_index_frequency(index, sp):
    assert seasonal_period(index) == sp


def test_choose_windows_rules():
    # fh given: its largest step; lookback two horizons, here also two cycles.
    assert choose_windows("M", 120, 12, None, None, 24) == (48, 24)
    # No fh: one seasonal cycle; no cycle: 8 steps; capped at a quarter of the rows.
    assert choose_windows("M", 1000, 24, None, None, None) == (48, 24)
    assert choose_windows("M", 1000, 1, None, None, None) == (16, 8)
    assert choose_windows("M", 40, 24, None, None, None)[1] == 10
    # The lookback always leaves MIN_WINDOWS windows; explicit values are kept.
    L, H = choose_windows("M", 30, 12, None, None, 12)
    assert 30 - L - H + 1 == MIN_WINDOWS
    assert choose_windows("M", 30, 12, 5, 3, 12) == (5, 3)


def test_too_short_for_an_automatic_lookback_names_the_minimum():
    with pytest.raises(ValueError, match=r"at least pred_len \(2\) \+ 8 windows = 10 rows"):
        choose_windows("Model", 9, 1, None, None, 2)


def test_patch_length_follows_the_lookback():
    assert patch_len_for(96) == 16 and patch_len_for(36) == 6 and patch_len_for(3) == 1
    f = MixMambaForecaster(d_model=8, d_state=2, max_epochs=1, random_state=0)
    f.fit(load_airline().iloc[:60], fh=range(1, 7))
    assert f.seq_len_ == 24
    assert f.network_.embedding.patch_len == 4 and f.network_.embedding.stride == 2


# ---------------------------------------------------------------- the targets
@pytest.mark.parametrize("cls", FORECASTERS, ids=list(MODELS))
def test_fit_without_fh_and_any_horizon_on_airline(cls):
    y = load_airline()
    kwargs = {"max_epochs": 2, "random_state": 0}
    f = cls(**kwargs).fit(y)
    pred = f.predict(fh=[1, 2, 3])
    assert f.pred_len_ == 12 and f.seq_len_ == 24
    assert list(pred.index) == list(pd.period_range("1961-01", periods=3, freq="M"))
    g = cls(**kwargs).fit(y, fh=range(1, 13))
    long = g.predict(fh=range(1, 37))
    assert len(long) == 36 and np.isfinite(long.to_numpy()).all()
    assert str(long.index[-1]) == "1963-12"


def test_timestar_on_longley_with_X_and_roll_out():
    y, X = load_longley()
    f = MODELS["TimeStarMamba"](max_epochs=2, random_state=0).fit(y.iloc[:12], X=X.iloc[:12])
    assert np.isfinite(f.predict(fh=[1, 2, 3], X=X.iloc[12:15]).to_numpy()).all()
    g = MODELS["TimeStarMamba"](max_epochs=2, random_state=0)
    g.fit(y, X=X, fh=range(1, 13))
    assert (g.seq_len_, g.pred_len_) == (5, 4)  # 16 rows: capped horizon, 8 windows
    # Known future covariates: every forecast step needs its X row.
    future_index = pd.period_range("1963", periods=36, freq="Y")
    X_future = pd.DataFrame(np.tile(X.to_numpy()[-1:], (36, 1)), index=future_index,
                            columns=X.columns)
    pred = g.predict(fh=range(1, 37), X=X_future)
    assert len(pred) == 36 and np.isfinite(pred.to_numpy()).all()
    with pytest.raises(ValueError, match="needs X over the forecast horizon, the rows 1963 to 1998.*32 are missing, the first 1967"):
        g.predict(fh=range(1, 37), X=X_future.iloc[:4])


@pytest.mark.parametrize("cls", FORECASTERS, ids=list(MODELS))
def test_defaults_beat_seasonal_naive_on_airline(cls):
    y = load_airline()
    y_train, y_test = y.iloc[:120], y.iloc[120:]
    fh = range(1, 25)
    naive = NaiveForecaster(strategy="last", sp=12).fit(y_train).predict(fh=fh)
    pred = cls(random_state=0).fit(y_train, fh=fh).predict()
    mae = float(np.mean(np.abs(pred.to_numpy().ravel() - y_test.to_numpy())))
    naive_mae = float(np.mean(np.abs(naive.to_numpy() - y_test.to_numpy())))
    assert mae < naive_mae, f"{cls.__name__} MAE {mae:.1f} vs seasonal naive {naive_mae:.1f}"


# ---------------------------------------------------------------- roll-out semantics
def test_roll_out_feeds_the_forecast_back():
    y = load_airline()
    f = tiny(SMambaForecaster, pred_len=4).fit(y.iloc[:100])
    long = f.predict(fh=range(1, 9)).to_numpy().ravel()
    # The same as appending the first block as if observed and forecasting again.
    g = tiny(SMambaForecaster, pred_len=4).fit(y.iloc[:100])
    first = g.predict(fh=range(1, 5))
    g.update(first, update_params=False)
    second = g.predict(fh=range(1, 5)).to_numpy().ravel()
    np.testing.assert_allclose(long[:4], first.to_numpy().ravel(), rtol=0, atol=0)
    np.testing.assert_allclose(long[4:], second, rtol=1e-6)


@pytest.mark.parametrize("index", [
    pd.period_range("2000-01", periods=60, freq="M"),
    pd.date_range("2024-01-01", periods=60, freq="h"),
    pd.date_range("2024-01-31", periods=60, freq="ME"),
    pd.RangeIndex(60),
])
def test_forecast_index_matches_sktime(index):
    y = pd.Series(np.sin(np.arange(60) / 3.0), index=index)
    f = tiny(SMambaForecaster).fit(y, fh=[1, 2])
    for steps in ([1, 3, 7], [2, 3, 4], [5]):
        fh = ForecastingHorizon(steps)
        expected = fh.to_absolute_index(f.cutoff)
        got = f.predict(fh=fh).index
        assert got.equals(expected) and getattr(got, "freq", None) == getattr(
            expected, "freq", None
        )


# ---------------------------------------------------------------- rolling updates
def test_series_context_appends_without_copying_history():
    ctx = SeriesContext(pd.DataFrame({"y": np.arange(100.0)}))
    first = ctx._chunks()[0]
    for k in range(200):
        ctx.append(pd.DataFrame({"y": [100.0 + k]}, index=[100 + k]))
    assert ctx._chunks()[0] is first  # the fitted history was never copied
    assert len(ctx) == 300 and ctx.last_label == 299
    assert ctx.rows_ending_at(299, 3)["y"].tolist() == [297.0, 298.0, 299.0]
    assert ctx.rows_ending_at(150, 2)["y"].tolist() == [149.0, 150.0]
    # Rows that overlap the stored ones are merged (the newer values win).
    ctx.append(pd.DataFrame({"y": [-1.0]}, index=[10]))
    assert ctx.frame().loc[10, "y"] == -1.0 and len(ctx) == 300


def test_rolling_update_and_predict_equal_predict_windows(hourly_small):
    f = tiny(SMambaForecaster).fit(hourly_small.iloc[:100], fh=range(1, 6))
    windows = f.predict_windows(hourly_small.iloc[100 - f.seq_len_:160])
    for i, end in enumerate(range(100, 155)):
        if end > 100:
            f.update(hourly_small.iloc[end - 1:end], update_params=False)
        np.testing.assert_allclose(f.predict().to_numpy(), windows[i], rtol=1e-5, atol=1e-6)
