"""Forecaster behaviour beyond sktime's suite: horizons, indices, update, windows, seeds,
calendar features, exogenous data and persistence."""

import copy
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skmamba.estimators
from skmamba.estimators import MixMambaForecaster, SMambaForecaster
from skmamba.estimators._calendar import calendar_features

FORECASTERS = list(skmamba.estimators.MODELS.values())
REPO = Path(__file__).resolve().parents[2]


# The windows these tests were written for (sktime's conformance sets use shorter
# ones, for its panels of 10 time points).
WINDOWS = {"seq_len": 8, "pred_len": 5}


def tiny(cls, **overrides):
    return cls(**{**cls.get_test_params()[0], **WINDOWS, **overrides})


@pytest.fixture(params=FORECASTERS, ids=lambda c: c.__name__)
def cls(request):
    return request.param


class ExogSMamba(SMambaForecaster):
    """S-Mamba, which uses X, named for the base class's exogenous path it exercises."""


# ---------------------------------------------------------------- horizons and indices
def test_fh_subsets_are_rows_of_the_full_forecast(cls, hourly_small):
    y = hourly_small.iloc[:80]
    f = tiny(cls, random_state=3).fit(y)
    full = f.predict(fh=range(1, f.pred_len + 1))
    part = f.predict(fh=[2, f.pred_len])
    pd.testing.assert_frame_equal(part, full.iloc[[1, f.pred_len - 1]], check_freq=False)
    absolute = pd.DatetimeIndex([y.index[-1] + pd.Timedelta(hours=3)], freq="h")
    pd.testing.assert_frame_equal(f.predict(fh=absolute), full.iloc[[2]], check_freq=False)


def test_pred_len_from_fh(cls):
    y = pd.Series(np.sin(np.arange(60) / 3.0))
    f = tiny(cls, pred_len=None).fit(y, fh=[1, 3])
    assert f.pred_len_ == 3
    assert f.network_(__import__("torch").zeros(2, f.seq_len, 1))[0].shape == (2, 3, 1)


@pytest.mark.parametrize("kind", ["range", "int_offset", "datetime", "period", "numpy"])
def test_index_types_and_columns_preserved(cls, kind):
    n = 60
    values = np.column_stack([np.sin(np.arange(n) / 3.0), np.cos(np.arange(n) / 5.0)])
    index = {
        "range": pd.RangeIndex(n),
        "int_offset": pd.Index(np.arange(100, 100 + n)),
        "datetime": pd.date_range("2020-01-01", periods=n, freq="D"),
        "period": pd.period_range("2000-01", periods=n, freq="M"),
        "numpy": None,
    }[kind]
    y = values if index is None else pd.DataFrame(values, index=index, columns=["p", "q"])
    f = tiny(cls).fit(y, fh=[1, 2, 3])
    pred = f.predict()
    assert f.n_mark_ == (4 if kind in ("datetime", "period") else 0)
    if index is None:
        assert isinstance(pred, np.ndarray) and pred.shape == (3, 2)
        return
    assert list(pred.columns) == ["p", "q"]
    step = index[1] - index[0]
    assert list(pred.index) == [index[-1] + k * step for k in (1, 2, 3)]
    if kind in ("datetime", "period"):
        assert type(pred.index) is type(index)
        assert pred.index.freqstr == index.freqstr
    else:
        assert pd.api.types.is_integer_dtype(pred.index)


def test_univariate_series_keeps_name(cls, y_range):
    pred = tiny(cls).fit(y_range, fh=[1, 2]).predict()
    assert isinstance(pred, pd.Series) and pred.name == "y"


# ---------------------------------------------------------------- update and predict_windows
def test_predict_windows_matches_update_predict(cls, hourly_small):
    f = tiny(cls, random_state=0).fit(hourly_small.iloc[:100])
    L, H = f.seq_len, f.pred_len_
    y = hourly_small.iloc[:140]
    windows = f.predict_windows(y)
    assert windows.shape == (len(y) - L - H + 1, H, y.shape[1])
    for i in (0, 37, 100 - L, len(y) - L - H):
        g = copy.deepcopy(f)
        g.update(y.iloc[: i + L], update_params=False)
        pred = g.predict(fh=range(1, H + 1))
        np.testing.assert_allclose(windows[i], pred.to_numpy(), rtol=1e-5, atol=1e-5)
        # The index of window i's forecast is rows [i + L, i + L + H) of y.
        assert list(pred.index) == list(y.index[i + L: i + L + H])


def test_update_without_params_only_moves_context(cls, hourly_small):
    f = tiny(cls, random_state=0).fit(hourly_small.iloc[:100], fh=[1])
    before = copy.deepcopy(f.network_.state_dict())
    f.update(hourly_small.iloc[100:130], update_params=False)
    after = f.network_.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert f.cutoff[0] == hourly_small.index[129]
    expected = f.predict_windows(hourly_small.iloc[130 - f.seq_len: 130 + f.pred_len_])[0]
    np.testing.assert_allclose(f.predict().to_numpy(), expected[:1], rtol=1e-5, atol=1e-5)


def test_update_with_params_fine_tunes(cls, hourly_small):
    f = tiny(cls, random_state=0).fit(hourly_small.iloc[:100], fh=[1])
    g = copy.deepcopy(f)
    before = copy.deepcopy(f.network_.state_dict())
    f.update(hourly_small.iloc[100:130], update_params=True)
    after = f.network_.state_dict()
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    assert np.isfinite(f.predict().to_numpy()).all()
    # Fine-tuning is seeded too.
    g.update(hourly_small.iloc[100:130], update_params=True)
    assert np.array_equal(f.predict().to_numpy(), g.predict().to_numpy())
    # history_ and the scaler come from fit and stay put.
    assert len(f.history_) == f.n_epochs_
    np.testing.assert_array_equal(f.scale_mean_, g.scale_mean_)


def test_context_is_the_fitted_y_plus_updates(hourly_small):
    f = tiny(SMambaForecaster).fit(hourly_small.iloc[:60], fh=[1])
    pd.testing.assert_frame_equal(f._y_context[0].frame(), hourly_small.iloc[:60])
    f.update(hourly_small.iloc[60:70], update_params=False)
    pd.testing.assert_frame_equal(f._y_context[0].frame(), hourly_small.iloc[:70],
                                  check_freq=False)


# ---------------------------------------------------------------- determinism
def _fit_predict(cls, seed, y):
    f = tiny(cls, random_state=seed, max_epochs=2, batch_size=4)
    return f.fit(y, fh=[1, 2, 3]).predict().to_numpy()


def test_same_seed_identical_different_seed_differs(cls, hourly_small):
    y = hourly_small.iloc[:60]
    a, b, c = (_fit_predict(cls, s, y) for s in (7, 7, 8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seed_does_not_touch_global_torch_rng(hourly_small):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny(SMambaForecaster, random_state=0).fit(hourly_small.iloc[:60], fh=[1])
    assert torch.equal(torch.rand(3), expected)


def test_subprocess_fit_gives_same_bytes(cls, hourly_frame, tmp_path):
    y = hourly_frame.iloc[:60]
    here = _fit_predict(cls, 11, y)
    code = f"""
import sys, warnings
warnings.simplefilter("ignore")
import torch
torch.set_num_threads(1)
sys.path.insert(0, {str(REPO / "tests" / "estimators")!r})
import pandas as pd
from test_behaviour import _fit_predict
import skmamba.estimators as E
y = pd.read_pickle(sys.argv[1])
sys.stdout.write(_fit_predict(getattr(E, {cls.__name__!r}), 11, y).tobytes().hex())
"""
    path = tmp_path / "y.pkl"
    y.to_pickle(path)
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.stdout == here.tobytes().hex()


# ---------------------------------------------------------------- calendar features
def test_calendar_features_values():
    idx = pd.DatetimeIndex(["2016-07-01 00:00", "2016-07-04 23:00", "2016-12-31 12:00"])
    feats = calendar_features(idx)
    assert feats.shape == (3, 4) and feats.dtype == np.float32
    assert np.all(feats >= -0.5) and np.all(feats <= 0.5)
    np.testing.assert_allclose(feats[:, 0], [-0.5, 0.5, 12 / 23 - 0.5], atol=1e-6)  # hour
    np.testing.assert_allclose(feats[:, 1], [4 / 6 - 0.5, -0.5, 5 / 6 - 0.5], atol=1e-6)
    np.testing.assert_allclose(feats[:, 2], [-0.5, 3 / 30 - 0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(feats[:, 3], [182 / 365 - 0.5, 185 / 365 - 0.5, 365 / 365 - 0.5],
                               atol=1e-6)
    periods = pd.period_range("2016-07-01 00:00", periods=3, freq="h")
    np.testing.assert_array_equal(calendar_features(periods),
                                  calendar_features(periods.to_timestamp()))


def test_calendar_features_reach_the_network(hourly_small):
    """Same values on different dates forecast differently; on a RangeIndex they cannot."""
    y = hourly_small.iloc[:60]
    shifted = y.set_axis(y.index + pd.Timedelta(hours=7))
    shifted.index.freq = "h"
    a = tiny(SMambaForecaster).fit(y, fh=[1]).predict().to_numpy()
    b = tiny(SMambaForecaster).fit(shifted, fh=[1]).predict().to_numpy()
    assert not np.allclose(a, b)
    f = tiny(SMambaForecaster).fit(y.reset_index(drop=True), fh=[1])
    assert f.n_mark_ == 0


# ---------------------------------------------------------------- scaling, history, verbose
def test_scaler_uses_training_rows_only(hourly_small):
    y = hourly_small.iloc[:80]
    f = tiny(SMambaForecaster, validation_size=20, patience=None, max_epochs=2).fit(y, fh=[1])
    train = y.iloc[:60].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(f.scale_mean_, train.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(f.scale_std_, train.std(axis=0), rtol=1e-12)
    assert [h["epoch"] for h in f.history_] == [1, 2]
    assert all(h["val_loss"] is not None for h in f.history_)
    assert f.history_[1]["lr"] == pytest.approx(f.history_[0]["lr"] * f.lr_decay)


def test_early_stopping_fields(hourly_small):
    f = tiny(SMambaForecaster, validation_size=10, patience=1, max_epochs=30, lr=3e-2,
             random_state=0).fit(hourly_small.iloc[:120], fh=[1])
    assert f.n_epochs_ == len(f.history_) < 30
    best = min(range(f.n_epochs_), key=lambda i: f.history_[i]["val_loss"]) + 1
    assert f.best_epoch_ == best


def test_verbose_prints_epochs(capsys, hourly_small):
    tiny(SMambaForecaster, verbose=2, max_epochs=2).fit(hourly_small.iloc[:60], fh=[1])
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "train_loss" in out


def test_get_fitted_params(cls, y_range):
    params = tiny(cls).fit(y_range, fh=[1]).get_fitted_params()
    for key in ("network", "history", "n_epochs", "scale_mean", "pred_len", "seed"):
        assert key in params


# ---------------------------------------------------------------- exogenous path of the base
def test_exogenous_forecaster_uses_X(hourly_small):
    y, X = hourly_small[["OT"]], hourly_small[["HUFL", "MUFL"]]
    f = tiny(ExogSMamba, random_state=0).fit(y.iloc[:100], X=X.iloc[:100], fh=[1, 2])
    assert f.n_exog_ == 2 and list(f.exog_columns_) == ["HUFL", "MUFL"]
    pred = f.predict(X=X.iloc[100:102])
    plain = tiny(ExogSMamba, random_state=0).fit(y.iloc[:100], fh=[1, 2])
    assert plain.n_exog_ == 0
    assert not np.allclose(pred.to_numpy(), plain.predict().to_numpy())
    windows = f.predict_windows(y.iloc[:120], X=X.iloc[:120])
    g = copy.deepcopy(f)
    g.update(y.iloc[:60], X=X.iloc[:60], update_params=False)
    np.testing.assert_allclose(windows[60 - f.seq_len], g.predict(fh=range(1, 6)).to_numpy(),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="needs X"):
        f.predict_windows(y.iloc[:120])
    with pytest.raises(ValueError, match="columns"):
        copy.deepcopy(f).update(y.iloc[100:110], X=X.iloc[100:110, ::-1])
    f.update(y.iloc[100:110], X=X.iloc[100:110], update_params=True)
    assert np.isfinite(f.predict(X=X.iloc[110:112]).to_numpy()).all()


def test_ignored_X_may_hold_text_but_not_nan(y_range):
    X = pd.DataFrame({"label": ["a"] * len(y_range), "v": 1.0}, index=y_range.index)
    f = tiny(MixMambaForecaster).fit(y_range, X=X, fh=[1])
    assert f.n_exog_ == 0
    X.iloc[4, 1] = np.nan
    with pytest.raises(ValueError, match="'v'"):
        f.fit(y_range, X=X, fh=[1])


# ---------------------------------------------------------------- persistence
def test_pickle_and_save_load_roundtrip(cls, tmp_path, hourly_small):
    from sktime.base import load

    f = tiny(cls, random_state=0).fit(hourly_small.iloc[:60], fh=[1, 2, 3])
    expected = f.predict()
    clone = pickle.loads(pickle.dumps(f))
    pd.testing.assert_frame_equal(clone.predict(), expected)
    f.save(tmp_path / "model")
    loaded = load(tmp_path / "model.zip")
    pd.testing.assert_frame_equal(loaded.predict(), expected)
    assert next(loaded.network_.parameters()).device.type == "cpu"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_forecaster_predicts_on_cpu_after_loading(hourly_small):
    f = tiny(SMambaForecaster).fit(hourly_small.iloc[:60], fh=[1])
    expected = f.predict()
    f.device = "cuda"  # as if fitted on a GPU machine and unpickled here
    with pytest.warns(RuntimeWarning, match="Falling back to the CPU"):
        pd.testing.assert_frame_equal(f.predict(), expected)


# ---------------------------------------------------------------- scikit-learn
def test_sklearn_clone_and_grid_search(y_range):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
    from sktime.forecasting.base import ForecastingHorizon

    est = tiny(SMambaForecaster)
    assert clone(est).get_params() == est.get_params()

    def neg_mse(forecaster, y_test, _=None):
        pred = forecaster.predict(ForecastingHorizon(y_test.index, is_relative=False))
        return -float(((pred - y_test) ** 2).mean())

    search = GridSearchCV(est, {"lr": [1e-3, 1e-2]}, scoring=neg_mse, error_score="raise",
                          cv=TimeSeriesSplit(n_splits=2, test_size=est.pred_len))
    search.fit(y_range)
    assert search.best_params_["lr"] in (1e-3, 1e-2)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
