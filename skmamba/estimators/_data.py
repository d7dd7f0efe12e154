"""Turning pandas data into the scaled float32 arrays the networks see, and back.

Per-column standardisation with training-row statistics, calendar features of the lookback
rows, exogenous rows, and the coercion of the inputs ``predict_windows`` accepts.
"""

import numpy as np
import pandas as pd
from sktime.forecasting.base import ForecastingHorizon

from ._calendar import N_CALENDAR_FEATURES, calendar_features, has_calendar
from ._validation import check_columns

__all__ = ["standardiser", "scale", "unscale", "marks_for", "exog_rows", "check_exog",
           "as_frame", "fit_preprocessing", "index_after", "future_exog_rows"]


def standardiser(values):
    """Per-column float64 mean and standard deviation; a constant column gets std 1.

    Computed in float64 so a series near 1e9 keeps its variation once cast to float32.

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba.estimators._data import standardiser
    >>> mean, std = standardiser(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> mean.tolist(), std.tolist()
    ([2.0, 5.0], [1.0, 1.0])
    """
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    # Constant columns (std at rounding level of the mean) must not blow up.
    tiny = std <= 1e-12 * np.maximum(np.abs(mean), 1.0)
    std = np.where(tiny, 1.0, std)
    return mean, std


def scale(values, mean, std):
    """``(values - mean) / std`` as float32.

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba.estimators._data import scale
    >>> scale(np.array([[3.0]]), np.array([1.0]), np.array([2.0])).tolist()
    [[1.0]]
    """
    return ((values - mean) / std).astype(np.float32)


def unscale(values, mean, std):
    """The inverse of :func:`scale`, in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba.estimators._data import unscale
    >>> unscale(np.array([[1.0]], dtype=np.float32), np.array([1.0]), np.array([2.0])).tolist()
    [[3.0]]
    """
    return values.astype(np.float64) * std + mean


def marks_for(owner, index, n_mark):
    """Calendar features of ``index`` when the network uses them (``n_mark > 0``), else None.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._data import marks_for
    >>> marks_for("Model", pd.date_range("2024-01-01", periods=3, freq="h"), 4).shape
    (3, 4)
    """
    if n_mark == 0:
        return None
    if not has_calendar(index):
        raise ValueError(
            f"{owner} was fitted on a series with a datetime or period index and uses its "
            f"calendar features; pass data with such an index (got {type(index).__name__})."
        )
    return calendar_features(index)


def exog_rows(owner, X, index, columns, mean, std, method):
    """The scaled rows ``index`` of ``X``, checking its columns and that no row is missing.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skmamba.estimators._data import exog_rows
    >>> X = pd.DataFrame({"x": [1.0, 3.0]})
    >>> exog_rows("Model", X, X.index, X.columns, np.array([1.0]), np.array([2.0]),
    ...           "predict").tolist()
    [[0.0], [1.0]]
    """
    check_exog(owner, X, index, columns, method)
    return scale(X.loc[index].to_numpy(dtype=np.float64), mean, std)


def check_exog(owner, X, index, columns, method):
    """Raise unless ``X`` has the fitted ``columns`` and every row of ``index``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._data import check_exog
    >>> check_exog("Model", pd.DataFrame({"x": [1.0]}), pd.Index(["b"]), ["x"], "update")
    Traceback (most recent call last):
    ...
    ValueError: Model: X lacks rows of y in update, first 'b'
    """
    if X is None:
        raise ValueError(
            f"{owner}: fit used exogenous X, so {method} needs X covering the same rows as y"
        )
    check_columns(owner, X.columns, columns, "X", method)
    missing = index.difference(X.index)
    if len(missing):
        raise ValueError(f"{owner}: X lacks rows of y in {method}, first {missing[0]!r}")


def as_frame(owner, y, columns, method):
    """A ``DataFrame`` from a DataFrame, Series or array, with the fitted ``columns``.

    Arrays and unnamed series take the fitted column names when their width matches.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skmamba.estimators._data import as_frame
    >>> as_frame("Model", np.zeros(3), pd.Index(["y"]), "predict_windows").columns.tolist()
    ['y']
    """
    if isinstance(y, np.ndarray):
        y = pd.DataFrame(y.reshape(len(y), -1))
        y.columns = columns if y.shape[1] == len(columns) else y.columns
    elif isinstance(y, pd.Series):
        y = y.to_frame(name=columns[0] if len(columns) == 1 else y.name)
    elif not isinstance(y, pd.DataFrame):
        raise TypeError(f"{owner}.{method}: y must be a DataFrame, Series or array")
    check_columns(owner, y.columns, columns, "y", method)
    return y


def fit_preprocessing(owner, y, X, n_train):
    """Fit the scalers on the first ``n_train`` rows and prepare the network's inputs.

    Parameters
    ----------
    owner : str
        Class name for messages.
    y : pandas.DataFrame
        The target series.
    X : pandas.DataFrame or None
        Exogenous variables over (at least) the rows of ``y``, or None when unused.
    n_train : int
        Rows the statistics are computed on.

    Returns
    -------
    fitted : dict
        The fitted attributes: ``columns_``, ``n_columns_``, ``scale_mean_``,
        ``scale_std_``, ``n_mark_``, ``n_exog_`` and, with ``X``, ``exog_columns_``,
        ``exog_mean_``, ``exog_std_``.
    values, marks, exog : numpy.ndarray or None
        Scaled float32 ``y``, calendar features and scaled ``X`` over the rows of ``y``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skmamba.estimators._data import fit_preprocessing
    >>> y = pd.DataFrame({"y": [1.0, 2.0, 3.0, 10.0]})
    >>> fitted, values, marks, exog = fit_preprocessing("Model", y, None, n_train=3)
    >>> fitted["scale_mean_"].tolist(), marks, exog
    ([2.0], None, None)
    """
    raw = y.to_numpy(dtype=np.float64)
    mean, std = standardiser(raw[:n_train])
    n_mark = N_CALENDAR_FEATURES if has_calendar(y.index) else 0
    fitted = {"columns_": y.columns.copy(), "n_columns_": y.shape[1], "scale_mean_": mean,
              "scale_std_": std, "n_mark_": n_mark, "n_exog_": 0}
    exog = None
    if X is not None:
        x_raw = X.loc[y.index].to_numpy(dtype=np.float64)
        x_mean, x_std = standardiser(x_raw[:n_train])
        fitted.update(exog_columns_=X.columns.copy(), exog_mean_=x_mean, exog_std_=x_std,
                      n_exog_=X.shape[1])
        exog = scale(x_raw, x_mean, x_std)
    return fitted, scale(raw, mean, std), marks_for(owner, y.index, n_mark), exog


def index_after(cutoff, steps, fh=None):
    """Index labels ``steps`` after ``cutoff``, as ``fh.to_absolute_index(cutoff)`` gives them.

    Vectorised for a datetime or period cutoff with a frequency (sktime converts step by
    step, which dominates the cost of a rolling forecast); sktime's conversion otherwise.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skmamba.estimators._data import index_after
    >>> cutoff = pd.PeriodIndex(["2024-01"], freq="M")
    >>> [str(p) for p in index_after(cutoff, np.array([1, 2, 5]))]
    ['2024-02', '2024-03', '2024-06']
    """
    freq = getattr(cutoff, "freq", None)
    if len(cutoff) == 1 and isinstance(cutoff, (pd.PeriodIndex, pd.DatetimeIndex)) and (
        freq is not None
    ):
        make = pd.period_range if isinstance(cutoff, pd.PeriodIndex) else pd.date_range
        labels = make(cutoff[0], periods=int(steps.max()) + 1, freq=freq)
        if np.all(np.diff(steps) == 1):
            return labels[steps[0]:steps[-1] + 1]  # a slice keeps the frequency, as sktime
        return labels[steps]
    if fh is None:
        fh = ForecastingHorizon(steps)
    return fh.to_absolute_index(cutoff)


def future_exog_rows(owner, seen, future, X, needed):
    """Exogenous rows for a forecast: stored rows ``seen``, then ``future`` rows from ``X``.

    ``X`` must hold the first ``needed`` rows of ``future`` (the forecast horizon: known
    future covariates). Later rows, which the network's last block reads but no requested
    step lies in, repeat the last known row when ``X`` lacks them.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._data import future_exog_rows
    >>> seen = pd.DataFrame({"x": [1.0, 2.0]})
    >>> X = pd.DataFrame({"x": [3.0]}, index=[2])
    >>> future_exog_rows("Model", seen, pd.Index([2, 3]), X, 1)["x"].tolist()
    [1.0, 2.0, 3.0, 3.0]
    >>> future_exog_rows("Model", seen, pd.Index([2, 3]), None, 1)
    Traceback (most recent call last):
    ...
    ValueError: Model: the forecast needs X over the forecast horizon, the rows 2 to 2 (known future values: pass them in the X of predict); 1 are missing, the first 2.
    """
    required = future[:needed]
    missing = required if X is None else required.difference(X.index)
    if len(missing):
        raise ValueError(
            f"{owner}: the forecast needs X over the forecast horizon, the rows "
            f"{required[0]} to {required[-1]} (known future values: pass them in the X of "
            f"predict); {len(missing)} are missing, the first {missing[0]}."
        )
    known = X.loc[X.index.intersection(future), seen.columns]
    rows = pd.concat([seen, known]).reindex(seen.index.append(future))
    return rows.ffill()
