"""Using a forecaster on clean data raises no warning at all.

Every warning is recorded (``simplefilter("always")`` inside ``catch_warnings(record=True)``,
which also overrides the suite's ``remember_data`` filter in ``conftest.py``) around
construction, ``fit``, ``predict`` and ``update``, whatever module raises it: skmamba
itself, sktime handling a skmamba forecaster (such as its ``remember_data`` note), or a
library skmamba calls.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_airline, load_uschange

from skmamba.estimators import MODELS


def _describe(records):
    return "\n".join(f"{r.category.__name__} from {r.filename}:{r.lineno}: {r.message}"
                     for r in records)


def _data(cls):
    """Clean data in the model's favourite shape: y (and X for exogenous models)."""
    if cls.get_class_tag("capability:exogenous"):
        y, X = load_uschange()
        return y, X
    return load_airline(), None


@pytest.mark.parametrize("cls", list(MODELS.values()), ids=list(MODELS))
def test_no_warnings_on_clean_data(cls):
    params = cls.get_test_params()[0]
    y, X = _data(cls)
    n_new, h = 4, params["pred_len"]
    # The last rows stay unseen: X over them is the known future of the forecasts.
    end = len(y) - h
    y_fit, y_new = y.iloc[:end - n_new], y.iloc[end - n_new:end]
    X_fit = None if X is None else X.iloc[:end - n_new]
    X_new = None if X is None else X.iloc[end - n_new:end]
    fh = np.arange(1, h + 1)

    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        forecaster = cls(**params)
        forecaster.fit(y_fit, X=X_fit, fh=fh)
        y_pred = forecaster.predict(X=None if X is None else X.iloc[end - n_new:])
        forecaster.update(y_new, X=X_new, update_params=False)
        forecaster.predict(X=None if X is None else X.iloc[end:])

    assert records == [], _describe(records)
    assert isinstance(y_pred, (pd.Series, pd.DataFrame)) and len(y_pred) == len(fh)


@pytest.mark.parametrize("cls", list(MODELS.values()), ids=list(MODELS))
def test_no_warnings_on_multivariate_frame(cls):
    """A small multivariate DataFrame with a DatetimeIndex (X = one of its columns, shifted)."""
    params = cls.get_test_params()[0]
    t = np.arange(63)
    index = pd.date_range("2024-01-01", periods=63, freq="D")
    y = pd.DataFrame({"a": np.sin(t / 4.0), "b": np.cos(t / 6.0) + 0.01 * t}, index=index)
    X = None
    if cls.get_class_tag("capability:exogenous"):
        X = pd.DataFrame({"x": np.sin((t + 1) / 4.0)}, index=index)

    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        forecaster = cls(**params)
        forecaster.fit(y.iloc[:60], X=None if X is None else X.iloc[:60], fh=[1, 2, 3])
        forecaster.predict(X=None if X is None else X.iloc[60:])

    assert records == [], _describe(records)
