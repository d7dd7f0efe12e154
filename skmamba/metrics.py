"""Scoring forecasters inside scikit-learn's model selection.

sktime's ``score`` and its metrics are errors (lower is better), while scikit-learn's
``GridSearchCV``, ``cross_validate`` and friends keep the candidate with the *highest* score.
:func:`forecast_scorer` bridges the two: it forecasts the test fold that scikit-learn hands
it and returns the negated forecast error.
"""

import numbers

import numpy as np
import pandas as pd

__all__ = ["forecast_scorer"]

_ERRORS = ("mse", "rmse", "mae", "mape")


def _error(name, truth, pred):
    """Error ``name`` averaged uniformly over every step and column."""
    diff = pred - truth
    if name == "mse":
        return float(np.mean(diff**2))
    if name == "rmse":
        return float(np.sqrt(np.mean(diff**2)))
    if name == "mae":
        return float(np.mean(np.abs(diff)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.mean(np.abs(diff) / np.abs(truth)))  # mape


def _refuse_sklearn_pipeline(estimator):
    """Raise a TypeError that explains why a scikit-learn Pipeline cannot be scored."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        raise TypeError(
            "forecast_scorer: a scikit-learn Pipeline cannot forecast. Its fit transforms "
            "the series before the forecaster is fitted to it, so forecasts come out in "
            "transformed units and are never transformed back, and its predict(X) hands the "
            "transformed rows to the forecaster's predict, which sktime reads as the "
            "horizon fh. Put the preprocessing in sktime's TransformedTargetForecaster "
            "(sktime.forecasting.compose), e.g. TransformedTargetForecaster([(\"scale\", "
            "TabularToSeriesAdaptor(StandardScaler())), (\"forecast\", forecaster)]), and "
            "tune it with sktime's ForecastingGridSearchCV."
        )


class _ForecastScorer:
    """Callable ``(estimator, X, y=None) -> float``; made by :func:`forecast_scorer`.

    A class rather than a closure so that it pickles (parallel searches send it to worker
    processes).
    """

    def __init__(self, metric, fh):
        self.metric = metric
        self.fh = fh

    def __repr__(self):
        name = self.metric if isinstance(self.metric, str) else repr(self.metric)
        return f"forecast_scorer(metric={name!r}, fh={self.fh!r})"

    def _steps(self, estimator, n_rows):
        if self.fh is not None:
            steps = np.asarray(self.fh, dtype=np.int64)
            if steps.max() > n_rows:
                raise ValueError(
                    f"forecast_scorer: fh reaches step {int(steps.max())}, but the test fold "
                    f"has only {n_rows} rows; use a larger test_size in the splitter or a "
                    f"shorter fh."
                )
            return steps
        horizon = getattr(estimator, "pred_len_", None)
        n = n_rows if horizon is None else min(n_rows, int(horizon))
        return np.arange(1, n + 1)

    def __call__(self, estimator, X, y=None):
        """Negated forecast error of ``estimator`` on the test fold ``X``.

        Parameters
        ----------
        estimator : sktime forecaster
            Fitted on the rows just before ``X`` (scikit-learn calls ``fit(X_train)``,
            which sktime reads as ``fit(y=X_train)``).
        X : pandas.DataFrame, pandas.Series or numpy.ndarray
            The test fold of the series: the truth to forecast.
        y : pandas.DataFrame or numpy.ndarray, optional
            The test fold of the second argument given to the search's ``fit``: exogenous
            variables, passed on as ``predict(X=y)``.

        Returns
        -------
        float
            Minus the error (higher is better); the error itself for a metric whose
            ``lower_is_better`` tag is False.
        """
        _refuse_sklearn_pipeline(estimator)
        if len(X) == 0:
            raise ValueError("forecast_scorer: the test fold is empty")
        steps = self._steps(estimator, len(X))
        if isinstance(X, (pd.Series, pd.DataFrame)):
            from sktime.forecasting.base import ForecastingHorizon

            truth = X.iloc[steps - 1]
            # The contiguous block up to the last step, so that sktime reads the fold's
            # frequency off its index rather than off the gaps between the chosen steps.
            fh = ForecastingHorizon(X.index[: steps.max()], is_relative=False)
        else:
            truth = np.asarray(X)[steps - 1]
            fh = np.arange(1, steps.max() + 1)
        pred = estimator.predict(fh=fh, X=y)
        pred = pred.iloc[steps - 1] if hasattr(pred, "iloc") else np.asarray(pred)[steps - 1]

        if isinstance(self.metric, str):
            err = _error(
                self.metric,
                np.asarray(truth, dtype=np.float64).reshape(len(steps), -1),
                np.asarray(pred, dtype=np.float64).reshape(len(steps), -1),
            )
            return -err
        err = float(self.metric(truth, pred))
        lower_is_better = True
        if hasattr(self.metric, "get_tag"):
            lower_is_better = self.metric.get_tag("lower_is_better", True, raise_error=False)
        return -err if lower_is_better else err


def forecast_scorer(metric="mse", fh=None):
    """A scikit-learn scorer that forecasts a time-series test fold and negates its error.

    scikit-learn model selection (``GridSearchCV``, ``RandomizedSearchCV``,
    ``cross_validate``) keeps the highest score, whereas forecast errors, and sktime's own
    ``score``, are better when lower. Pass this scorer as ``scoring=`` to search over a
    forecaster's parameters by forecast error with a ``TimeSeriesSplit``.

    How scikit-learn drives a forecaster: given ``search.fit(series)`` it calls
    ``estimator.fit(series_train)`` on every training fold, which sktime reads as
    ``fit(y=series_train)``; a second argument, ``search.fit(series, exog)``, arrives as
    sktime's exogenous ``X``. No ``fh`` reaches ``fit``, so skmamba forecasters need their
    ``pred_len`` set (the trained horizon). The scorer then receives the test fold, which
    ``TimeSeriesSplit`` places right after the training fold, and forecasts its first
    ``min(len(test fold), pred_len_)`` rows (all of them for forecasters without a
    ``pred_len_``), or the rows at ``fh``.

    Parameters
    ----------
    metric : {"mse", "rmse", "mae", "mape"} or callable, default="mse"
        The error, averaged over every forecast step and column. A callable is called as
        ``metric(y_true, y_pred)`` with the test rows and the forecast (pandas objects for
        pandas input), e.g. an sktime metric such as ``MeanAbsoluteError()``; it is taken
        to be an error unless it has an sktime ``lower_is_better`` tag that is False.
    fh : array-like of int or None, default=None
        Forecast steps to score, counted from the end of the training fold (1 is the first
        row of the test fold). None scores steps ``1..min(len(test fold), pred_len_)``.

    Returns
    -------
    callable
        ``scorer(estimator, X, y=None) -> float``: the fitted forecaster, the test fold of
        the series (and of the exogenous data, if any). Returns minus the error, so it is
        0 for a perfect forecast and negative otherwise. It pickles.

    Notes
    -----
    The scorer refuses (``TypeError``) a scikit-learn ``Pipeline``: its transformers would
    transform the series the forecaster is fitted to, and its ``predict(X)`` passes the
    test rows to the forecaster as the horizon. Use sktime's ``TransformedTargetForecaster``
    with ``ForecastingGridSearchCV`` instead.

    For a pandas test fold the forecast targets the fold's own index (an absolute
    horizon), so a ``TimeSeriesSplit(gap=k)`` is scored ``k`` steps further ahead. For a
    numpy test fold the steps are relative and the fold must follow the training fold
    directly (``gap=0``).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
    >>> from skmamba import SMambaForecaster, forecast_scorer
    >>> t = np.arange(120)
    >>> y = pd.DataFrame({"a": np.sin(t / 4.0), "b": np.cos(t / 7.0)})
    >>> forecaster = SMambaForecaster(seq_len=16, pred_len=4, d_model=8, d_ff=8,
    ...                               e_layers=1, max_epochs=2, random_state=0)
    >>> search = GridSearchCV(forecaster, {"lr": [1e-3, 1e-2]},
    ...                       scoring=forecast_scorer("mae"),
    ...                       cv=TimeSeriesSplit(n_splits=2, test_size=4))
    >>> search = search.fit(y)
    >>> sorted(search.best_params_)
    ['lr']
    >>> bool(search.best_score_ <= 0)
    True

    The score is the negated error of the forecast of the test rows:

    >>> fitted = forecaster.fit(y.iloc[:100])
    >>> forecast = fitted.predict(fh=[1, 2, 3, 4]).to_numpy()
    >>> error = np.mean(np.abs(forecast - y.iloc[100:104].to_numpy()))
    >>> bool(np.isclose(forecast_scorer("mae")(fitted, y.iloc[100:110]), -error))
    True
    """
    if isinstance(metric, str):
        if metric not in _ERRORS:
            raise ValueError(f"forecast_scorer: metric must be one of {_ERRORS} or a callable, "
                             f"got {metric!r}")
    elif not callable(metric):
        raise TypeError(f"forecast_scorer: metric must be a string or a callable, "
                        f"got {type(metric).__name__}")
    if fh is not None:
        steps = np.atleast_1d(np.asarray(fh))
        if (
            steps.ndim != 1
            or len(steps) == 0
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                       for s in steps.tolist())
            or steps.min() < 1
        ):
            raise ValueError(
                f"forecast_scorer: fh must be positive integer steps (1 is the first row of "
                f"the test fold), got {fh!r}"
            )
        fh = sorted(set(int(s) for s in steps.tolist()))
    return _ForecastScorer(metric, fh)
