"""Calendar features of a time index (Time-Series-Library ``timeF`` encoding)."""

import numpy as np
import pandas as pd

__all__ = ["N_CALENDAR_FEATURES", "calendar_features", "has_calendar"]

#: Hour of day, day of week, day of month, day of year.
N_CALENDAR_FEATURES = 4


def has_calendar(index):
    """Whether ``index`` carries dates, so calendar features can be derived from it.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._calendar import has_calendar
    >>> has_calendar(pd.period_range("2020-01", periods=3, freq="M"))
    True
    >>> has_calendar(pd.RangeIndex(3))
    False
    """
    return isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex))


def calendar_features(index):
    """The four ``timeF`` features for frequency ``'h'``, each scaled to [-0.5, 0.5].

    These are the features every published S-Mamba / MixMamba / TimeStar number was trained
    with: the benchmark scripts never override ``freq='h'``, so even 15-minute and 10-minute
    data get exactly these four (a daily series gets a constant hour feature).

    Parameters
    ----------
    index : pandas.DatetimeIndex or pandas.PeriodIndex

    Returns
    -------
    numpy.ndarray
        Shape (len(index), 4), float32: ``hour / 23``, ``dayofweek / 6``,
        ``(day - 1) / 30``, ``(dayofyear - 1) / 365``, each minus 0.5.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._calendar import calendar_features
    >>> idx = pd.date_range("2016-07-01", periods=2, freq="h")
    >>> calendar_features(idx).astype(float).round(3).tolist()
    [[-0.5, 0.167, -0.5, -0.001], [-0.457, 0.167, -0.5, -0.001]]
    """
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"calendar features need a DatetimeIndex or PeriodIndex, got {type(index)}")
    feats = np.stack(
        [
            index.hour.to_numpy() / 23.0 - 0.5,
            index.dayofweek.to_numpy() / 6.0 - 0.5,
            (index.day.to_numpy() - 1) / 30.0 - 0.5,
            (index.dayofyear.to_numpy() - 1) / 365.0 - 0.5,
        ],
        axis=1,
    )
    return feats.astype(np.float32)
