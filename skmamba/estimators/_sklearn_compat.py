"""What scikit-learn's meta-estimators expect of an estimator that sktime objects lack, and
a loud error where scikit-learn would score a forecaster the wrong way.

scikit-learn's model selection (``GridSearchCV``, ``RandomizedSearchCV``,
``cross_val_score``, ``cross_validate``, ...) given ``scoring=None`` builds its default
scorer in ``sklearn.metrics.check_scoring``: a ``_PassthroughScorer`` that calls
``estimator.score(X_test)`` (or ``estimator.score(X_test, y_test)``), keeping the highest
value. For an sktime forecaster used the scikit-learn way, ``X_test`` is the test fold of the
series, so the call reads as sktime's ``score(y=X_test)``: the MAPE of the forecast, a loss.
A search would keep the candidate with the *worst* forecast (and without an ``fh`` given to
``fit`` the call fails, which scikit-learn turns into NaN scores and a warning).

So the forecasters' ``score`` attribute checks who asks for it: while scikit-learn's
``check_scoring`` builds that default scorer (``scoring=None``), or while such a scorer calls
it, reading ``forecaster.score`` raises :class:`TypeError` pointing to
:func:`skmamba.metrics.forecast_scorer`. ``check_scoring`` runs once in the calling process,
before any fit and outside the ``error_score`` handling that would otherwise turn the error
into NaN scores, so ``search.fit`` fails at once. Every other use of ``score`` (sktime's own
``forecaster.score(y_test, X=None, fh=None)``) is unchanged. An sklearn ``Pipeline`` ending
in a forecaster looks the forecaster's ``score`` up through ``available_if``, which turns
the error into "no such attribute": ``check_scoring`` then raises its own ``TypeError`` ("If
no scoring is specified, the estimator passed should have a 'score' method"), also before
any fit.
"""

import sys
from functools import update_wrapper

from sklearn.utils import InputTags, Tags, TargetTags

__all__ = ["SklearnCompatMixin"]

# Attributes sklearn's meta-estimators set on an estimator for the duration of a fit.
_SKLEARN_RUNTIME_ATTRS = ("_parent_callback_ctx", "_skl_callbacks")

# How many frames above a read of ``score`` to look for scikit-learn's default scoring; enough
# for a forecaster at the end of (nested) sklearn Pipelines, whose ``score`` is looked up
# through ``available_if``.
_FRAMES_TO_SEARCH = 12


def _default_sklearn_scoring():
    """Whether scikit-learn's default (``scoring=None``) scoring is reading ``score``.

    True when a frame close above the caller is ``sklearn.metrics`` ``check_scoring`` with
    ``scoring=None`` (building the default scorer), or the ``__call__`` of the
    ``_PassthroughScorer`` it builds (using it). Matched by name, so that it follows those
    functions across scikit-learn versions.
    """
    frame = sys._getframe(2)  # the frame that reads ``score``
    try:
        for _ in range(_FRAMES_TO_SEARCH):
            if frame is None:
                return False
            code = frame.f_code
            if code.co_name in ("check_scoring", "__call__") and str(
                frame.f_globals.get("__name__", "")
            ).startswith("sklearn.metrics"):
                if code.co_name == "check_scoring":
                    if "scoring" in code.co_varnames and frame.f_locals.get("scoring") is None:
                        return True
                elif type(frame.f_locals.get("self")).__name__ == "_PassthroughScorer":
                    return True
            frame = frame.f_back
        return False
    finally:
        del frame


def _default_scoring_message(estimator):
    """The error for scikit-learn's default scoring of ``estimator``."""
    name = type(estimator).__name__
    horizon = getattr(estimator, "pred_len", None)
    test_size = horizon if isinstance(horizon, int) and not isinstance(horizon, bool) else 12
    return (
        f"scikit-learn's default scoring (scoring=None) cannot rank {name}: it calls "
        f"{name}.score(X_test), which for a forecaster is sktime's score, the MAPE of the "
        f"forecast: a loss (lower is better), so the search would keep the worst model. "
        f"Pass a scorer that returns the negated forecast error:\n"
        f"\n"
        f"    from skmamba.metrics import forecast_scorer\n"
        f"    GridSearchCV(forecaster, param_grid, scoring=forecast_scorer(),\n"
        f"                 cv=TimeSeriesSplit(n_splits=3, test_size={test_size}))\n"
        f"\n"
        f"(likewise scoring=forecast_scorer() for RandomizedSearchCV, cross_val_score and "
        f"cross_validate), or tune with sktime's ForecastingGridSearchCV, which scores "
        f"forecasts with sktime metrics. A scikit-learn Pipeline ending in a forecaster "
        f"cannot forecast; put preprocessing in sktime's TransformedTargetForecaster and "
        f"tune that with ForecastingGridSearchCV. Calling "
        f"forecaster.score(y_test, X=None, fh=None) the sktime way still works."
    )


class _RefuseDefaultSklearnScoring:
    """Wraps a ``score`` method: reading it raises under scikit-learn's default scoring.

    A non-data descriptor: on an instance it returns the bound method unless
    :func:`_default_sklearn_scoring` holds, in which case it raises :class:`TypeError`; on
    the class it returns the plain function (so signatures, docs and sktime's checks see an
    ordinary method).
    """

    def __init__(self, func):
        self.func = func
        update_wrapper(self, func)

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self.func
        if _default_sklearn_scoring():
            raise TypeError(_default_scoring_message(obj))
        return self.func.__get__(obj, objtype)


class SklearnCompatMixin:
    """sklearn tags, a ``reset`` that keeps sklearn's runtime callback context, and a
    ``score`` that refuses scikit-learn's default scoring.

    Mixed into :class:`~skmamba.estimators.BaseMambaForecaster` before sktime's base, so
    ``GridSearchCV`` and sklearn's clone checks work on every forecaster, and a search
    without ``scoring=`` fails with a message that names
    :func:`skmamba.metrics.forecast_scorer`.

    Examples
    --------
    >>> from skmamba.estimators import SMambaForecaster
    >>> SMambaForecaster(random_state=0).__sklearn_tags__().non_deterministic
    False

    scikit-learn's default scorer is refused before anything is fitted:

    >>> from sklearn.metrics import check_scoring
    >>> try:
    ...     check_scoring(SMambaForecaster())
    ... except TypeError as err:
    ...     print("forecast_scorer()" in str(err))
    True
    """

    def __sklearn_tags__(self):
        # sklearn >= 1.6 asks every estimator for its tags (GridSearchCV, clone checks) and
        # sktime objects define none.
        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            input_tags=InputTags(allow_nan=False),
            non_deterministic=self.random_state is None,
        )

    def reset(self):
        """Reset to the post-init state, keeping sklearn's runtime callback context.

        sklearn (>= 1.8) attaches ``_parent_callback_ctx`` to an estimator around ``fit`` in
        ``GridSearchCV`` and deletes it afterwards; sktime's ``fit`` starts with ``reset()``,
        which would remove it first and make the search fail.

        Returns
        -------
        self
        """
        kept = {k: self.__dict__[k] for k in _SKLEARN_RUNTIME_ATTRS if k in self.__dict__}
        super().reset()
        self.__dict__.update(kept)
        return self

    @_RefuseDefaultSklearnScoring
    def score(self, y, X=None, fh=None):
        """sktime's score: the MAPE of the forecast of ``y`` (a loss, lower is better).

        Unchanged from sktime's ``BaseForecaster.score``, except that scikit-learn's default
        scoring (``GridSearchCV``, ``cross_val_score`` and friends with ``scoring=None``)
        may not use it: it would maximise this loss. There, reading ``score`` raises a
        :class:`TypeError` that says to pass ``scoring=skmamba.metrics.forecast_scorer()``
        (see :func:`skmamba.metrics.forecast_scorer`) or to use sktime's
        ``ForecastingGridSearchCV``.

        Parameters
        ----------
        y : pandas.Series, pandas.DataFrame or numpy.ndarray
            The truth to compare the forecast with, after the training series.
        X : pandas.DataFrame or numpy.ndarray, optional
            Exogenous data for the forecast.
        fh : int, list, pandas.Index or ForecastingHorizon, optional
            The horizon to forecast; the one given to ``fit`` if None.

        Returns
        -------
        float
            The mean absolute percentage error (non-symmetric) of ``predict(fh, X)``
            against ``y``.

        Raises
        ------
        TypeError
            When scikit-learn's default scorer (``scoring=None``) asks for it.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from skmamba.estimators import SMambaForecaster
        >>> y = pd.Series(10.0 + np.sin(np.arange(80) / 4.0))
        >>> forecaster = SMambaForecaster(**SMambaForecaster.get_test_params()[0])
        >>> forecaster = forecaster.fit(y.iloc[:70], fh=[1, 2, 3])
        >>> mape = forecaster.score(y.iloc[70:73])
        >>> bool(0.0 <= mape < 1.0)
        True
        """
        return super().score(y, X=X, fh=fh)
