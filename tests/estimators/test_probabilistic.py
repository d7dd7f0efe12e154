"""Quantiles, intervals, variance and distributions from every forecaster and every loss."""

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline

from skmamba.estimators import MODELS, MATForecaster, SMambaForecaster

FORECASTERS = list(MODELS.values())
LOSSES = ["mse", "normal", "studentt", "quantile"]


# The windows these tests were written for (sktime's conformance sets use shorter
# ones, for its panels of 10 time points).
WINDOWS = {"seq_len": 8, "pred_len": 5}


def tiny(cls, **overrides):
    return cls(**{**cls.get_test_params()[0], **WINDOWS, **overrides})


@pytest.fixture(scope="module")
def airline():
    return load_airline()


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("cls", FORECASTERS, ids=list(MODELS))
def test_quantiles_intervals_variance_are_coherent(cls, loss, airline):
    f = tiny(cls, loss=loss, max_epochs=2).fit(airline.iloc[:100], fh=range(1, 6))
    assert f.get_tag("capability:pred_int")
    fh = range(1, 13)  # beyond pred_len_: roll-out
    levels = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    q = f.predict_quantiles(fh=fh, alpha=levels).to_numpy()
    assert q.shape == (12, len(levels)) and np.isfinite(q).all()
    assert (np.diff(q, axis=1) >= 0).all(), "quantiles cross"
    np.testing.assert_allclose(q[:, 3], f.predict(fh=fh).to_numpy().ravel(), rtol=1e-9)
    iv = f.predict_interval(fh=fh, coverage=[0.8, 0.9]).to_numpy()
    lo80, hi80, lo90, hi90 = iv.T
    assert (lo90 <= lo80).all() and (hi80 <= hi90).all(), "the 90% interval must contain 80%"
    var = f.predict_var(fh=fh).to_numpy()
    assert (var > 0).all()
    dist = f.predict_proba(fh=fh)
    np.testing.assert_allclose(dist.mean().to_numpy().ravel(), q[:, 3], rtol=1e-6)
    # Repeated calls give the same numbers.
    np.testing.assert_array_equal(q, f.predict_quantiles(fh=fh, alpha=levels).to_numpy())


def test_intervals_come_back_in_the_units_of_y(airline):
    y = airline.iloc[:100]
    kwargs = dict(loss="studentt", max_epochs=2)
    a = tiny(SMambaForecaster, **kwargs).fit(y, fh=range(1, 6))
    b = tiny(SMambaForecaster, **kwargs).fit(1000.0 * y + 5.0, fh=range(1, 6))
    ia, ib = a.predict_interval(coverage=0.9).to_numpy(), b.predict_interval(coverage=0.9)
    np.testing.assert_allclose(ib.to_numpy(), 1000.0 * ia + 5.0, rtol=1e-4)
    np.testing.assert_allclose(b.predict_var().to_numpy(), 1e6 * a.predict_var().to_numpy(),
                               rtol=1e-3)


def test_quantile_loss_interpolates_and_refuses_levels_outside(airline):
    f = tiny(MATForecaster, loss="quantile", quantile_levels=(0.1, 0.5, 0.9), max_epochs=2)
    f.fit(airline.iloc[:100], fh=range(1, 6))
    q = f.predict_quantiles(alpha=[0.1, 0.3, 0.5, 0.9]).to_numpy()
    # 0.3 lies halfway between the trained 0.1 and 0.5 (linear interpolation).
    np.testing.assert_allclose(q[:, 1], 0.5 * (q[:, 0] + q[:, 2]))
    with pytest.raises(ValueError, match=r"0.05 lies outside the trained quantile_levels"):
        f.predict_quantiles(alpha=[0.05])
    with pytest.raises(ValueError, match="quantile_levels must be increasing"):
        tiny(MATForecaster, loss="quantile", quantile_levels=(0.6, 0.9)).fit(
            airline.iloc[:100], fh=[1])


def test_conformal_intervals_use_validation_errors(airline):
    y = airline.iloc[:120]
    f = tiny(SMambaForecaster, max_epochs=2, validation_size=24).fit(y, fh=range(1, 6))
    res = f.calibration_residuals_
    assert res.shape == (24 - 5 + 1, 5, 1)
    # The 90% half-width at step 1 is the conformal quantile of the validation errors.
    n = res.shape[0]
    level = min(1.0, np.ceil((n + 1) * 0.9) / n)
    # The residuals are standardised; the interval is in the units of y.
    width = np.quantile(res[:, 0, 0].astype(float), level, method="higher") * f.scale_std_[0]
    iv = f.predict_interval(coverage=0.9).to_numpy()[0]
    point = f.predict().to_numpy()[0]
    np.testing.assert_allclose(iv, [point - width, point + width], rtol=1e-9)


def test_conformal_coverage_on_noise():
    # White noise around a sine: the intervals of a point model should cover about as often
    # as they say, over many origins.
    rng = np.random.default_rng(0)
    t = np.arange(700)
    y = pd.Series(np.sin(2 * np.pi * t / 24) + 0.5 * rng.standard_normal(700))
    f = SMambaForecaster(seq_len=48, d_model=16, d_ff=16, e_layers=1, max_epochs=5,
                         validation_size=200, random_state=0).fit(y.iloc[:500], fh=range(1, 4))
    hits = []
    for end in range(500, 697, 3):
        if end > 500:
            f.update(y.iloc[end - 3:end], update_params=False)
        iv = f.predict_interval(coverage=0.8).to_numpy()
        truth = y.iloc[end:end + 3].to_numpy()
        hits.extend((truth >= iv[:, 0]) & (truth <= iv[:, 1]))
    assert 0.7 <= np.mean(hits) <= 0.9, np.mean(hits)
