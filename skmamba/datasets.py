"""Loaders for the long-term forecasting benchmark data and its standard splits.

The ETT files are not shipped with skmamba: pass the folder (or file) that holds them, or
set the ``SKMAMBA_DATA_DIR`` environment variable.
"""

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["load_ett", "ett_borders", "ETT_SHA256"]

#: sha256 of the unmodified ETDataset files (zhouhaoyi/ETDataset, ETT-small).
ETT_SHA256 = {
    "ETTh1": "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    "ETTh2": "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
}

# 12/4/4 months of hourly rows: the borders every published ETTh table uses.
_ETTH_TRAIN_END, _ETTH_VAL_END, _ETTH_TEST_END = 12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24


def _resolve(name, path):
    if path is None:
        path = os.environ.get("SKMAMBA_DATA_DIR")
        if path is None:
            raise FileNotFoundError(
                f"load_ett: no data path given for {name}. Pass path='<folder holding "
                f"{name}.csv>' or set the SKMAMBA_DATA_DIR environment variable"
            )
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"load_ett: {path} does not exist; pass the folder holding {name}.csv or the "
            "file itself"
        )
    return path


def load_ett(name="ETTh1", path=None, verify=False):
    """Load an ETT (Electricity Transformer Temperature) hourly dataset.

    Parameters
    ----------
    name : {"ETTh1", "ETTh2"}, default="ETTh1"
        Which file.
    path : str or path-like, optional
        A folder holding ``<name>.csv`` or the CSV file itself. Defaults to the
        ``SKMAMBA_DATA_DIR`` environment variable.
    verify : bool, default=False
        Check the file's sha256 against the published file and raise if it differs.

    Returns
    -------
    pandas.DataFrame
        17,420 hourly rows with a ``DatetimeIndex`` (freq ``"h"``) named ``date`` and the
        seven float columns HUFL, HULL, MUFL, MULL, LUFL, LULL, OT (the target).

    Examples
    --------
    >>> from skmamba.datasets import load_ett
    >>> df = load_ett("ETTh1", path="../shared/data")  # doctest: +SKIP
    >>> df.shape  # doctest: +SKIP
    (17420, 7)
    """
    if name not in ETT_SHA256:
        raise ValueError(f"load_ett: name must be one of {sorted(ETT_SHA256)}, got {name!r}")
    file = _resolve(name, path)
    if verify:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        if digest != ETT_SHA256[name]:
            raise ValueError(
                f"load_ett: {file} has sha256 {digest}, expected {ETT_SHA256[name]}: the file "
                "is not the published one"
            )
    df = pd.read_csv(file, parse_dates=["date"], index_col="date")
    df.index = pd.DatetimeIndex(df.index, freq="h")
    return df.astype(np.float64)


def ett_borders(seq_len=96):
    """Row borders of the standard ETTh train/validation/test split.

    Parameters
    ----------
    seq_len : int, default=96
        Lookback; the validation and test parts start ``seq_len`` rows early so that their
        first window has a full lookback.

    Returns
    -------
    dict
        ``{"train": (0, 8640), "val": (8640 - seq_len, 11520),
        "test": (11520 - seq_len, 14400)}``; rows from 14400 on are unused.

    Examples
    --------
    >>> from skmamba.datasets import ett_borders
    >>> ett_borders(96)["test"]
    (11424, 14400)
    """
    return {
        "train": (0, _ETTH_TRAIN_END),
        "val": (_ETTH_TRAIN_END - seq_len, _ETTH_VAL_END),
        "test": (_ETTH_VAL_END - seq_len, _ETTH_TEST_END),
    }
