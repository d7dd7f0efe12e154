"""Panels and hierarchies as lists of series, and forecasts put back in sktime's format.

A forecaster receives one series as a ``DataFrame`` with a time index, and a panel or
hierarchy (sktime's ``pd-multiindex`` and ``pd_multiindex_hier`` mtypes) as a
``DataFrame`` whose index has one or more instance levels followed by the time level. The
estimator layer works on a list of series either way: :func:`split` gives the instance keys
(None for a single series) and one time-indexed frame per series, :func:`end_to_end` holds
the series' arrays end to end for training, :func:`stack_fitted` and
:func:`warn_short_series` gather what fitting learns per series, and :func:`output_index`
puts forecasts back under the input's index levels.
"""

import warnings

import numpy as np
import pandas as pd

__all__ = ["split", "split_like", "output_index", "end_to_end", "stack_fitted",
           "warn_short_series", "steps_after"]


def _time_index(index):
    # A time level cut out of a MultiIndex loses its frequency; without it the calendar
    # and the horizon arithmetic of a datetime index cannot step forward.
    if isinstance(index, pd.DatetimeIndex) and index.freq is None and len(index) >= 3:
        freq = pd.infer_freq(index)
        if freq is not None:
            index = pd.DatetimeIndex(index, freq=freq)
    return index


def split(frame):
    """The instance keys and per-series frames of a series, panel or hierarchy.

    Parameters
    ----------
    frame : pandas.DataFrame
        A single series (time index) or a panel/hierarchy (instance levels, then time).

    Returns
    -------
    keys : list of tuple or None
        One key per series, in order of first appearance; None for a single series.
    frames : list of pandas.DataFrame
        The series, each with a plain time index (copies, for a panel; the frame itself
        for a single series).

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._panel import split
    >>> idx = pd.MultiIndex.from_product([["a", "b"], [0, 1, 2]], names=["id", "t"])
    >>> keys, frames = split(pd.DataFrame({"y": range(6)}, index=idx))
    >>> keys, [f["y"].tolist() for f in frames]
    ([('a',), ('b',)], [[0, 1, 2], [3, 4, 5]])
    """
    if not isinstance(frame.index, pd.MultiIndex):
        return None, [frame]
    index = frame.index
    # One integer per instance (the instance levels' codes combined), so grouping the rows
    # is a one-dimensional sort however many rows and levels there are.
    levels = [np.asarray(c, dtype=np.int64) + 1 for c in index.codes[:-1]]  # NaN: -1 -> 0
    flat = np.ravel_multi_index(levels, [len(lv) + 1 for lv in index.levels[:-1]])
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # series in order of first appearance
    if np.all(inverse[1:] >= inverse[:-1]):
        rows = np.arange(len(inverse))  # already grouped (sktime's sorted panels)
    else:
        rows = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[rows], np.arange(len(first) + 1))
    keys, frames = [], []
    time = index.get_level_values(-1)
    for u in order:
        pos = rows[bounds[u]:bounds[u + 1]]
        key = index[pos[0]][:-1]
        part = frame.iloc[pos]  # a copy: the forecaster may keep it
        part.index = time[pos]
        if not part.index.is_monotonic_increasing:
            part = part.sort_index()
        part.index = _time_index(part.index)
        keys.append(tuple(key))
        frames.append(part)
    return keys, frames


def split_like(frame, keys, owner, name):
    """``frame``'s series for ``keys`` (None where ``frame`` is None).

    Raises a ``ValueError`` naming the first instance of ``keys`` that ``frame`` lacks.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._panel import split_like
    >>> idx = pd.MultiIndex.from_product([["a", "b"], [0, 1]])
    >>> X = pd.DataFrame({"x": range(4)}, index=idx)
    >>> [f["x"].tolist() for f in split_like(X, [("b",), ("a",)], "Model", "X")]
    [[2, 3], [0, 1]]
    """
    if frame is None:
        return [None] * (1 if keys is None else len(keys))
    got_keys, frames = split(frame)
    if keys is None:
        if got_keys is not None:
            raise ValueError(f"{owner}: y is a single series, but {name} is a panel")
        return frames
    if got_keys is None:
        raise ValueError(f"{owner}: y is a panel, so {name} must be a panel with the same "
                         "instances (a DataFrame with the same instance index levels)")
    found = dict(zip(got_keys, frames))
    missing = [k for k in keys if k not in found]
    if missing:
        raise ValueError(
            f"{owner}: {name} lacks {len(missing)} of the panel's series, the first "
            f"{_label(missing[0])}; pass {name} for every series of y."
        )
    return [found[k] for k in keys]


def _label(key):
    return key[0] if len(key) == 1 else key


def output_index(keys, index, names):
    """The index of forecasts at the time points ``index``: itself, or every series' copy.

    Parameters
    ----------
    keys : list of tuple or None
        As returned by :func:`split`.
    index : pandas.Index
        The forecast's time points (the same for every series).
    names : list
        Names of the index levels (instance levels, then time) of the panel.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._panel import output_index
    >>> out = output_index([("a",), ("b",)], pd.Index([5, 6]), ["id", "t"])
    >>> out.tolist(), out.names
    ([('a', 5), ('a', 6), ('b', 5), ('b', 6)], FrozenList(['id', 't']))
    """
    if keys is None:
        return index
    return pd.MultiIndex.from_tuples([key + (t,) for key in keys for t in index],
                                     names=names)


def end_to_end(arrays):
    """Arrays of several series concatenated, and the row at which each series starts.

    A training set of many series is one array: windows are drawn only at starts inside
    one series, so nothing is copied per window. Series without the input (None entries)
    give None for both.

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba.estimators._panel import end_to_end
    >>> values, offsets = end_to_end([np.zeros((3, 1)), np.ones((2, 1))])
    >>> values.shape, offsets.tolist()
    ((5, 1), [0, 3])
    >>> end_to_end([None, None])
    (None, None)
    """
    if arrays[0] is None:
        return None, None
    return np.concatenate(arrays), np.cumsum([0] + [len(a) for a in arrays[:-1]])


def stack_fitted(per_series, panel):
    """One set of fitted attributes from the per-series ones (statistics stacked).

    Examples
    --------
    >>> import numpy as np
    >>> from skmamba.estimators._panel import stack_fitted
    >>> fitted = [{"n_columns_": 1, "scale_mean_": np.array([m])} for m in (1.0, 2.0)]
    >>> stack_fitted(fitted, panel=True)["scale_mean_"].tolist()
    [[1.0], [2.0]]
    """
    if not panel:
        return per_series[0]
    fitted = dict(per_series[0])
    for name in ("scale_mean_", "scale_std_", "exog_mean_", "exog_std_"):
        if name in fitted:
            fitted[name] = np.stack([f[name] for f in per_series])
    return fitted


def warn_short_series(owner, keys, trains, seq_len, pred_len):
    """One warning naming the series too short for a training window."""
    short = [_label(k) for k, t in zip(keys, trains) if not t]
    shown = ", ".join(repr(k) for k in short[:10]) + (", ..." if len(short) > 10 else "")
    warnings.warn(
        f"{owner}: {len(short)} of {len(keys)} series are shorter than one training window "
        f"(seq_len {seq_len} + pred_len {pred_len}, plus their validation rows) and are left "
        f"out of training: {shown}. They are still forecast when they have seq_len rows.",
        UserWarning, stacklevel=4,
    )


def steps_after(index, label, owner):
    """How many steps of ``index``'s frequency lead from its last label to ``label`` (>= 0).

    A series of a panel that ends before the panel's cutoff forecasts these extra steps
    first, so every series' forecast lands on the same absolute time points.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._panel import steps_after
    >>> steps_after(pd.period_range("2023Q4", periods=2, freq="Q"), pd.Period("2024Q4"), "M")
    3
    >>> steps_after(pd.Index([8, 9, 10]), 12, "Model")
    2
    """
    last = index[-1]
    if label == last:
        return 0
    if isinstance(index, pd.PeriodIndex):
        return int((pd.Period(label, freq=index.freq) - last).n)
    if isinstance(index, pd.DatetimeIndex):
        if index.freq is None:
            raise ValueError(
                f"{owner}: a series ends at {last}, before the panel's cutoff {label}, and "
                "its index has no frequency to count the steps between them; give every "
                "series a regular index or let them end together."
            )
        return len(pd.date_range(last, label, freq=index.freq)) - 1
    return int(label - last)
