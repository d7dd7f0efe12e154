"""The one sktime forecaster base that every skmamba model shares.

Everything that is not architecture lives here: input checks, horizon resolution, scaling,
calendar features, the validation split, seeding, training through
:mod:`skmamba._nn.training`, prediction, update and the batch evaluation method
:meth:`BaseMambaForecaster.predict_windows`. A concrete forecaster only lists its
parameters and builds its network (see :mod:`skmamba.estimators.smamba`).
"""

import copy
import math
import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sktime.datatypes import update_data
from sktime.forecasting.base import BaseForecaster

from .._nn import training
from ._calendar import N_CALENDAR_FEATURES, calendar_features, has_calendar

__all__ = ["BaseMambaForecaster"]

_WINDOW_PARAMETERS = """\
    seq_len : int, default={seq_len}
        Lookback: the number of past time points each forecast is made from.
    pred_len : int or None, default=None
        Trained horizon: the network forecasts steps 1..pred_len at once and ``predict``
        returns any subset of them. None takes the largest step of the ``fh`` passed to
        ``fit``; fitting with neither raises an error."""

_TRAINING_PARAMETERS = """\
    max_epochs : int, default={max_epochs}
        Training epochs (fewer when early stopping triggers).
    batch_size : int, default={batch_size}
        Windows per optimiser step.
    lr : float, default={lr}
        Learning rate of the first epoch.
    lr_decay : float, default={lr_decay}
        Multiplies the learning rate after every epoch. 0.5 reproduces the
        Time-Series-Library ``lradj=type1`` schedule behind the published numbers; 1.0 keeps
        it constant.
    loss : {{"mse", "mae", "huber", "mse+mae"}}, default="{loss}"
        Training loss, computed on the standardised series.
    optimizer : {{"adam", "adamw"}}, default="{optimizer}"
        Optimiser.
    optimizer_kwargs : dict or None, default=None
        Extra optimiser arguments, e.g. ``{{"weight_decay": 1e-4}}``.
    validation_size : int or float, default=0
        Time points at the end of ``y`` held out as validation targets (an int counts rows,
        a float in (0, 1) is a fraction of ``y``, rounded up). Their lookback comes from the
        rows before them, so no window straddles the split. Must be 0 or at least
        ``pred_len``. The scaler and the training windows only see the rows before.
    patience : int or None, default={patience}
        Stop after this many epochs without a lower validation loss; the weights of the best
        epoch are restored whenever there is validation data. Ignored without validation;
        None never stops early.
    device : {{"auto", "cpu", "cuda"}}, default="auto"
        Where to train and predict; "auto" picks CUDA when available. Weights are moved back
        to the CPU after fitting, so a fitted forecaster pickles and loads anywhere; loaded
        on a machine without CUDA, a forecaster set to "cuda" predicts on the CPU with a
        warning (fitting there raises an error).
    random_state : int, numpy.random.RandomState or None, default=None
        Seeds weight initialisation, dropout and shuffling. With an int, fits on the CPU
        are bit-for-bit reproducible, also across processes.
    verbose : int or bool, default=0
        Print one line per epoch (losses, learning rate, time) when positive."""

_COMMON_ATTRIBUTES = """\
    network_ : torch.nn.Module
        The trained network, on the CPU.
    pred_len_ : int
        The horizon the network was trained for.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_loss`` (None without validation),
        ``lr`` and ``seconds``. ``pandas.DataFrame(history_)`` tabulates it.
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        Epoch whose weights ``network_`` holds.
    columns_ : pandas.Index
        Column names of ``y``; ``n_columns_`` is their number.
    scale_mean_, scale_std_ : numpy.ndarray
        Per-column float64 mean and standard deviation of the training rows of ``y``.
    n_mark_ : int
        Calendar features passed to the network (4 for a datetime or period index, else 0).
    n_exog_ : int
        Exogenous variables passed to the network.
    seed_ : int
        The seed actually used (drawn from ``random_state``).
    device_ : str
        The device training ran on."""


# Attributes sklearn's meta-estimators set on an estimator for the duration of a fit.
_SKLEARN_RUNTIME_ATTRS = ("_parent_callback_ctx", "_skl_callbacks")


def _first_bad(values):
    """Row and column of the earliest non-finite entry of a 2-D float array, or None."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    row = int(np.argmax(bad.any(axis=1)))
    return row, int(np.argmax(bad[row]))


class BaseMambaForecaster(BaseForecaster):
    """Base of all skmamba forecasters: a deep direct multi-horizon forecaster.

    Not used directly. A subclass lists every constructor parameter in its ``__init__``
    (the common ones below plus its architecture), stores them unchanged, calls
    ``super().__init__()`` and implements ``_build_network(n_channels, n_mark, n_exog)``,
    returning a network that follows the :mod:`skmamba._nn.networks` contract. In its
    docstring the lines ``{window_parameters}`` (seq_len, pred_len), ``{training_parameters}``
    (max_epochs ... verbose) and ``{common_attributes}`` are replaced by the shared
    documentation, with the subclass's defaults filled in.

    How fit works:

    1. ``y`` (and ``X`` for forecasters with the ``capability:exogenous`` tag) are checked:
       numeric columns, no NaN or infinite values, enough rows.
    2. ``pred_len`` is resolved, the last ``validation_size`` rows are set aside as
       validation targets.
    3. Each column is standardised with the mean and standard deviation of the training rows,
       computed in float64 (so a series near 1e9 keeps its variation once cast to float32);
       a constant column gets a standard deviation of 1. Forecasts are mapped back with the
       same statistics. The networks additionally normalise every window (RevIN).
    4. With a ``DatetimeIndex`` or ``PeriodIndex`` the four Time-Series-Library ``timeF``
       calendar features (hour of day, day of week, day of month, day of year, in
       [-0.5, 0.5]) of every lookback row are passed to the network.
    5. The network is trained on every stride-1 window of the training rows (lookback
       ``seq_len``, targets ``pred_len``), shuffled, with gradient clipping at norm
       ``skmamba._nn.training.GRAD_CLIP_NORM`` (1.0), early stopping and best-weights
       restore when there is validation data.

    ``predict`` feeds the last ``seq_len`` observed rows to the network and returns the
    requested steps of ``fh`` (each within 1..pred_len). ``update(y, update_params=False)``
    only appends ``y`` to the context; ``update_params=True`` also fine-tunes on the windows
    whose last target is a new row, for ``min(2, max_epochs)`` epochs at the learning rate
    of the last fit epoch, with the scaler of the fit.

    Examples
    --------
    A minimal subclass (real ones live in their own public module and list the common
    parameters too, see :class:`~skmamba.estimators.SMambaForecaster`):

    >>> import numpy as np
    >>> from skmamba.estimators import SMambaForecaster
    >>> from skmamba.estimators._base import BaseMambaForecaster
    >>> issubclass(SMambaForecaster, BaseMambaForecaster)
    True
    >>> f = SMambaForecaster(seq_len=12, d_model=8, d_ff=8, e_layers=1, max_epochs=1,
    ...                      random_state=0)
    >>> f.fit(np.sin(np.arange(50) / 3.0), fh=[1, 2, 3]).predict().shape
    (3, 1)
    """

    _tags = {
        "authors": ["skmamba developers"],
        "maintainers": ["skmamba developers"],
        "python_dependencies": ["torch"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": False,
        "requires-fh-in-fit": False,
        "X-y-must-have-same-index": True,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:update": True,
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }

    # Fine-tuning epochs of update(update_params=True), capped by max_epochs.
    _update_epochs = 2
    # Windows per forward pass in predict_windows.
    _predict_batch_size = 256

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        doc = cls.__dict__.get("__doc__")
        if doc and "{" in doc:
            defaults = cls._common_defaults()
            for marker, text in (
                ("{window_parameters}", _WINDOW_PARAMETERS),
                ("{training_parameters}", _TRAINING_PARAMETERS),
                ("{common_attributes}", _COMMON_ATTRIBUTES),
            ):
                doc = doc.replace("    " + marker, text.format(**defaults))
            cls.__doc__ = doc

    @classmethod
    def _common_defaults(cls):
        import inspect

        sig = inspect.signature(cls.__init__)
        fallback = {"seq_len": 96, "max_epochs": 10, "batch_size": 32, "lr": 1e-3,
                    "lr_decay": 1.0, "loss": "mse", "optimizer": "adam", "patience": 3}
        names = tuple(fallback)
        out = {}
        for n in names:
            p = sig.parameters.get(n)
            out[n] = p.default if p is not None else fallback[n]
        return out

    def __sklearn_tags__(self):
        # sklearn >= 1.6 asks every estimator for its tags (GridSearchCV, clone checks) and
        # sktime objects define none.
        from sklearn.utils import InputTags, Tags, TargetTags

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

    # ------------------------------------------------------------------ subclass hooks
    def _build_network(self, n_channels, n_mark, n_exog):
        """Return a freshly initialised network (``self.pred_len_`` is set when called)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _build_network")

    def _make_loss(self):
        """The training criterion; override to pass extra options (e.g. ``mse_weight``)."""
        return training.make_loss(self.loss)

    # ------------------------------------------------------------------ input checks
    def _check_X_y(self, X=None, y=None, **kwargs):
        # Runs before sktime's own checks so NaN/inf errors name the column and timestamp.
        if y is not None:
            self._check_values(y, "y")
        if X is not None:
            # X that the forecaster ignores may hold text columns; sktime still rejects NaN.
            self._check_values(X, "X", numeric_only=not self.get_tag("capability:exogenous"))
        return super()._check_X_y(X=X, y=y, **kwargs)

    def _check_values(self, data, name, numeric_only=False):
        """Raise on non-numeric columns and on NaN or infinite values, naming where.

        With ``numeric_only`` non-numeric columns are skipped instead of rejected.
        """
        cls = type(self).__name__
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
        numeric = [pd.api.types.is_numeric_dtype(d) and not isinstance(d, pd.CategoricalDtype)
                   for d in frame.dtypes]
        if numeric_only:
            frame = frame.loc[:, numeric]
        for col, dtype in frame.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                continue  # sktime raises its own "categorical" TypeError
            if not pd.api.types.is_numeric_dtype(dtype):
                raise TypeError(
                    f"{cls}: column {col!r} of {name} has non-numeric (text or "
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
                f"{cls}: {name} contains {kind} in column {frame.columns[col]!r}, first at "
                f"{frame.index[row]!r} (row {row}). Missing and infinite values are not "
                f"supported: fill or drop them first, e.g. {name}.interpolate() or "
                f"{name}.ffill()."
            )

    def _check_common_params(self):
        cls = type(self).__name__

        def check_int(name, low, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                extra = " or None" if allow_none else ""
                raise ValueError(f"{cls}: {name} must be an int >= {low}{extra}, got {v!r}")

        check_int("seq_len", 1)
        check_int("pred_len", 1, allow_none=True)
        check_int("max_epochs", 1)
        check_int("batch_size", 1)
        check_int("patience", 1, allow_none=True)
        if not (isinstance(self.lr, numbers.Real) and 0 < self.lr and math.isfinite(self.lr)):
            raise ValueError(f"{cls}: lr must be a positive finite number, got {self.lr!r}")
        if not (isinstance(self.lr_decay, numbers.Real) and 0 < self.lr_decay <= 1):
            raise ValueError(f"{cls}: lr_decay must lie in (0, 1], got {self.lr_decay!r}")
        if self.loss not in training.LOSSES:
            raise ValueError(f"{cls}: loss must be one of {training.LOSSES}, got {self.loss!r}")
        if self.optimizer not in training.OPTIMIZERS:
            raise ValueError(
                f"{cls}: optimizer must be one of {training.OPTIMIZERS}, got {self.optimizer!r}"
            )
        if self.optimizer_kwargs is not None and not isinstance(self.optimizer_kwargs, dict):
            raise ValueError(f"{cls}: optimizer_kwargs must be a dict or None")
        vs = self.validation_size
        ok = (
            isinstance(vs, numbers.Integral) and not isinstance(vs, bool) and vs >= 0
        ) or (isinstance(vs, numbers.Real) and 0 <= vs < 1)
        if not ok:
            raise ValueError(
                f"{cls}: validation_size must be an int >= 0 (rows) or a float in [0, 1) "
                f"(fraction), got {vs!r}"
            )

    def _n_validation(self, n_rows):
        vs = self.validation_size
        if isinstance(vs, numbers.Integral):
            return int(vs)
        return int(math.ceil(float(vs) * n_rows))

    def _resolve_pred_len(self, fh):
        cls = type(self).__name__
        if fh is None:
            if self.pred_len is None:
                raise ValueError(
                    f"{cls}: the trained horizon is unknown. Pass fh to fit (e.g. "
                    f"fit(y, fh=range(1, 25))) or set pred_len in the constructor."
                )
            return int(self.pred_len)
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        largest = int(steps.max())
        if self.pred_len is None:
            return largest
        if largest > self.pred_len:
            raise ValueError(
                f"{cls}: fh reaches step {largest} but pred_len={self.pred_len}; use "
                f"pred_len >= {largest} (or pred_len=None to take it from fh)."
            )
        return int(self.pred_len)

    def _draw_seed(self):
        if isinstance(self.random_state, numbers.Integral) and not isinstance(
            self.random_state, bool
        ):
            return int(self.random_state) % (2**32)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    # ------------------------------------------------------------------ array helpers
    def _scale(self, values):
        return ((values - self.scale_mean_) / self.scale_std_).astype(np.float32)

    def _unscale(self, values):
        return values.astype(np.float64) * self.scale_std_ + self.scale_mean_

    def _scale_exog(self, values):
        return ((values - self.exog_mean_) / self.exog_std_).astype(np.float32)

    @staticmethod
    def _standardiser(values):
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        # Constant columns (std at rounding level of the mean) must not blow up.
        tiny = std <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        std = np.where(tiny, 1.0, std)
        return mean, std

    def _marks_for(self, index):
        if self.n_mark_ == 0:
            return None
        if not has_calendar(index):
            raise ValueError(
                f"{type(self).__name__} was fitted on a series with a datetime or period "
                f"index and uses its calendar features; pass data with such an index (got "
                f"{type(index).__name__})."
            )
        return calendar_features(index)

    def _exog_for(self, X, index, method):
        if self.n_exog_ == 0:
            return None
        cls = type(self).__name__
        if X is None:
            raise ValueError(
                f"{cls}: fit used exogenous X, so {method} needs X covering the same rows as y"
            )
        self._check_columns(X.columns, self.exog_columns_, "X", method)
        missing = index.difference(X.index)
        if len(missing):
            raise ValueError(f"{cls}: X lacks rows of y in {method}, first {missing[0]!r}")
        return self._scale_exog(X.loc[index].to_numpy(dtype=np.float64))

    def _check_columns(self, got, expected, name, method):
        if list(got) != list(expected):
            raise ValueError(
                f"{type(self).__name__}: {name} in {method} has columns {list(got)}, but the "
                f"forecaster was fitted on columns {list(expected)}; pass the same columns "
                f"in the same order (or refit)."
            )

    # ------------------------------------------------------------------ sktime methods
    def _fit(self, y, X, fh):
        try:
            self._fit_network(y, X, fh)
        except BaseException:
            # No half-fitted state may survive a failed fit.
            self._discard_fitted_state()
            raise
        return self

    def _discard_fitted_state(self):
        for name in list(vars(self)):
            if name in ("_cur_y", "_cur_X") or (
                name.endswith("_") and not name.startswith("_")
            ):
                delattr(self, name)

    def _fit_network(self, y, X, fh):
        cls = type(self).__name__
        self._check_common_params()
        device = training.resolve_device(self.device)
        pred_len = self._resolve_pred_len(fh)
        seq_len = int(self.seq_len)
        n_rows = len(y)
        n_val = self._n_validation(n_rows)
        if 0 < n_val < pred_len:
            raise ValueError(
                f"{cls}: validation_size={self.validation_size!r} gives {n_val} validation "
                f"rows, fewer than pred_len={pred_len}; every validation window needs "
                f"pred_len target rows. Use validation_size >= {pred_len} rows, or 0."
            )
        minimum = seq_len + pred_len + n_val
        if n_rows < minimum:
            val_txt = f" + validation rows ({n_val})" if n_val else ""
            raise ValueError(
                f"{cls}: y has {n_rows} rows, but at least seq_len ({seq_len}) + pred_len "
                f"({pred_len}){val_txt} = {minimum} are needed. Use more data, a shorter "
                f"seq_len or pred_len, or a smaller validation_size."
            )

        values = y.to_numpy(dtype=np.float64)
        n_train = n_rows - n_val
        self.pred_len_ = pred_len
        self.columns_ = y.columns.copy()
        self.n_columns_ = y.shape[1]
        self.scale_mean_, self.scale_std_ = self._standardiser(values[:n_train])
        self.n_mark_ = N_CALENDAR_FEATURES if has_calendar(y.index) else 0
        marks = self._marks_for(y.index)

        exog = None
        self.n_exog_ = 0
        if X is not None and self.get_tag("capability:exogenous") and X.shape[1] > 0:
            x_values = X.loc[y.index].to_numpy(dtype=np.float64)
            self.exog_columns_ = X.columns.copy()
            self.exog_mean_, self.exog_std_ = self._standardiser(x_values[:n_train])
            self.n_exog_ = X.shape[1]
            exog = self._scale_exog(x_values)

        width = seq_len + pred_len
        windows = training.SeriesWindows(
            self._scale(values), seq_len, pred_len, marks, exog, device=device
        )
        train_starts = np.arange(0, n_train - width + 1)
        val_starts = np.arange(n_train - seq_len, n_rows - width + 1) if n_val else None

        self.seed_ = self._draw_seed()
        with training.seeded(self.seed_, device) as generator:
            network = self._build_network(self.n_columns_, self.n_mark_, self.n_exog_)
            network = network.to(device)
            result = training.train_network(
                network, windows, train_starts, val_starts,
                max_epochs=self.max_epochs, batch_size=self.batch_size, lr=self.lr,
                lr_decay=self.lr_decay, loss_fn=self._make_loss(), optimizer=self.optimizer,
                optimizer_kwargs=self.optimizer_kwargs, patience=self.patience,
                generator=generator, verbose=self.verbose,
            )
        self.network_ = network.cpu().eval()
        self.history_ = result.history
        self.n_epochs_ = result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.device_ = str(device)
        self._cur_y = y.copy()
        self._cur_X = X.loc[y.index].copy() if self.n_exog_ else None

    def _inference_device(self):
        # A forecaster trained with device="cuda" must still forecast after being loaded on
        # a machine without a GPU (set_params would discard the fit), so fall back to CPU.
        try:
            return training.resolve_device(self.device)
        except RuntimeError as err:
            warnings.warn(f"{err} Falling back to the CPU.", RuntimeWarning, stacklevel=3)
            return training.resolve_device("cpu")

    def _forecast_lookbacks(self, values, marks, exog, n_windows):
        """Forecasts in y's units, (n_windows, pred_len, C), from scaled arrays."""
        device = self._inference_device()
        # The series goes to the device once; lookbacks are strided views into it.
        windows = training.SeriesWindows(values, self.seq_len, 0, marks, exog, device=device)
        x = windows.windows[:n_windows].transpose(1, 2)
        x_mark = None if windows.mark_windows is None else windows.mark_windows[:n_windows]
        ex = None if windows.exog_windows is None else windows.exog_windows[:n_windows]
        x_mark = None if x_mark is None else x_mark.transpose(1, 2)
        ex = None if ex is None else ex.transpose(1, 2)
        network = self.network_
        try:
            network.to(device)
            # Seeded so layers that stay stochastic at inference give repeatable forecasts.
            with training.seeded(self.seed_, device):
                out = training.predict_batches(
                    network, x, x_mark, ex, batch_size=self._predict_batch_size
                )
        finally:
            network.cpu()
        return self._unscale(out)

    def _predict(self, fh, X=None):
        cls = type(self).__name__
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        if steps.max() > self.pred_len_:
            raise ValueError(
                f"{cls}: fh reaches step {int(steps.max())}, beyond the trained horizon "
                f"pred_len_={self.pred_len_}. Refit with pred_len >= {int(steps.max())} (or "
                f"with that fh in fit)."
            )
        ctx = self._context_at_cutoff()
        marks = self._marks_for(ctx.index)
        exog = self._exog_for(self._cur_X, ctx.index, "predict")
        forecast = self._forecast_lookbacks(
            self._scale(ctx.to_numpy(dtype=np.float64)), marks, exog, 1
        )[0]
        return pd.DataFrame(
            forecast[steps - 1], index=fh.to_absolute_index(self.cutoff), columns=self.columns_
        )

    def _context_at_cutoff(self):
        # The cutoff, not the end of the stored data, anchors the lookback: an update with
        # older rows moves the cutoff back while the stored context keeps the later rows.
        cutoff = self.cutoff
        cutoff = cutoff[0] if isinstance(cutoff, pd.Index) else cutoff
        end = self._cur_y.index.get_loc(cutoff) + 1
        if end < self.seq_len:
            raise ValueError(
                f"{type(self).__name__}: only {end} observed rows end at the cutoff "
                f"{cutoff!r}, fewer than seq_len={self.seq_len}"
            )
        return self._cur_y.iloc[end - self.seq_len:end]

    def _update(self, y, X=None, update_params=True):
        self._check_columns(y.columns, self.columns_, "y", "update")
        merged_y = update_data(self._cur_y, y)
        merged_X = None
        if self.n_exog_:
            self._exog_for(X, y.index, "update")
            merged_X = update_data(self._cur_X, X.loc[y.index])
        self._cur_y, self._cur_X = merged_y, merged_X
        if update_params:
            self._fine_tune(merged_y, merged_X, merged_y.index.get_loc(y.index[0]))
        return self

    def _fine_tune(self, y, X, first_new):
        """Train a copy of the network on windows whose last target is at/after first_new."""
        width = self.seq_len + self.pred_len_
        n_rows = len(y)
        first_end = max(int(first_new), width - 1)
        if first_end >= n_rows:
            return  # too little data for a single window: only the context moves
        start = first_end - width + 1
        tail = y.iloc[start:]
        marks = self._marks_for(tail.index)
        exog = self._exog_for(X, tail.index, "update")
        device = self._inference_device()
        windows = training.SeriesWindows(
            self._scale(tail.to_numpy(dtype=np.float64)), self.seq_len, self.pred_len_,
            marks, exog, device=device,
        )
        seed = int(np.random.SeedSequence([self.seed_, n_rows]).generate_state(1)[0])
        network = copy.deepcopy(self.network_).to(device)
        with training.seeded(seed, device) as generator:
            training.train_network(
                network, windows, np.arange(len(windows)), None,
                max_epochs=min(self._update_epochs, self.max_epochs),
                batch_size=self.batch_size, lr=self.history_[-1]["lr"],
                lr_decay=self.lr_decay, loss_fn=self._make_loss(), optimizer=self.optimizer,
                optimizer_kwargs=self.optimizer_kwargs, generator=generator,
                verbose=self.verbose,
            )
        self.network_ = network.cpu().eval()

    # ------------------------------------------------------------------ public extras
    def predict_windows(self, y, X=None):
        """Forecast every complete window of a series in one batched pass.

        Window ``i`` uses rows ``[i, i + seq_len)`` of ``y`` (and ``X``) as lookback and
        forecasts rows ``[i + seq_len, i + seq_len + pred_len_)``. There is one window for
        every start whose targets lie inside ``y``: ``len(y) - seq_len - pred_len_ + 1``.
        The numbers equal ``update(y[:i + seq_len], update_params=False)`` followed by
        ``predict(fh=range(1, pred_len_ + 1))`` (up to float32 rounding of batched
        arithmetic), without touching the forecaster's state; this is how benchmark test
        sets of thousands of windows are scored.

        Parameters
        ----------
        y : pandas.DataFrame, pandas.Series or numpy.ndarray
            A series with the columns of the fitted ``y``, in the same units. With a
            datetime or period index when the forecaster was fitted on one.
        X : pandas.DataFrame, optional
            Exogenous variables over the rows of ``y``; only used by forecasters fitted
            with ``X``.

        Returns
        -------
        numpy.ndarray
            Shape ``(n_windows, pred_len_, n_columns_)``, float64, in the units of ``y``.

        Examples
        --------
        >>> import numpy as np
        >>> from skmamba.estimators import SMambaForecaster
        >>> y = np.sin(np.arange(60) / 3.0)
        >>> f = SMambaForecaster(seq_len=12, d_model=8, d_ff=8, e_layers=1, max_epochs=1,
        ...                      random_state=0).fit(y[:40], fh=range(1, 5))
        >>> f.predict_windows(y[30:]).shape
        (15, 4, 1)
        """
        self.check_is_fitted()
        cls = type(self).__name__
        if getattr(self, "_is_vectorized", False):
            raise NotImplementedError(
                f"{cls}.predict_windows works on a forecaster fitted to a single series; this "
                "one was fitted to a panel or hierarchy (one network per series)."
            )
        self._check_values(y, "y")
        if X is not None:
            self._check_values(X, "X")
        if isinstance(y, np.ndarray):
            y = pd.DataFrame(y.reshape(len(y), -1))
            y.columns = self.columns_ if y.shape[1] == self.n_columns_ else y.columns
        elif isinstance(y, pd.Series):
            y = y.to_frame(name=self.columns_[0] if self.n_columns_ == 1 else y.name)
        elif not isinstance(y, pd.DataFrame):
            raise TypeError(f"{cls}.predict_windows: y must be a DataFrame, Series or array")
        self._check_columns(y.columns, self.columns_, "y", "predict_windows")
        width = self.seq_len + self.pred_len_
        n_windows = len(y) - width + 1
        if n_windows < 1:
            raise ValueError(
                f"{cls}.predict_windows: y has {len(y)} rows, but one window needs seq_len + "
                f"pred_len_ = {width}"
            )
        if X is not None and isinstance(X, np.ndarray):
            X = pd.DataFrame(X.reshape(len(X), -1), index=y.index)
        marks = self._marks_for(y.index)
        exog = self._exog_for(X, y.index, "predict_windows")
        return self._forecast_lookbacks(
            self._scale(y.to_numpy(dtype=np.float64)), marks, exog, n_windows
        )
