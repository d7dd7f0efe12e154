"""Weights-only model files: a fitted forecaster stored as data, loaded without running code.

sktime's ``save`` and ``pickle`` store a forecaster as a pickle, and loading a pickle runs
whatever code the file names. :func:`save_weights` instead writes a zip archive that holds
only data:

- ``meta.json``: the format and versions, the forecaster's class name (one of the classes of
  :data:`skmamba.estimators.MODELS`), its constructor parameters, and its fitted state and
  forecasting context as typed JSON (numbers, strings, lists, dicts, pandas index
  descriptions, sktime's forecasting horizon);
- ``arrays/<i>.npy``: every array, each a NumPy ``.npy`` file: the network weights, the
  scaling statistics, the calibration residuals and the columns of the observed rows the
  forecaster keeps (``y``, and ``X`` when it was fitted with exogenous variables).

:func:`load_weights` reads the JSON with :mod:`json` and the arrays with
``numpy.lib.format.read_array(..., allow_pickle=False)``, builds only the types listed
above, accepts only class names of the registry, rebuilds the network with the forecaster's
own constructor and copies the weights into it. Nothing in the file is imported, unpickled
or executed; a file that is not such an archive, or that deviates from it (a member holding a
pickle or an object array, an unknown class, a truncated or corrupt zip, weights that do not
fit the network), is refused with a :class:`ValueError` naming the problem.
"""

import io
import json
import numbers
import re
import zipfile
import zlib

import numpy as np
import pandas as pd
import sktime
import torch
from sktime.forecasting.base import ForecastingHorizon

from . import __version__
from .estimators import MODELS
from .estimators._pretrain import PRETRAINED
from .estimators._context import SeriesContext

try:  # the kind of each feature sktime records in fit (an IntEnum)
    from sktime.datatypes._dtypekind import DtypeKind
except ImportError:  # pragma: no cover - other sktime versions
    DtypeKind = None

__all__ = ["save_weights", "load_weights"]

FORMAT = "skmamba-weights"
# Version 2 holds one context per series (panels); version 1 files (one series) still load.
FORMAT_VERSION = 2
_META = "meta.json"
_NPY_MAGIC = b"\x93NUMPY"
# Attributes that are not encoded with the rest of the fitted state.
_NETWORK, _CONTEXTS = "network_", ("_y_context", "_X_context")
# Fitted attributes that a loadable file must carry.
_REQUIRED = ("_state", "_cutoff", "seq_len_", "pred_len_", "n_columns_", "n_mark_", "n_exog_",
             "columns_", "scale_mean_", "scale_std_", "seed_")
_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9_]*")
# Time zone names of the tz database ("UTC", "Europe/Berlin"): never a path, never pandas'
# "dateutil/..." prefix, which would make pandas open a file the name points to.
_TZ = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
# dtypes of arrays: booleans, numbers, datetimes and timedeltas (never objects)
_ARRAY_KINDS = "biufcmM"


def _classes():
    return {cls.__name__: cls for cls in MODELS.values()}


# ---------------------------------------------------------------------- writing
class _Encoder:
    """Turns values into typed JSON; arrays become ``.npy`` members of the archive."""

    def __init__(self):
        self.members = {}

    def array(self, values, where):
        values = np.asarray(values)
        if values.dtype.kind not in _ARRAY_KINDS or values.dtype.hasobject:
            raise TypeError(f"{where}: arrays of dtype {values.dtype} cannot be stored")
        name = f"arrays/{len(self.members)}.npy"
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.ascontiguousarray(values), allow_pickle=False)
        self.members[name] = buffer.getvalue()
        return {"type": "array", "member": name}

    def index(self, index, where):
        name = self.scalar(index.name, f"{where}.name")
        if isinstance(index, pd.MultiIndex):
            raise TypeError(f"{where}: a MultiIndex cannot be stored")
        if isinstance(index, pd.RangeIndex):
            return {"type": "index", "kind": "range", "start": int(index.start),
                    "stop": int(index.stop), "step": int(index.step), "name": name}
        if isinstance(index, pd.DatetimeIndex):
            tz = None if index.tz is None else _tz_name(str(index.tz))
            return {"type": "index", "kind": "datetime", "name": name,
                    "values": self.array(index.asi8, where), "unit": str(index.unit),
                    "tz": tz, "freq": index.freqstr}
        if isinstance(index, pd.PeriodIndex):
            return {"type": "index", "kind": "period", "name": name,
                    "ordinals": self.array(index.asi8, where), "freq": index.freqstr}
        if type(index) is not pd.Index:
            raise TypeError(f"{where}: a {type(index).__name__} cannot be stored")
        if isinstance(index.dtype, np.dtype) and index.dtype.kind in "biuf":
            return {"type": "index", "kind": "array", "name": name,
                    "values": self.array(index.to_numpy(), where)}
        labels = [self.scalar(label, f"{where} label") for label in index]
        return {"type": "index", "kind": "labels", "name": name, "labels": labels,
                "dtype": str(index.dtype)}

    def frame(self, frame, where):
        columns = []
        for i in range(frame.shape[1]):
            column = frame.iloc[:, i]
            if not isinstance(column.dtype, np.dtype):
                raise TypeError(f"{where}: column {column.name!r} of dtype {column.dtype} "
                                "cannot be stored")
            columns.append(self.array(column.to_numpy(), f"{where}[{column.name!r}]"))
        return {"type": "frame", "index": self.index(frame.index, f"{where}.index"),
                "columns": self.index(frame.columns, f"{where}.columns"), "data": columns}

    def scalar(self, value, where):
        """A hashable value: what index labels, names and dict keys may be."""
        if isinstance(value, tuple):
            return {"type": "tuple", "items": [self.scalar(v, where) for v in value]}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            return self.value(value, where)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            return value
        raise TypeError(f"{where}: a label or key of type {type(value).__name__} cannot "
                        "be stored")

    def value(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and type(value) in (int, float):
            return value
        if DtypeKind is not None and isinstance(value, DtypeKind):
            return {"type": "dtypekind", "value": int(value)}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {"type": "npscalar", "dtype": value.dtype.str, "value": value.item()}
        if isinstance(value, np.ndarray):
            return self.array(value, where)
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"type": "tuple",
                    "items": [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            return {"type": "dict", "items": [
                [self.scalar(k, f"{where} key"), self.value(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ]}
        if isinstance(value, pd.Index):
            return self.index(value, where)
        if isinstance(value, pd.DataFrame):
            return self.frame(value, where)
        if isinstance(value, pd.Series):
            return {"type": "series", "name": self.scalar(value.name, f"{where}.name"),
                    "frame": self.frame(value.to_frame(name=0), where)}
        if isinstance(value, ForecastingHorizon):
            return {"type": "fh", "values": self.index(value.to_pandas(), where),
                    "is_relative": bool(value.is_relative), "freq": value.freq}
        raise TypeError(f"{where}: a value of type {type(value).__name__} cannot be stored")


def _tz_name(name):
    if not _TZ.fullmatch(name) or name.lower().startswith("dateutil"):
        raise TypeError(f"the time zone {name!r} is not a tz database name; convert the "
                        "index to one (tz_convert('UTC'), for instance)")
    return name


def _plain(value, where):
    """A constructor parameter as JSON; tuples are kept apart from lists."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, list):
        return [_plain(v, where) for v in value]
    if isinstance(value, tuple):
        return {"type": "tuple", "items": [_plain(v, where) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"type": "dict", "items": [[k, _plain(v, where)] for k, v in value.items()]}
    raise ValueError(
        f"parameter {where}={value!r} cannot be stored in a weights-only file: parameters "
        "must be None, bool, int, float, str, or lists, tuples and str-keyed dicts of these. "
        "Fit a forecaster whose parameters are (an int random_state, for instance), or save "
        "this one with sktime's save or pickle."
    )


def save_weights(forecaster, path):
    """Save a fitted skmamba forecaster as a weights-only file: data, no code.

    The file is a zip archive: ``meta.json`` (the class name, the constructor parameters,
    the fitted attributes and sktime's forecasting state as JSON) and NumPy ``.npy`` arrays
    (the network weights, the scaling statistics and the observed rows the forecaster keeps
    for ``predict`` and ``update``). :func:`load_weights` rebuilds a forecaster that
    predicts exactly like this one, and never runs code from the file, so the format suits
    models that are exchanged; see :ref:`saving`.

    Parameters
    ----------
    forecaster : BaseMambaForecaster
        A fitted forecaster of one of the classes in :data:`skmamba.estimators.MODELS`,
        fitted on a single (univariate or multivariate) series.
    path : str, os.PathLike or binary file object
        Where to write; an existing file is overwritten.

    Raises
    ------
    sktime.exceptions.NotFittedError
        If the forecaster is not fitted.
    TypeError
        If ``forecaster`` is not an skmamba forecaster.
    ValueError
        If a constructor parameter, or a part of the fitted state, cannot be stored as data
        (a ``numpy.random.RandomState`` as ``random_state``, for instance).

    See Also
    --------
    load_weights : read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skmamba import SMambaForecaster, load_weights, save_weights
    >>> f = SMambaForecaster(seq_len=12, d_model=8, d_ff=8, e_layers=1, max_epochs=1,
    ...                      random_state=0).fit(np.sin(np.arange(50) / 3.0), fh=[1, 2, 3])
    >>> path = os.path.join(tempfile.mkdtemp(), "smamba.zip")
    >>> save_weights(f, path)
    >>> np.array_equal(load_weights(path).predict(), f.predict())
    True
    """
    cls = type(forecaster)
    if _classes().get(cls.__name__) is not cls:
        raise TypeError(
            f"save_weights stores skmamba forecasters ({', '.join(_classes())}), "
            f"not {cls.__name__}; use sktime's save or pickle for other objects."
        )
    forecaster.check_is_fitted(method_name="save_weights")
    params = forecaster.get_params(deep=False)
    encoder = _Encoder()
    state = {}
    for name, value in vars(forecaster).items():
        if name in params or name == _NETWORK or name in _CONTEXTS or name in PRETRAINED:
            continue
        try:
            state[name] = encoder.value(value, name)
        except TypeError as err:
            raise ValueError(
                f"save_weights: the fitted state of this {cls.__name__} cannot be stored as "
                f"data ({err})."
            ) from None
    contexts = {}
    for name in _CONTEXTS:
        context = getattr(forecaster, name, None)
        try:
            contexts[name] = None if context is None else [
                encoder.frame(c.frame(), f"{name}[{i}]") for i, c in enumerate(context)]
        except TypeError as err:
            raise ValueError(f"save_weights: {err}") from None
    tensors = []
    for key, tensor in forecaster.network_.state_dict().items():
        try:
            values = tensor.detach().cpu().numpy()
        except TypeError as err:  # dtypes NumPy lacks (bfloat16)
            raise ValueError(f"save_weights: network tensor {key!r}: {err}") from None
        tensors.append([key, encoder.array(values, f"network tensor {key!r}")])
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "versions": {"skmamba": __version__, "torch": torch.__version__,
                     "sktime": sktime.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__},
        "class": cls.__name__,
        "params": {name: _plain(value, name) for name, value in params.items()},
        "state": state, "contexts": contexts,
        "network": {"class": type(forecaster.network_).__name__, "tensors": tensors},
    }
    text = json.dumps(meta, indent=1)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_META, text)
        for name, data in encoder.members.items():
            archive.writestr(name, data)


# ---------------------------------------------------------------------- reading
class _Decoder:
    """Builds values from typed JSON, reading arrays from the archive's ``.npy`` members."""

    def __init__(self, archive):
        self.archive = archive
        self.used = set()

    def array(self, node):
        name = node["member"]
        if not isinstance(name, str) or name not in self.archive.members:
            raise ValueError(f"meta.json refers to an array member {name!r} that the file "
                             "lacks")
        self.used.add(name)
        data = self.archive.read(name)
        if not data.startswith(_NPY_MAGIC):
            kind = "a pickle" if data[:1] == b"\x80" else "not a NumPy .npy array"
            raise ValueError(f"member {name!r} is {kind}; a weights-only file holds only "
                             ".npy arrays (refusing to load it: it may carry code)")
        try:
            values = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        except ValueError as err:  # object arrays (pickled), bad headers, short data
            raise ValueError(f"member {name!r} is not a plain numeric array ({err}); "
                             "refusing to load it") from None
        if values.dtype.kind not in _ARRAY_KINDS or values.dtype.hasobject:
            raise ValueError(f"member {name!r} has dtype {values.dtype}, which a "
                             "weights-only file never holds")
        return values

    def index(self, node):
        if not isinstance(node, dict) or node.get("type") != "index":
            raise ValueError(f"expected an index description, got {node!r:.80}")
        kind, name = node["kind"], self.value(node["name"])
        if kind == "range":
            return pd.RangeIndex(_int(node["start"]), _int(node["stop"]), _int(node["step"]),
                                 name=name)
        if kind == "datetime":
            unit = node["unit"]
            if unit not in ("s", "ms", "us", "ns"):
                raise ValueError(f"unknown datetime unit {unit!r}")
            values = pd.DatetimeIndex(self.int_array(node["values"]).view(
                f"datetime64[{unit}]"))
            if node["tz"] is not None:
                try:
                    tz = _tz_name(_str(node["tz"]))
                except TypeError as err:
                    raise ValueError(str(err)) from None
                values = values.tz_localize("UTC").tz_convert(tz)
            return pd.DatetimeIndex(values, freq=_opt_str(node["freq"]), name=name)
        if kind == "period":
            dtype = pd.PeriodDtype(_str(node["freq"]))
            values = pd.arrays.PeriodArray(self.int_array(node["ordinals"]), dtype=dtype)
            return pd.PeriodIndex(values, name=name)
        if kind == "array":
            values = self.array(node["values"])
            if values.ndim != 1 or values.dtype.kind not in "biuf":
                raise ValueError("an index array must be one-dimensional and numeric")
            return pd.Index(values, name=name)
        if kind == "labels":
            dtype = pd.api.types.pandas_dtype(_str(node["dtype"]))
            if not (dtype == object or isinstance(dtype, pd.StringDtype)):
                raise ValueError(f"index labels of dtype {dtype} are not allowed")
            labels = [self.value(label) for label in _list(node["labels"])]
            return pd.Index(labels, dtype=dtype, name=name)
        raise ValueError(f"unknown index kind {kind!r}")

    def int_array(self, node):
        values = self.array(node)
        if values.ndim != 1 or values.dtype != np.int64:
            raise ValueError("index positions must be a one-dimensional int64 array")
        return values

    def frame(self, node):
        if not isinstance(node, dict) or node.get("type") != "frame":
            raise ValueError(f"expected a frame description, got {node!r:.80}")
        index, columns = self.index(node["index"]), self.index(node["columns"])
        data = [self.array(column) for column in _list(node["data"])]
        if len(data) != len(columns) or any(
            d.ndim != 1 or len(d) != len(index) for d in data
        ):
            raise ValueError("a frame's columns do not match its index and column labels")
        frame = pd.DataFrame(dict(enumerate(data)), index=index)
        frame.columns = columns
        return frame

    def value(self, node):
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if not isinstance(node, dict):
            raise ValueError(f"unexpected JSON value {node!r:.80}")
        kind = node.get("type")
        if kind == "tuple":
            return tuple(self.value(v) for v in _list(node["items"]))
        if kind == "dict":
            out = {}
            for pair in _list(node["items"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError("dict items must be [key, value] pairs")
                out[self.value(pair[0])] = self.value(pair[1])
            return out
        if kind == "npscalar":
            dtype = np.dtype(_str(node["dtype"]))
            if dtype.kind not in "biuf":
                raise ValueError(f"scalar dtype {dtype} is not allowed")
            return dtype.type(node["value"])
        if kind == "dtypekind":
            if DtypeKind is None:
                raise ValueError("this sktime has no DtypeKind")
            return DtypeKind(_int(node["value"]))
        if kind == "array":
            return self.array(node)
        if kind == "index":
            return self.index(node)
        if kind == "frame":
            return self.frame(node)
        if kind == "series":
            frame = self.frame(node["frame"])
            if frame.shape[1] != 1:
                raise ValueError("a series must have one column")
            return frame.iloc[:, 0].rename(self.value(node["name"]))
        if kind == "fh":
            return ForecastingHorizon(self.index(node["values"]),
                                      is_relative=bool(node["is_relative"]),
                                      freq=_opt_str(node["freq"]))
        raise ValueError(f"unknown value type {kind!r}")


def _int(value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r:.80}")
    return value


def _str(value):
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r:.80}")
    return value


def _opt_str(value):
    return None if value is None else _str(value)


def _list(value):
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {value!r:.80}")
    return value


def _plain_value(node):
    """A constructor parameter from JSON (the inverse of ``_plain``)."""
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, list):
        return [_plain_value(v) for v in node]
    if isinstance(node, dict) and node.get("type") == "tuple":
        return tuple(_plain_value(v) for v in _list(node["items"]))
    if isinstance(node, dict) and node.get("type") == "dict":
        return {_str(k): _plain_value(v) for k, v in _list(node["items"])}
    raise ValueError(f"unexpected parameter value {node!r:.80}")


def _check_attribute(cls, name, params):
    """Only data attributes may be set: no methods, class settings or parameters."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name.startswith("__"):
        raise ValueError(f"invalid attribute name {name!r:.80}")
    if name in params or name == _NETWORK or name in _CONTEXTS:
        raise ValueError(f"attribute {name!r} may not be set from the fitted state")
    if getattr(cls, name, None) is not None:
        raise ValueError(f"attribute {name!r} belongs to the class {cls.__name__}; a "
                         "weights-only file may not replace it")


def load_weights(path):
    """Load a forecaster from a file written by :func:`save_weights`, running no code.

    The class is looked up by name among :data:`skmamba.estimators.MODELS` (no other class
    is ever imported), constructed with the stored parameters and given the stored fitted
    state and observed rows; its network is rebuilt by the class and the stored weights are
    copied into it. The forecaster predicts, gives intervals and updates exactly like the
    one that was saved, when loaded with the same versions of skmamba, PyTorch, sktime,
    NumPy and pandas (the file records those it was written with).

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        A file written by :func:`save_weights`.

    Returns
    -------
    BaseMambaForecaster
        The fitted forecaster.

    Raises
    ------
    ValueError
        If the file is not a weights-only file or deviates from the format: not a zip
        archive or a truncated or corrupt one, a member that is not a plain ``.npy`` array
        (a pickle, an object array), a class name outside the registry, malformed JSON or
        weights that do not fit the rebuilt network. Nothing from such a file is executed.

    See Also
    --------
    save_weights : write the file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from skmamba import MixMambaForecaster, load_weights, save_weights
    >>> f = MixMambaForecaster(seq_len=12, d_model=8, max_epochs=1, random_state=0)
    >>> f = f.fit(np.cos(np.arange(60) / 4.0), fh=range(1, 5))
    >>> buffer = io.BytesIO()
    >>> save_weights(f, buffer)
    >>> loaded = load_weights(io.BytesIO(buffer.getvalue()))
    >>> type(loaded).__name__, loaded.seq_len_, loaded.pred_len_
    ('MixMambaForecaster', 12, 4)
    >>> np.array_equal(loaded.predict_interval(), f.predict_interval())
    True
    >>> load_weights(io.BytesIO(buffer.getvalue()[:500]))
    Traceback (most recent call last):
    ...
    ValueError: not a weights-only skmamba file: ... (a truncated or corrupt zip archive?)
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise ValueError(f"not a weights-only skmamba file: {err} (a truncated or corrupt "
                         "zip archive?)") from None
    with archive:
        try:
            return _load(_Archive(archive))
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise ValueError(f"corrupt weights-only file: {err}") from None
        except (KeyError, TypeError, IndexError, AttributeError, OverflowError,
                RecursionError) as err:
            raise ValueError(f"malformed weights-only file: {type(err).__name__}: {err}") \
                from None


class _Archive:
    """The members of a zip archive, read on demand."""

    def __init__(self, archive):
        self.zip = archive
        self.members = set(archive.namelist())

    def read(self, name):
        return self.zip.read(name)


def _load(archive):
    if _META not in archive.members:
        raise ValueError(f"not a weights-only skmamba file: it has no {_META}")
    try:
        meta = json.loads(archive.read(_META).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{_META} is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"not a weights-only skmamba file: {_META} does not name the "
                         f"format {FORMAT!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ValueError(f"weights-only format version {version!r} is not supported by this "
                         f"skmamba (it reads versions up to {FORMAT_VERSION})")
    name = meta.get("class")
    classes = _classes()
    if name not in classes:
        raise ValueError(f"unknown forecaster class {name!r:.80} in {_META}; a weights-only "
                         f"file may only name one of {', '.join(classes)}")
    cls = classes[name]
    params = meta["params"]
    if not isinstance(params, dict):
        raise ValueError("the stored parameters are not a JSON object")
    expected = set(cls.get_param_names())
    if set(params) - expected:
        raise ValueError(f"{name} has no parameters {sorted(set(params) - expected)}")
    forecaster = cls(**{k: _plain_value(v) for k, v in params.items()})

    decoder = _Decoder(archive)
    state = meta["state"]
    if not isinstance(state, dict):
        raise ValueError("the stored fitted state is not a JSON object")
    missing = [n for n in _REQUIRED if n not in state]
    if missing:
        raise ValueError(f"the stored fitted state lacks {missing}")
    for attr, node in state.items():
        _check_attribute(cls, attr, params)
        setattr(forecaster, attr, decoder.value(node))
    if forecaster._state != "fitted":
        raise ValueError("the stored forecaster is not fitted")
    for attr in ("seq_len_", "pred_len_", "n_columns_", "n_mark_", "n_exog_", "seed_"):
        value = getattr(forecaster, attr)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"fitted attribute {attr} must be a non-negative int")

    if version == 1:  # written before panels: one series, one context
        forecaster.series_keys_, forecaster._index_names = None, [None]
    contexts = meta["contexts"]
    forecaster._y_context = _contexts(decoder, contexts["_y_context"], version)
    x_context = contexts.get("_X_context")
    forecaster._X_context = (None if x_context is None
                             else _contexts(decoder, x_context, version))
    keys = forecaster.series_keys_
    n_series = 1 if keys is None else len(keys)
    if len(forecaster._y_context) != n_series or (
            forecaster._X_context is not None and len(forecaster._X_context) != n_series):
        raise ValueError("the stored contexts do not match the stored series")
    if forecaster.n_exog_ and forecaster._X_context is None:
        raise ValueError("the forecaster uses exogenous X but the file holds no X rows")

    forecaster.network_ = _network(forecaster, decoder, meta["network"])
    unused = archive.members - decoder.used - {_META}
    if unused:
        raise ValueError(f"unexpected members in the file: {sorted(unused)[:5]}")
    return forecaster


def _contexts(decoder, node, version):
    """One ``SeriesContext`` per stored series (version 1 stored a single frame)."""
    nodes = [node] if version == 1 else _list(node)
    return [SeriesContext(decoder.frame(n)) for n in nodes]


def _network(forecaster, decoder, node):
    weights = {}
    for pair in _list(node["tensors"]):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("network tensors must be [name, array] pairs")
        weights[_str(pair[0])] = decoder.array(pair[1])
    try:
        # Initialising the layers draws from torch's global generator; keep the user's.
        with torch.random.fork_rng(devices=[]):
            network = forecaster._build_network(
                forecaster.n_columns_, forecaster.n_mark_, forecaster.n_exog_)
    except Exception as err:
        raise ValueError(f"the stored parameters and fitted attributes do not rebuild a "
                         f"{type(forecaster).__name__} network ({type(err).__name__}: "
                         f"{err})") from None
    if node.get("class") != type(network).__name__:
        raise ValueError(f"the file's network is a {node.get('class')!r:.80}, the rebuilt "
                         f"one a {type(network).__name__}")
    expected = network.state_dict()
    if set(weights) != set(expected):
        raise ValueError(
            f"the network weights do not match the rebuilt network: missing "
            f"{sorted(set(expected) - set(weights))[:5]}, unexpected "
            f"{sorted(set(weights) - set(expected))[:5]}")
    tensors = {}
    for key, values in weights.items():
        target = expected[key]
        tensor = torch.from_numpy(values)
        if tensor.dtype != target.dtype or tuple(tensor.shape) != tuple(target.shape):
            raise ValueError(
                f"network tensor {key!r} is {tensor.dtype} {tuple(tensor.shape)}; the "
                f"rebuilt network needs {target.dtype} {tuple(target.shape)}")
        tensors[key] = tensor
    network.load_state_dict(tensors, strict=True)
    return network.cpu().eval()
