"""Where scikit-learn would score a forecaster the wrong way, it fails loudly and says what to
do instead.

scikit-learn's model selection without ``scoring=`` ranks candidates by
``estimator.score(X_test)``, which for a forecaster is sktime's MAPE (a loss): the
forecasters refuse that default scorer with a TypeError that names
:func:`skmamba.metrics.forecast_scorer`, before anything is fitted. sktime's own
``forecaster.score(y, X=None, fh=None)`` keeps working, and so do searches given
``scoring=forecast_scorer()``. A scikit-learn Pipeline cannot forecast; forecast_scorer says
so.
"""

import doctest
import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import check_scoring
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    TimeSeriesSplit,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sktime.forecasting.base import BaseForecaster
from sktime.performance_metrics.forecasting import mean_absolute_percentage_error

import skmamba.estimators
import skmamba.estimators._sklearn_compat
from skmamba.estimators import SMambaForecaster
from skmamba.metrics import forecast_scorer

FORECASTERS = list(skmamba.estimators.MODELS.values())
TINY = SMambaForecaster.get_test_params()[0]


def tiny(**overrides):
    return SMambaForecaster(**{**TINY, **overrides})


@pytest.fixture(scope="module")
def frame():
    t = np.arange(120)
    return pd.DataFrame({"a": 3.0 + np.sin(t / 4.0), "b": 3.0 + np.cos(t / 7.0)})


def _not_fitted(monkeypatch):
    """Make any fit of an skmamba forecaster fail the test: the error must come first."""

    def fit(self, *args, **kwargs):
        raise AssertionError("a forecaster was fitted before the scoring error")

    monkeypatch.setattr(SMambaForecaster, "fit", fit)


# ---------------------------------------------------------------- default scoring refused
SEARCHES = {
    "GridSearchCV": lambda est, y: GridSearchCV(
        est, {"lr": [1e-3, 3e-3]}, cv=TimeSeriesSplit(2)).fit(X=y),
    "GridSearchCV-error_score-raise": lambda est, y: GridSearchCV(
        est, {"lr": [1e-3, 3e-3]}, cv=TimeSeriesSplit(2), error_score="raise").fit(y),
    "GridSearchCV-exogenous": lambda est, y: GridSearchCV(
        est, {"lr": [1e-3, 3e-3]}, cv=TimeSeriesSplit(2)).fit(y[["a"]], y[["b"]]),
    "RandomizedSearchCV": lambda est, y: RandomizedSearchCV(
        est, {"lr": [1e-3, 3e-3]}, n_iter=2, cv=TimeSeriesSplit(2), random_state=0).fit(y),
    "cross_val_score": lambda est, y: cross_val_score(est, y, cv=TimeSeriesSplit(2)),
    "cross_validate": lambda est, y: cross_validate(est, y, cv=TimeSeriesSplit(2)),
}


@pytest.mark.parametrize("call", list(SEARCHES), ids=list(SEARCHES))
def test_model_selection_without_scoring_raises_before_fitting(call, frame, monkeypatch):
    _not_fitted(monkeypatch)
    with pytest.raises(TypeError, match=r"scoring=forecast_scorer\(\)"):
        SEARCHES[call](tiny(), frame)


def test_sklearn_pipeline_without_scoring_raises_before_fitting(frame, monkeypatch):
    """sklearn's Pipeline looks up its final step's ``score`` through ``available_if``,
    which turns the refusal into "no score method": check_scoring then raises its own
    TypeError, still before any fit."""
    _not_fitted(monkeypatch)
    pipe = make_pipeline(StandardScaler(), tiny())
    assert hasattr(pipe, "score")  # outside scikit-learn's scoring, as before
    with pytest.raises(TypeError, match="If no scoring is specified"):
        GridSearchCV(pipe, {"smambaforecaster__lr": [1e-3, 3e-3]},
                     cv=TimeSeriesSplit(2)).fit(frame)


def test_the_message_explains_and_shows_the_call(frame):
    with pytest.raises(TypeError) as info:
        GridSearchCV(tiny(), {"lr": [1e-3, 3e-3]}, cv=TimeSeriesSplit(2)).fit(X=frame)
    message = str(info.value)
    for part in (
        "scikit-learn's default scoring (scoring=None) cannot rank SMambaForecaster",
        "MAPE", "lower is better", "keep the worst model",
        "from skmamba.metrics import forecast_scorer",
        "GridSearchCV(forecaster, param_grid, scoring=forecast_scorer(),",
        f"cv=TimeSeriesSplit(n_splits=3, test_size={TINY['pred_len']}))",
        "ForecastingGridSearchCV", "TransformedTargetForecaster",
        "forecaster.score(y_test, X=None, fh=None) the sktime way still works",
    ):
        assert part in message, part
    # Without an integer pred_len the example still shows a runnable test_size.
    with pytest.raises(TypeError, match=r"test_size=12\)\)"):
        check_scoring(SMambaForecaster(pred_len=None))


@pytest.mark.parametrize("cls", FORECASTERS, ids=lambda c: c.__name__)
def test_every_forecaster_refuses_the_default_scorer(cls):
    with pytest.raises(TypeError, match="forecast_scorer"):
        check_scoring(cls())
    # A scoring that is given is left alone.
    scorer = forecast_scorer("mae")
    assert check_scoring(cls(), scoring=scorer) is scorer


def test_the_default_scorer_built_elsewhere_is_refused_when_called(frame):
    """The passthrough scorer's call is refused as well (a second line behind check_scoring,
    for a passthrough scorer built without it)."""
    from sklearn.metrics._scorer import _PassthroughScorer

    f = tiny().fit(frame.iloc[:100])
    with pytest.raises(TypeError, match="forecast_scorer"):
        _PassthroughScorer(f)(f, frame.iloc[100:])


# ---------------------------------------------------------------- sktime's score unchanged
def test_sktime_score_still_works(frame):
    f = tiny().fit(frame.iloc[:100], fh=[1, 2, 3])
    test = frame.iloc[100:103]
    expected = mean_absolute_percentage_error(test, f.predict(), symmetric=False)
    assert f.score(test) == expected
    assert f.score(y=test, X=None, fh=None) == expected
    longer = frame.iloc[100:105]
    assert f.score(longer, fh=[1, 2, 3, 4, 5]) == mean_absolute_percentage_error(
        longer, f.predict(fh=[1, 2, 3, 4, 5]), symmetric=False)
    assert hasattr(f, "score")
    assert callable(f.score)


def test_score_keeps_sktimes_signature():
    expected = inspect.signature(BaseForecaster.score)
    for cls in FORECASTERS:
        assert inspect.signature(cls.score) == expected
        assert inspect.isfunction(cls.score)  # a plain method to sphinx and sktime's checks
        assert "TypeError" in cls.score.__doc__


# ---------------------------------------------------------------- what works instead
def test_grid_search_with_forecast_scorer_works(frame):
    search = GridSearchCV(tiny(), {"lr": [1e-3, 3e-3]}, scoring=forecast_scorer(),
                          cv=TimeSeriesSplit(2, test_size=TINY["pred_len"]),
                          error_score="raise").fit(X=frame)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert np.all(search.cv_results_["mean_test_score"] <= 0)
    scores = cross_val_score(tiny(), frame, scoring=forecast_scorer("mae"),
                             cv=TimeSeriesSplit(2, test_size=TINY["pred_len"]),
                             error_score="raise")
    assert scores.shape == (2,) and np.all(scores <= 0)


# ---------------------------------------------------------------- sklearn Pipeline
def test_forecast_scorer_refuses_an_sklearn_pipeline(frame):
    pipe = make_pipeline(StandardScaler(), tiny())
    grid = {"smambaforecaster__lr": [1e-3, 3e-3]}
    cv = TimeSeriesSplit(2, test_size=TINY["pred_len"])
    with pytest.raises(TypeError, match="a scikit-learn Pipeline cannot forecast") as info:
        GridSearchCV(pipe, grid, scoring=forecast_scorer(), cv=cv,
                     error_score="raise").fit(frame)
    assert "TransformedTargetForecaster" in str(info.value)
    assert "ForecastingGridSearchCV" in str(info.value)
    # With the default error_score scikit-learn turns scorer errors into NaN and a warning,
    # which carries the same message.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = GridSearchCV(pipe, grid, scoring=forecast_scorer(), cv=cv).fit(frame)
    assert np.all(np.isnan(search.cv_results_["mean_test_score"]))
    assert any("a scikit-learn Pipeline cannot forecast" in str(w.message) for w in caught)


def test_module_docstring_examples():
    result = doctest.testmod(skmamba.estimators._sklearn_compat,
                             optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_tuning_page_quotes_the_message():
    """docs/user_guide/tuning.rst prints the message; it must stay the real one."""
    from pathlib import Path

    from skmamba.estimators import MixMambaForecaster
    from skmamba.estimators._sklearn_compat import _default_scoring_message

    page = (Path(__file__).resolve().parents[2] / "docs" / "user_guide" / "tuning.rst")
    text = page.read_text()
    quoted = text[text.index("prints::"):text.index("(with line breaks added)")]
    message = _default_scoring_message(MixMambaForecaster(pred_len=12))
    assert " ".join(message.split()) in " ".join(quoted.split())
