"""Lookback and trained horizon when the user leaves them to the data.

With ``seq_len=None`` and ``pred_len=None`` a forecaster chooses both from the series it is
fitted on, by the rules below; the chosen values are the fitted attributes ``seq_len_`` and
``pred_len_``. Set either parameter to fix it (the paper settings do).

- **Seasonal period** ``sp`` of the index frequency: 24 for hourly data, 7 daily, 5 business
  daily, 52 weekly, 12 monthly, 4 quarterly, 60 for minutes or seconds (multiples divide it:
  15-minute data has 96 per day); 1 for annual data, an integer index or an unknown frequency.
- **Horizon** ``pred_len_``: the largest step of the ``fh`` passed to ``fit``, else one
  seasonal cycle (``sp``, or 8 steps without a cycle). It is capped at a quarter of the
  training rows, so short series keep enough windows; steps beyond it are forecast by
  recursive roll-out (see ``predict``).
- **Lookback** ``seq_len_``: the larger of two horizons and two seasonal cycles, at least 8,
  and at most what leaves ``MIN_WINDOWS`` training windows.
- **Patches** (``patch_len=None``, ``stride=None`` in the patch-based models):
  ``min(16, seq_len_ // 6)`` steps (at least 1), every half patch; at the papers' lookback
  of 96 this is their 16 and 8.
"""

import pandas as pd

__all__ = ["MIN_WINDOWS", "seasonal_period", "choose_windows", "patch_len_for",
           "resolve_patches"]

#: Training windows an automatic lookback always leaves.
MIN_WINDOWS = 8
# Horizon without a seasonal cycle, and the shortest automatic lookback.
_HORIZON_WITHOUT_CYCLE = 8
_MIN_LOOKBACK = 8

# Seasonal cycle per base frequency: the period of the most common cycle in such data.
_CYCLES = {"min": 60, "s": 60, "h": 24, "D": 7, "B": 5, "W": 52, "M": 12, "Q": 4}


def seasonal_period(index):
    """The seasonal period of an index's frequency, 1 when there is none.

    Parameters
    ----------
    index : pandas.Index
        A ``DatetimeIndex`` (with ``freq`` or an inferable one) or ``PeriodIndex``;
        anything else has period 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmamba.estimators._windows import seasonal_period
    >>> seasonal_period(pd.period_range("1949-01", periods=3, freq="M"))
    12
    >>> seasonal_period(pd.date_range("2024-01-01", periods=5, freq="15min"))
    96
    >>> seasonal_period(pd.RangeIndex(5))
    1
    """
    if isinstance(index, pd.PeriodIndex):
        offset = index.freq
    elif isinstance(index, pd.DatetimeIndex):
        offset = index.freq
        if offset is None and len(index) >= 3:
            inferred = pd.infer_freq(index)
            offset = None if inferred is None else pd.tseries.frequencies.to_offset(inferred)
    else:
        return 1
    if offset is None:
        return 1
    name = offset.name.split("-")[0].rstrip("SE") or offset.name  # "ME", "QS-DEC" -> M, Q
    name = {"T": "min", "H": "h", "S": "s"}.get(name, name)
    cycle = _CYCLES.get(name)
    if cycle is None:
        return 1
    if name in ("min", "s"):
        cycle = 1440 if name == "min" else 60  # minutes: a day; seconds: a minute
    n = max(1, int(offset.n))
    return cycle // n if cycle % n == 0 and cycle // n > 1 else 1


def choose_windows(owner, n_train, sp, seq_len, pred_len, fh_max):
    """Lookback and horizon to train: the given ones, or the module's rules.

    Parameters
    ----------
    owner : str
        Class name for messages.
    n_train : int
        Rows available for training windows.
    sp : int
        Seasonal period (:func:`seasonal_period`).
    seq_len, pred_len : int or None
        The constructor's values; None chooses.
    fh_max : int or None
        Largest step of the ``fh`` passed to ``fit``.

    Returns
    -------
    seq_len, pred_len : int

    Examples
    --------
    >>> from skmamba.estimators._windows import choose_windows
    >>> choose_windows("Model", n_train=120, sp=12, seq_len=None, pred_len=None, fh_max=24)
    (48, 24)
    >>> choose_windows("Model", n_train=16, sp=1, seq_len=None, pred_len=None, fh_max=None)
    (5, 4)
    """
    if pred_len is None:
        wanted = fh_max if fh_max is not None else (sp if sp > 1 else _HORIZON_WITHOUT_CYCLE)
        pred_len = max(1, min(int(wanted), n_train // 4))
    if seq_len is None:
        room = n_train - pred_len - MIN_WINDOWS + 1
        seq_len = min(max(2 * pred_len, 2 * sp, _MIN_LOOKBACK), room)
        if seq_len < 1:
            minimum = pred_len + MIN_WINDOWS
            raise ValueError(
                f"{owner}: y has {n_train} training rows; choosing the lookback needs at "
                f"least pred_len ({pred_len}) + {MIN_WINDOWS} windows = {minimum} rows. Use "
                f"more data, or set seq_len and pred_len explicitly (at least seq_len + "
                f"pred_len rows are needed then)."
            )
    return int(seq_len), int(pred_len)


def patch_len_for(seq_len):
    """Patch length that follows the lookback: ``min(16, seq_len // 6)``, at least 1.

    Examples
    --------
    >>> from skmamba.estimators._windows import patch_len_for
    >>> patch_len_for(96), patch_len_for(48), patch_len_for(5)
    (16, 8, 1)
    """
    return max(1, min(16, int(seq_len) // 6))


def resolve_patches(arch, seq_len):
    """``arch`` with ``patch_len=None`` / ``stride=None`` replaced by the rules above.

    Examples
    --------
    >>> from skmamba.estimators._windows import resolve_patches
    >>> resolve_patches({"patch_len": None, "stride": None, "d_model": 8}, 48)
    {'patch_len': 8, 'stride': 4, 'd_model': 8}
    """
    arch = dict(arch)
    if arch.get("patch_len", 0) is None:
        arch["patch_len"] = patch_len_for(seq_len)
    if arch.get("stride", 0) is None:
        arch["stride"] = max(1, arch["patch_len"] // 2)
    return arch
