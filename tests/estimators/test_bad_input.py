"""Bad input gives clear errors, leaves the forecaster usable; awkward good input works."""

import re

import numpy as np
import pandas as pd
import pytest
import torch

import skmamba.estimators
from skmamba import TrainingDivergedError

FORECASTERS = list(skmamba.estimators.MODELS.values())


# The windows these tests were written for (sktime's conformance sets use shorter
# ones, for its panels of 10 time points).
WINDOWS = {"seq_len": 8, "pred_len": 5}


def tiny(cls, **overrides):
    """The forecaster's first (fast) test configuration, with overrides."""
    return cls(**{**cls.get_test_params()[0], **WINDOWS, **overrides})


def hourly(n, columns=("a", "b"), start="2024-01-01", seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    values = np.sin(t / 4.0 + np.arange(len(columns))) + 0.1 * rng.standard_normal((n, len(columns)))
    return pd.DataFrame(values, columns=list(columns),
                        index=pd.date_range(start, periods=n, freq="h"))


def assert_recovers(f):
    """After an error the same object fits good data and forecasts finite values."""
    y = hourly(max(40, 3 * (f.seq_len + (f.pred_len or 5))))
    pred = f.fit(y, fh=[1, 2]).predict()
    assert np.isfinite(pred.to_numpy()).all()


@pytest.fixture(params=FORECASTERS, ids=lambda c: c.__name__)
def cls(request):
    return request.param


@pytest.mark.parametrize("bad, kind", [(np.nan, "NaN"), (np.inf, "+inf"), (-np.inf, "-inf")])
def test_nonfinite_y_names_column_and_timestamp(cls, bad, kind):
    y = hourly(40)
    y.iloc[17, 1] = bad
    y.iloc[25, 0] = bad
    f = tiny(cls)
    with pytest.raises(ValueError, match=re.escape(kind)) as err:
        f.fit(y, fh=[1, 2])
    msg = str(err.value)
    assert "'b'" in msg and "2024-01-01 17:00:00" in msg
    assert_recovers(f)


def test_nan_in_X_names_column_and_timestamp(cls):
    y = hourly(40)
    X = hourly(40, columns=("x1", "x2"), seed=1)
    X.iloc[3, 0] = np.nan
    f = tiny(cls)
    with pytest.raises(ValueError, match="'x1'.*2024-01-01 03:00:00"):
        f.fit(y, X=X, fh=[1, 2])
    assert_recovers(f)


def test_nan_in_update_names_column(cls):
    y = hourly(60)
    f = tiny(cls).fit(y.iloc[:40], fh=[1, 2])
    new = y.iloc[40:].copy()
    new.iloc[2, 0] = np.nan
    with pytest.raises(ValueError, match="'a'.*2024-01-02 18:00:00"):
        f.update(new, update_params=False)


def test_non_numeric_column(cls):
    y = hourly(40)
    y["b"] = y["b"].round(2).astype(str)
    f = tiny(cls)
    with pytest.raises(TypeError, match="'b'.*non-numeric"):
        f.fit(y, fh=[1, 2])
    assert_recovers(f)


def test_too_short_says_minimum(cls):
    f = tiny(cls)
    minimum = f.seq_len + f.pred_len
    with pytest.raises(ValueError, match=rf"has {minimum - 1} rows.*= {minimum} are needed"):
        f.fit(hourly(minimum - 1), fh=[1])
    assert_recovers(f)


def test_too_short_with_validation_says_minimum(cls):
    f = tiny(cls)
    n_val = f.pred_len + 2
    f.set_params(validation_size=n_val)
    minimum = f.seq_len + f.pred_len + n_val
    with pytest.raises(ValueError, match=rf"validation rows \({n_val}\) = {minimum}"):
        f.fit(hourly(minimum - 1), fh=[1])
    f.set_params(validation_size=0)
    assert_recovers(f)


def test_validation_shorter_than_horizon(cls):
    f = tiny(cls)
    f.set_params(validation_size=f.pred_len - 1)
    with pytest.raises(ValueError, match="fewer than pred_len"):
        f.fit(hourly(60), fh=[1])


def test_fh_beyond_pred_len_rolls_out(cls):
    # An explicit pred_len shorter than fh: the network is trained for pred_len and later
    # steps come from recursive roll-out instead of an error.
    f = tiny(cls).fit(hourly(40), fh=range(1, 2 * tiny(cls).pred_len + 2))
    assert f.pred_len_ == f.pred_len
    long = f.predict().to_numpy()
    assert long.shape == (2 * f.pred_len + 1, 2) and np.isfinite(long).all()
    np.testing.assert_array_equal(long[: f.pred_len], f.predict(fh=range(1, f.pred_len + 1)))


def test_neither_fh_nor_pred_len_trains_a_default_horizon(cls):
    f = tiny(cls, pred_len=None).fit(hourly(48))
    # Hourly data: one daily cycle, capped at a quarter of the 48 rows.
    assert f.pred_len_ == 12
    assert np.isfinite(f.predict(fh=[1, 2, 30]).to_numpy()).all()


def test_different_columns_at_update(cls):
    y = hourly(60)
    f = tiny(cls).fit(y.iloc[:40], fh=[1, 2])
    renamed = y.iloc[40:].rename(columns={"b": "c"})
    with pytest.raises(ValueError, match=r"columns \['a', 'c'\].*\['a', 'b'\]"):
        f.update(renamed, update_params=False)
    with pytest.raises(ValueError, match="columns"):
        f.predict_windows(renamed)


def test_different_exog_columns_at_update(cls):
    if not cls.get_class_tag("capability:exogenous"):
        pytest.skip("forecaster ignores X")
    y, X = hourly(60), hourly(60, columns=("x1", "x2"), seed=1)
    f = tiny(cls).fit(y.iloc[:40], X=X.iloc[:40], fh=[1, 2])
    with pytest.raises(ValueError, match="columns"):
        f.update(y.iloc[40:], X=X.iloc[40:, ::-1], update_params=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu(cls):
    f = tiny(cls, device="cuda")
    with pytest.raises(RuntimeError, match="device='cpu'"):
        f.fit(hourly(40), fh=[1, 2])
    f.set_params(device="cpu")
    assert_recovers(f)


@pytest.mark.parametrize("param, value", [
    ("loss", "rmse"), ("optimizer", "sgd"), ("lr", -1.0), ("seq_len", 0), ("lr_decay", 0.0),
    ("validation_size", 1.5), ("device", "tpu"), ("batch_size", 2.5),
])
def test_invalid_parameters(cls, param, value):
    f = tiny(cls, **{param: value})
    with pytest.raises(ValueError, match=param if param != "device" else "device"):
        f.fit(hourly(40), fh=[1, 2])


def test_diverging_training_leaves_forecaster_unfitted(cls):
    f = tiny(cls, lr=1e30, max_epochs=3, batch_size=4, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*lower `lr`"):
        f.fit(hourly(60), fh=[1, 2])
    assert not f.is_fitted
    assert not hasattr(f, "network_") and not hasattr(f, "history_")
    f.set_params(lr=1e-3)
    assert_recovers(f)


def test_constant_series(cls):
    y = pd.DataFrame({"a": np.full(40, 3.5), "b": np.zeros(40)},
                     index=pd.date_range("2024-01-01", periods=40, freq="h"))
    f = tiny(cls).fit(y, fh=[1, 2])
    np.testing.assert_array_equal(f.scale_std_, [1.0, 1.0])
    pred = f.predict()
    assert np.isfinite(pred.to_numpy()).all()
    # A constant window normalises to zeros; RevIN's eps (1e-5 under the root) lets at most
    # sqrt(eps) ~ 3e-3 times the network's O(1) normalised output through the denormalisation.
    np.testing.assert_allclose(pred.to_numpy(), [[3.5, 0.0]] * 2, atol=1e-2)


def test_values_near_1e9_keep_precision(cls):
    y = hourly(60) + 1e9
    f = tiny(cls).fit(y, fh=[1, 2])
    pred = f.predict().to_numpy()
    assert np.isfinite(pred).all()
    # The forecast varies on the scale of the data's variation, not float32's 1e9 grid (64).
    assert np.abs(pred - 1e9).max() < 10
    assert np.abs(f.scale_mean_ - y.mean().to_numpy()).max() < 1e-3


def test_exactly_minimum_length(cls):
    f = tiny(cls)
    y = hourly(f.seq_len + f.pred_len)
    pred = f.fit(y, fh=[1, 2]).predict()
    assert np.isfinite(pred.to_numpy()).all()
    assert f.predict_windows(y).shape == (1, f.pred_len, 2)
