"""The forecasters inside scikit-learn's and sktime's tooling: clone, GridSearchCV with
:func:`skmamba.forecast_scorer`, ForecastingGridSearchCV, evaluate (serial and loky),
pipelines, ForecastingBenchmark and in-memory persistence. The Deseasonalizer test needs
statsmodels (sktime's Deseasonalizer imports it) and is skipped without it.

Pickle and save-to-path round trips of every forecaster are in test_behaviour.py.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.preprocessing import StandardScaler
from sktime.base import load
from sktime.datasets import load_airline
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import (
    MeanAbsoluteError,
    MeanSquaredError,
    make_forecasting_scorer,
)
from sktime.split import ExpandingWindowSplitter, SlidingWindowSplitter
from sktime.transformations.series.adapt import TabularToSeriesAdaptor

import skmamba.estimators
from skmamba import forecast_scorer
from skmamba.estimators import (
    MixMambaForecaster,
    SMambaForecaster,
    TimeStarMambaForecaster,
)

FORECASTERS = list(skmamba.estimators.MODELS.values())


# The windows these tests were written for (sktime's conformance sets use shorter
# ones, for its panels of 10 time points).
WINDOWS = {"seq_len": 8, "pred_len": 5}


def tiny(cls, **overrides):
    return cls(**{**cls.get_test_params()[0], **WINDOWS, **overrides})


def monthly(cls, **overrides):
    """Settings for the 144-month airline series: two years of lookback, six months ahead."""
    return tiny(cls, seq_len=24, pred_len=6, **overrides)


@pytest.fixture(params=FORECASTERS, ids=lambda c: c.__name__)
def cls(request):
    return request.param


@pytest.fixture(scope="module")
def airline():
    return load_airline()


def mse(a, b):
    return float(np.mean((np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) ** 2))


# ---------------------------------------------------------------- the scorer
def test_forecast_scorer_is_the_negated_error(hourly_small):
    train, test = hourly_small.iloc[:100], hourly_small.iloc[100:120]
    naive = NaiveForecaster(strategy="last").fit(train)
    last = train.iloc[-1].to_numpy()
    err = test.to_numpy() - last
    # Without a pred_len_ the whole fold is forecast.
    assert forecast_scorer()(naive, test) == pytest.approx(-np.mean(err**2), rel=1e-12)
    assert forecast_scorer("mae")(naive, test) == pytest.approx(-np.mean(np.abs(err)))
    assert forecast_scorer("rmse")(naive, test) == pytest.approx(-np.sqrt(np.mean(err**2)))
    assert forecast_scorer("mape")(naive, test) == pytest.approx(
        -np.mean(np.abs(err) / np.abs(test.to_numpy()))
    )
    assert forecast_scorer(fh=[2, 5])(naive, test) == pytest.approx(
        -np.mean(err[[1, 4]] ** 2)
    )
    # sktime metrics are errors, negated; one declared higher-is-better keeps its sign.
    assert forecast_scorer(MeanAbsoluteError())(naive, test) == pytest.approx(
        -np.mean(np.abs(err))
    )
    accuracy = make_forecasting_scorer(
        lambda y_true, y_pred, **_: 1.0 / (1.0 + np.mean(np.abs(y_true - y_pred))),
        name="accuracy", greater_is_better=True,
    )
    value = accuracy(test, naive.predict(fh=test.index))
    assert value > 0
    assert forecast_scorer(accuracy)(naive, test) == pytest.approx(value, rel=1e-12)
    # Higher is better: a perfect forecast scores 0, a worse one less.
    flat = pd.Series(3.0, index=pd.RangeIndex(60))
    assert forecast_scorer()(NaiveForecaster().fit(flat.iloc[:50]), flat.iloc[50:]) == 0.0
    assert forecast_scorer()(naive, test) < 0


def test_forecast_scorer_caps_at_pred_len_and_takes_numpy(hourly_small):
    f = tiny(SMambaForecaster, random_state=0).fit(hourly_small.iloc[:100])
    test = hourly_small.iloc[100:120]
    first = f.predict(fh=range(1, f.pred_len_ + 1)).to_numpy()
    expected = -mse(first, test.iloc[: f.pred_len_])
    assert forecast_scorer()(f, test) == expected
    # Only the rows the scorer forecasts count.
    changed = test.copy()
    changed.iloc[f.pred_len_:] += 1e3
    assert forecast_scorer()(f, changed) == expected
    with pytest.raises(ValueError, match="test fold has only 3 rows"):
        forecast_scorer(fh=[4])(f, test.iloc[:3])
    # numpy folds: relative steps, numpy forecast.
    g = tiny(SMambaForecaster, random_state=0).fit(hourly_small.iloc[:100].to_numpy())
    first = g.predict(fh=range(1, g.pred_len_ + 1))
    assert forecast_scorer()(g, test.to_numpy()) == -mse(first, test.iloc[: g.pred_len_])


def test_forecast_scorer_rejects_bad_arguments_and_pickles():
    with pytest.raises(ValueError, match="metric must be one of"):
        forecast_scorer("r2")
    with pytest.raises(TypeError, match="metric must be"):
        forecast_scorer(3)
    with pytest.raises(ValueError, match="positive integer steps"):
        forecast_scorer(fh=[0, 1])
    with pytest.raises(ValueError, match="positive integer steps"):
        forecast_scorer(fh=[1.5])
    scorer = forecast_scorer("mae", fh=[3, 1])
    assert repr(pickle.loads(pickle.dumps(scorer))) == "forecast_scorer(metric='mae', fh=[1, 3])"


def test_metrics_docstring_example():
    import doctest

    import skmamba.metrics

    result = doctest.testmod(skmamba.metrics, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------- scikit-learn
def test_clone_of_a_fitted_forecaster_refits_identically(cls, y_range):
    f = tiny(cls, random_state=5, optimizer_kwargs={"weight_decay": 1e-4}).fit(y_range)
    c = clone(f)
    assert not c.is_fitted
    assert c.get_params() == f.get_params()
    assert c.optimizer_kwargs is not f.optimizer_kwargs  # deep, not shared
    pd.testing.assert_series_equal(c.fit(y_range).predict(fh=[1, 2]), f.predict(fh=[1, 2]))


def test_grid_search_cv_chooses_the_lower_forecast_error(hourly_small):
    """sklearn's GridSearchCV on a DataFrame, scored by forecast_scorer: the chosen lr is
    the one whose mean forecast MSE over the TimeSeriesSplit folds, computed here by hand,
    is lower, and the search's scores are exactly those errors negated."""
    y = hourly_small.iloc[:160]
    est = tiny(MixMambaForecaster, max_epochs=2, random_state=0)
    grid = [1e-4, 3e-2]
    cv = TimeSeriesSplit(n_splits=3, test_size=10)  # folds longer than pred_len: capped
    search = GridSearchCV(est, {"lr": grid}, scoring=forecast_scorer("mse"), cv=cv,
                          error_score="raise")
    search.fit(y)

    errors = []
    for lr in grid:
        fold_errors = []
        for train, test in cv.split(y):
            f = clone(est).set_params(lr=lr).fit(y.iloc[train])
            pred = f.predict(fh=range(1, est.pred_len + 1))
            assert list(pred.index) == list(y.index[test[: est.pred_len]])
            fold_errors.append(mse(pred, y.iloc[test[: est.pred_len]]))
        errors.append(np.mean(fold_errors))
    assert errors[0] != errors[1]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], -np.array(errors),
                               rtol=1e-12)
    assert search.best_params_ == {"lr": grid[int(np.argmin(errors))]}
    assert search.best_score_ == pytest.approx(-min(errors), rel=1e-12)
    # Refit on the whole frame; forecasting continues after its last row.
    best = search.best_estimator_
    assert best.cutoff[0] == y.index[-1]
    assert list(best.predict(fh=[1]).columns) == list(y.columns)


def test_grid_search_cv_passes_exogenous_data_through(hourly_small):
    """search.fit(series, exog) reaches sktime as fit(y=series, X=exog)."""
    y, X = hourly_small[["OT"]].iloc[:120], hourly_small[["HUFL", "MUFL"]].iloc[:120]
    est = tiny(TimeStarMambaForecaster, random_state=0)
    cv = TimeSeriesSplit(n_splits=2, test_size=est.pred_len)
    search = GridSearchCV(est, {"lr": [1e-3, 1e-2]}, scoring=forecast_scorer("mae"), cv=cv,
                          error_score="raise").fit(y, X)
    assert search.best_estimator_.n_exog_ == 2
    train, test = list(cv.split(y))[-1]
    f = clone(est).set_params(lr=1e-2).fit(y.iloc[train], X=X.iloc[train])
    expected = -np.mean(np.abs(f.predict(X=X.iloc[test], fh=range(1, est.pred_len + 1))
                               .to_numpy() - y.iloc[test].to_numpy()))
    assert search.cv_results_["split1_test_score"][1] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- sktime tooling
def test_forecasting_grid_search_cv(airline):
    y = airline.iloc[:132]
    est = monthly(SMambaForecaster, random_state=0)
    cv = SlidingWindowSplitter(fh=range(1, 7), window_length=72, step_length=24)
    grid = [1e-4, 3e-2]
    # sktime's default backend here is loky; parallel runs are covered by the evaluate test.
    search = ForecastingGridSearchCV(est, cv, {"lr": grid}, scoring=MeanSquaredError(),
                                     backend=None)
    search.fit(y, fh=range(1, 7))
    errors = [
        evaluate(clone(est).set_params(lr=lr), cv, y, scoring=MeanSquaredError())
        ["test_MeanSquaredError"].mean()
        for lr in grid
    ]
    assert errors[0] != errors[1]
    np.testing.assert_allclose(search.cv_results_["mean_test_MeanSquaredError"], errors,
                               rtol=1e-12)
    assert search.best_params_ == {"lr": grid[int(np.argmin(errors))]}
    refit = clone(est).set_params(**search.best_params_).fit(y, fh=range(1, 7))
    pd.testing.assert_series_equal(search.predict(), refit.predict())


def test_evaluate_serial_and_loky_give_equal_numbers(airline):
    est = monthly(MixMambaForecaster, random_state=0)
    cv = ExpandingWindowSplitter(fh=range(1, 7), initial_window=96, step_length=12)
    kwargs = dict(scoring=MeanAbsoluteError(), return_data=True)
    serial = evaluate(est, cv, airline, **kwargs)
    loky = evaluate(est, cv, airline, backend="loky", backend_params={"n_jobs": 2}, **kwargs)
    assert len(serial) == cv.get_n_splits(airline) == 4
    assert np.array_equal(serial["test_MeanAbsoluteError"], loky["test_MeanAbsoluteError"])
    for a, b in zip(serial["y_pred"], loky["y_pred"]):
        pd.testing.assert_series_equal(a, b, check_exact=True)


def test_transformed_target_forecaster_with_deseasonalizer_and_scaler(airline):
    pytest.importorskip("statsmodels")  # sktime's Deseasonalizer needs it
    from sktime.transformations.series.detrend import Deseasonalizer

    y = airline.iloc[:132]
    est = monthly(SMambaForecaster, random_state=0)
    pipe = TransformedTargetForecaster([
        ("deseasonalize", Deseasonalizer(sp=12, model="multiplicative")),
        ("scale", TabularToSeriesAdaptor(StandardScaler())),
        ("forecast", est),
    ])
    pred = pipe.fit(y, fh=range(1, 7)).predict()
    assert list(pred.index) == list(airline.index[132:138])

    # The same steps by hand.
    deseason = Deseasonalizer(sp=12, model="multiplicative").fit(y)
    scaler = TabularToSeriesAdaptor(StandardScaler())
    z = scaler.fit_transform(deseason.transform(y))
    manual = clone(est).fit(z, fh=range(1, 7)).predict()
    manual = deseason.inverse_transform(scaler.inverse_transform(manual))
    np.testing.assert_allclose(pred.to_numpy(), manual.to_numpy(), rtol=1e-12)
    # Six months ahead of the airline data the forecast stays within a plausible range.
    assert np.all((pred > 250) & (pred < 700))


def test_forecasting_benchmark_against_naive(airline, tmp_path):
    from sktime.benchmarking.forecasting import ForecastingBenchmark

    est = monthly(SMambaForecaster, random_state=0)
    cv = ExpandingWindowSplitter(fh=range(1, 7), initial_window=120, step_length=12)
    bench = ForecastingBenchmark()
    bench.add_estimator(est, estimator_id="SMamba")
    bench.add_estimator(NaiveForecaster(strategy="last", sp=12), estimator_id="SeasonalNaive")
    bench.add_task(load_airline, cv, [MeanAbsoluteError()], task_id="airline")
    out = tmp_path / "benchmark.csv"
    results = bench.run(str(out)).set_index("model_id")

    assert out.is_file()
    assert set(pd.read_csv(out)["model_id"]) == {"SMamba", "SeasonalNaive"}
    folds = [f"MeanAbsoluteError_fold_{i}_test" for i in range(cv.get_n_splits(airline))]
    for model_id, forecaster in (("SMamba", est),
                                 ("SeasonalNaive", NaiveForecaster(strategy="last", sp=12))):
        expected = evaluate(forecaster, cv, airline, scoring=MeanAbsoluteError())
        np.testing.assert_allclose(results.loc[model_id, folds].to_numpy(dtype=float),
                                   expected["test_MeanAbsoluteError"], rtol=1e-12)
    assert np.isfinite(results.loc["SMamba", "MeanAbsoluteError_mean"])


# ---------------------------------------------------------------- persistence
def test_in_memory_save_load_roundtrip(cls, hourly_small):
    f = tiny(cls, random_state=0).fit(hourly_small.iloc[:60], fh=[1, 2, 3])
    expected = f.predict()
    serial = f.save()  # no path: an in-memory (metadata, bytes) container
    loaded = load(serial)
    assert type(loaded) is cls
    pd.testing.assert_frame_equal(loaded.predict(), expected)
    # The loaded state is complete: the same update gives the same forecast.
    f.update(hourly_small.iloc[60:70], update_params=False)
    loaded.update(hourly_small.iloc[60:70], update_params=False)
    pd.testing.assert_frame_equal(loaded.predict(), f.predict())


def test_fitted_pipeline_save_load_and_pickle(airline, tmp_path):
    pipe = TransformedTargetForecaster([
        ("scale", TabularToSeriesAdaptor(StandardScaler())),
        ("forecast", monthly(SMambaForecaster, random_state=0)),
    ]).fit(airline.iloc[:120], fh=range(1, 7))
    expected = pipe.predict()
    pipe.save(tmp_path / "pipe")
    pd.testing.assert_series_equal(load(tmp_path / "pipe.zip").predict(), expected)
    pd.testing.assert_series_equal(load(str(tmp_path / "pipe")).predict(), expected)
    pd.testing.assert_series_equal(pickle.loads(pickle.dumps(pipe)).predict(), expected)
