"""Checks of user input that name what is wrong and how to fix it.

Every message starts with the forecaster's class name. Nothing here changes state.
"""

import math
import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = ["check_values", "check_columns", "check_int", "check_window_params", "n_validation_rows",
           "check_enough_rows", "seed_from"]


def _first_bad(values):
    """Row and column of the earliest non-finite entry of a 2-D float array, or None."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    row = int(np.argmax(bad.any(axis=1)))
    return row, int(np.argmax(bad[row]))


def check_values(owner, data, name, numeric_only=False):
    """Raise on non-numeric columns and on NaN or infinite values, naming where.

    Parameters
    ----------
    owner : str
        Class name that starts every message.
    data : pandas.DataFrame, pandas.Series or numpy.ndarray
        Anything else is left to sktime's own checks.
    name : str
        What ``data`` is called in the message ("y" or "X").
    numeric_only : bool, default=False
        Skip non-numeric columns instead of rejecting them.

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba.estimators._validation import check_values
    >>> check_values("Model", np.array([1.0, np.nan]), "y")
    Traceback (most recent call last):
    ...
    ValueError: Model: y contains NaN in column 0, first at 1 (row 1). Missing and infinite values are not supported: fill or drop them first, e.g. y.interpolate() or y.ffill().
    """
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in "biuf" or data.ndim > 2:
            return  # sktime's own checks report unsupported arrays
        frame = pd.DataFrame(data.reshape(len(data), -1))
    elif isinstance(data, pd.Series):
        frame = data.to_frame()
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        return
    if len(frame) and frame.shape[1] and isinstance(frame.iat[0, 0], pd.Series):
        return  # sktime's nested panel format: its own conversion checks the values
    numeric = [pd.api.types.is_numeric_dtype(d) and not isinstance(d, pd.CategoricalDtype)
               for d in frame.dtypes]
    if numeric_only:
        frame = frame.loc[:, numeric]
    for col, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            continue  # sktime raises its own "categorical" TypeError
        if not pd.api.types.is_numeric_dtype(dtype):
            raise TypeError(
                f"{owner}: column {col!r} of {name} has non-numeric (text or "
                f"categorical) dtype {dtype}; only numeric (float, int or bool) columns "
                f"can be forecast. Convert it with pandas.to_numeric or drop it."
            )
    if frame.shape[1] == 0 or len(frame) == 0:
        return
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    where = _first_bad(values)
    if where is not None:
        row, col = where
        value = values[row, col]
        kind = "NaN" if np.isnan(value) else ("+inf" if value > 0 else "-inf")
        raise ValueError(
            f"{owner}: {name} contains {kind} in column {frame.columns[col]!r}, first at "
            f"{frame.index[row]!r} (row {row}). Missing and infinite values are not "
            f"supported: fill or drop them first, e.g. {name}.interpolate() or "
            f"{name}.ffill()."
        )


def check_columns(owner, got, expected, name, method):
    """Raise unless ``got`` lists the fitted columns ``expected`` in the same order.

    Examples
    --------
    >>> from skmamba.estimators._validation import check_columns
    >>> check_columns("Model", ["a", "b"], ["a", "b"], "y", "update")
    """
    if list(got) != list(expected):
        raise ValueError(
            f"{owner}: {name} in {method} has columns {list(got)}, but the forecaster was "
            f"fitted on columns {list(expected)}; pass the same columns in the same order "
            f"(or refit)."
        )


def check_int(owner, name, value, low, allow_none=False):
    """Raise unless ``value`` is an int >= ``low`` (or None, when allowed).

    Examples
    --------
    >>> from skmamba.estimators._validation import check_int
    >>> check_int("Model", "fine_tune_epochs", -1, 0, allow_none=True)
    Traceback (most recent call last):
    ...
    ValueError: Model: fine_tune_epochs must be an int >= 0 or None, got -1
    """
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{owner}: {name} must be an int >= {low}{extra}, got {value!r}")


def check_window_params(owner, seq_len, pred_len, validation_size):
    """Validate the lookback, the horizon and the validation size.

    Examples
    --------
    >>> from skmamba.estimators._validation import check_window_params
    >>> check_window_params("Model", 0, None, 0)
    Traceback (most recent call last):
    ...
    ValueError: Model: seq_len must be an int >= 1 or None, got 0
    """
    check_int(owner, "seq_len", seq_len, 1, allow_none=True)
    check_int(owner, "pred_len", pred_len, 1, allow_none=True)
    vs = validation_size
    ok = (
        isinstance(vs, numbers.Integral) and not isinstance(vs, bool) and vs >= 0
    ) or (isinstance(vs, numbers.Real) and 0 <= vs < 1)
    if not ok:
        raise ValueError(
            f"{owner}: validation_size must be an int >= 0 (rows) or a float in [0, 1) "
            f"(fraction), got {vs!r}"
        )


def n_validation_rows(validation_size, n_rows):
    """Rows held out for validation: an int as is, a fraction of ``n_rows`` rounded up.

    Examples
    --------
    >>> from skmamba.estimators._validation import n_validation_rows
    >>> n_validation_rows(0.1, 95), n_validation_rows(12, 95)
    (10, 12)
    """
    if isinstance(validation_size, numbers.Integral):
        return int(validation_size)
    return int(math.ceil(float(validation_size) * n_rows))


def check_enough_rows(owner, n_rows, seq_len, pred_len, n_val, validation_size):
    """Raise unless ``n_rows`` hold one training window and every validation target.

    Examples
    --------
    >>> from skmamba.estimators._validation import check_enough_rows
    >>> check_enough_rows("Model", 10, 8, 4, 0, 0)
    Traceback (most recent call last):
    ...
    ValueError: Model: y has 10 rows, but at least seq_len (8) + pred_len (4) = 12 are needed. Use more data, a shorter seq_len or pred_len, or a smaller validation_size.
    """
    if 0 < n_val < pred_len:
        raise ValueError(
            f"{owner}: validation_size={validation_size!r} gives {n_val} validation rows, "
            f"fewer than pred_len={pred_len}; every validation window needs pred_len target "
            f"rows. Use validation_size >= {pred_len} rows, or 0."
        )
    minimum = seq_len + pred_len + n_val
    if n_rows < minimum:
        val_txt = f" + validation rows ({n_val})" if n_val else ""
        raise ValueError(
            f"{owner}: y has {n_rows} rows, but at least seq_len ({seq_len}) + pred_len "
            f"({pred_len}){val_txt} = {minimum} are needed. Use more data, a shorter "
            f"seq_len or pred_len, or a smaller validation_size."
        )


def seed_from(random_state):
    """The integer seed of a fit: an int as is (mod 2**32), else one drawn from the state.

    Examples
    --------
    >>> from skmamba.estimators._validation import seed_from
    >>> seed_from(7), seed_from(2**32 + 7)
    (7, 7)
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state) % (2**32)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))
