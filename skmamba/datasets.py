"""Loaders for the long-term forecasting benchmark data and its standard splits.

The ETT files are not shipped with skmamba. :func:`load_ett` looks for them, in this order,
at an explicit ``path``, in the folder named by the ``SKMAMBA_DATA_DIR`` environment
variable, and in skmamba's cache folder; if none has the file it downloads the unmodified
file once from the ETDataset repository into the cache, checking its sha256.
"""

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["load_ett", "ett_borders", "ETT_SHA256", "ETT_URL"]

_log = logging.getLogger(__name__)

#: sha256 of the unmodified ETDataset files (zhouhaoyi/ETDataset, ETT-small).
ETT_SHA256 = {
    "ETTh1": "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    "ETTh2": "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
}

#: Folder URL the ETT files are downloaded from: ``<ETT_URL>/<name>.csv``.
ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small"

# 12/4/4 months of hourly rows: the borders every published ETTh table uses.
_ETTH_TRAIN_END, _ETTH_VAL_END, _ETTH_TEST_END = 12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24

_CHUNK = 1 << 20


def _cache_dir(cache_dir):
    """The cache folder: the argument, ``SKMAMBA_CACHE_DIR``, or the user cache folder."""
    if cache_dir is None:
        cache_dir = os.environ.get("SKMAMBA_CACHE_DIR") or None
    if cache_dir is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        cache_dir = Path(base) / "skmamba"
    return Path(cache_dir).expanduser()


def _sha256(file):
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _local_file(name, path, source):
    """``<path>/<name>.csv`` or ``path`` itself; raise if it does not exist."""
    path = Path(path).expanduser()
    file = path / f"{name}.csv" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(
            f"load_ett: {file} ({source}) does not exist; pass the folder holding {name}.csv "
            "or the file itself"
        )
    return file


def _download(name, url, target, expected, timeout):
    """Stream ``url`` into a temporary file next to ``target``, check it, then rename it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    hint = (
        f"Download {name}.csv yourself (https://github.com/zhouhaoyi/ETDataset, folder "
        f"ETT-small) and pass path='<folder holding {name}.csv>' to load_ett, or set the "
        "SKMAMBA_DATA_DIR environment variable to that folder"
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=target.parent)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "skmamba"})
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except urllib.error.HTTPError as exc:
                raise OSError(
                    f"load_ett: could not download {name} from {url}: HTTP {exc.code} "
                    f"{exc.reason}. {hint}"
                ) from exc
            except OSError as exc:  # URLError, timeouts, a full disk
                reason = getattr(exc, "reason", None) or exc
                raise OSError(
                    f"load_ett: could not download {name} from {url}: {reason}. {hint}"
                ) from exc
        got = digest.hexdigest()
        if got != expected:
            raise ValueError(
                f"load_ett: the file downloaded from {url} has sha256 {got}, expected "
                f"{expected}; it was not saved. {hint}"
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_ett(name="ETTh1", path=None, verify=False, *, download=True, cache_dir=None,
             url=None, checksums=None, timeout=60):
    """Load an ETT (Electricity Transformer Temperature) hourly dataset.

    The file is looked for, in this order:

    1. at ``path``, a folder holding ``<name>.csv`` or the file itself;
    2. in the folder named by the ``SKMAMBA_DATA_DIR`` environment variable;
    3. in the cache folder (``cache_dir``, else the ``SKMAMBA_CACHE_DIR`` environment
       variable, else ``$XDG_CACHE_HOME/skmamba``, else ``~/.cache/skmamba``);
    4. else, with ``download=True``, the unmodified file is downloaded once from the
       ETDataset repository (``<url>/<name>.csv``) into the cache. Its sha256 is checked
       before it is kept: a file that differs raises and leaves nothing in the cache.

    A ``path`` or ``SKMAMBA_DATA_DIR`` that does not hold the file raises rather than
    falling through to the cache or the download.

    Parameters
    ----------
    name : {"ETTh1", "ETTh2"}, default="ETTh1"
        Which file; any key of ``checksums``.
    path : str or path-like, optional
        A folder holding ``<name>.csv`` or the CSV file itself.
    verify : bool, default=False
        Check the sha256 of a file found at ``path``, in ``SKMAMBA_DATA_DIR`` or in the
        cache and raise if it differs from the published file. Downloads are always checked.
    download : bool, default=True
        Download the file into the cache when it is not found. With ``False`` a missing file
        raises :class:`FileNotFoundError` and nothing touches the network.
    cache_dir : str or path-like, optional
        The cache folder; see above for the default.
    url : str, optional
        Folder URL to download from; defaults to :data:`ETT_URL`, the ``ETT-small`` folder
        of the ``main`` branch of zhouhaoyi/ETDataset. A mirror must serve identical files.
    checksums : dict of str to str, optional
        Expected sha256 (hex) of each file by name; defaults to :data:`ETT_SHA256`.
    timeout : float, default=60
        Seconds to wait for the server to answer.

    Returns
    -------
    pandas.DataFrame
        For ETTh1 and ETTh2, 17,420 hourly rows with a ``DatetimeIndex`` (freq ``"h"``)
        named ``date`` and the seven float columns HUFL, HULL, MUFL, MULL, LUFL, LULL,
        OT (the target).

    Raises
    ------
    FileNotFoundError
        ``path`` or ``SKMAMBA_DATA_DIR`` does not hold the file, or it is not cached and
        ``download=False``.
    OSError
        The download failed (no connection, an HTTP error); the message names the URL.
    ValueError
        ``name`` is unknown, or a file's sha256 differs from the expected one.

    Examples
    --------
    The first call downloads ETTh1 (2.6 MB) into the cache; later calls read the cache:

    >>> from skmamba.datasets import load_ett
    >>> df = load_ett("ETTh1")  # doctest: +SKIP
    >>> df.shape  # doctest: +SKIP
    (17420, 7)

    A copy already on disk is used as it is:

    >>> df = load_ett("ETTh2", path="path/to/ETT-small")  # doctest: +SKIP
    """
    checksums = ETT_SHA256 if checksums is None else checksums
    if name not in checksums:
        raise ValueError(f"load_ett: name must be one of {sorted(checksums)}, got {name!r}")
    expected = checksums[name]
    env_dir = os.environ.get("SKMAMBA_DATA_DIR") or None
    if path is not None:
        file = _local_file(name, path, "path")
    elif env_dir is not None:
        file = _local_file(name, env_dir, "from SKMAMBA_DATA_DIR")
    else:
        file = _cache_dir(cache_dir) / f"{name}.csv"
        if not file.is_file():
            source = f"{(ETT_URL if url is None else url).rstrip('/')}/{name}.csv"
            if not download:
                raise FileNotFoundError(
                    f"load_ett: {name}.csv is not in the cache {file.parent} and "
                    f"download=False; pass path='<folder holding {name}.csv>', set the "
                    f"SKMAMBA_DATA_DIR environment variable, or allow the download from "
                    f"{source}"
                )
            _log.info("load_ett: downloading %s to %s", source, file)
            _download(name, source, file, expected, timeout)
            verify = False  # just checked
    if verify:
        digest = _sha256(file)
        if digest != expected:
            raise ValueError(
                f"load_ett: {file} has sha256 {digest}, expected {expected}: the file is not "
                "the published one"
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
