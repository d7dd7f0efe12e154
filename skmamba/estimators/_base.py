"""The one sktime forecaster base that every skmamba model shares: the sktime protocol.

``fit``, ``predict``, ``update`` and the batch evaluation method
:meth:`BaseMambaForecaster.predict_windows`. The rest lives in modules named for what they
hold: the common parameters and their documentation (``_common_params``), input checks
(``_validation``), scaling and features (``_data``), sklearn compatibility
(``_sklearn_compat``), and training (:mod:`skmamba._nn.training`). A concrete forecaster
lists its parameters and names its network class (see :mod:`skmamba.estimators.smamba`).
"""

import copy
import dataclasses
import warnings

import numpy as np
import pandas as pd
from sktime.forecasting.base import BaseForecaster

from .._nn import checkpoint, training
from . import _data, _validation, _windows
from ._common_params import ParametersMixin
from ._context import SeriesContext
from ._probabilistic import ProbabilisticMixin
from ._sklearn_compat import SklearnCompatMixin

__all__ = ["BaseMambaForecaster"]


class BaseMambaForecaster(
    ProbabilisticMixin, ParametersMixin, SklearnCompatMixin, BaseForecaster
):
    """Base of all skmamba forecasters: a deep direct multi-horizon forecaster.

    Not used directly. A subclass names its network class in ``_network``, lists every
    constructor parameter in its ``__init__`` (the common ones below plus its architecture),
    stores them unchanged and calls ``super().__init__()``. The base builds the network as
    ``_network(seq_len=..., pred_len=..., n_channels=..., n_mark=..., n_exog=..., **arch)``,
    where ``arch`` holds every constructor parameter that is not common (and not listed in
    ``_loss_parameters``, which go to the loss instead), so each architecture parameter and
    its default are written once, in the forecaster. In its docstring the lines
    ``{window_parameters}`` (seq_len, pred_len), ``{training_parameters}`` (max_epochs ...
    verbose) and ``{common_attributes}`` are replaced by the shared documentation, with the
    subclass's defaults filled in.

    How fit works: ``y`` (and ``X`` for forecasters with the ``capability:exogenous`` tag)
    are checked (numeric, finite, long enough); ``pred_len`` is resolved and the last
    ``validation_size`` rows set aside as validation targets; each column is standardised
    with float64 statistics of the training rows (a constant column gets std 1; the networks
    also normalise every window, RevIN); with a ``DatetimeIndex`` or ``PeriodIndex`` the four
    ``timeF`` calendar features of every lookback row go to the network; the network trains
    on every stride-1 window of the training rows, shuffled, with gradients clipped at
    ``skmamba._nn.training.GRAD_CLIP_NORM``, early stopping and best-weights restore when
    there is validation data.

    ``predict`` feeds the last ``seq_len`` observed rows to the network and returns the
    requested steps of ``fh`` (each within 1..pred_len). ``update(y, update_params=False)``
    only appends ``y`` to the context; ``update_params=True`` also fine-tunes on the windows
    whose last target is a new row, for ``min(2, max_epochs)`` epochs at the learning rate
    of the last fit epoch, with the scaler of the fit.

    Examples
    --------
    Every forecaster is one of its subclasses:

    >>> import numpy as np
    >>> from skmamba.estimators import BaseMambaForecaster, SMambaForecaster
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
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:update": True,
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }
    # The forecaster keeps its own context (``_cur_y``), so sktime need not store a second
    # copy; setting this explicitly also silences sktime's warning about its future default.
    _config = {"remember_data": False}
    # sktime creates these only when remember_data is on at construction; a user may still
    # switch it on later with set_config, and sktime then expects them to exist.
    _y = None
    _X = None

    # Fine-tuning epochs of update(update_params=True), capped by max_epochs.
    _update_epochs = 2
    # Windows per forward pass in predict_windows.
    _predict_batch_size = 256

    # ------------------------------------------------------------------ building blocks
    def _train(self, make_network, windows, train_starts, val_starts, options, seed, device):
        """Build (inside the seeded block) and train a network; fit and fine-tune share it."""
        with training.seeded(seed, device) as generator:
            network = make_network().to(device)
            result = training.train_network(
                network, windows, train_starts, val_starts, options=options,
                generator=generator,
            )
        return network.cpu().eval(), result

    def _scale(self, values):
        return _data.scale(values, self.scale_mean_, self.scale_std_)

    def _marks_for(self, index):
        return _data.marks_for(type(self).__name__, index, self.n_mark_)

    def _exog_for(self, X, index, method):
        if self.n_exog_ == 0:
            return None
        return _data.exog_rows(type(self).__name__, X, index, self.exog_columns_,
                               self.exog_mean_, self.exog_std_, method)

    def _inference_device(self):
        # A forecaster trained with device="cuda" must still forecast after being loaded on
        # a machine without a GPU (set_params would discard the fit), so fall back to CPU.
        try:
            return training.resolve_device(self.device)
        except RuntimeError as err:
            warnings.warn(f"{err} Falling back to the CPU.", RuntimeWarning, stacklevel=3)
            return training.resolve_device("cpu")

    # ------------------------------------------------------------------ sktime methods
    def _check_X_y(self, X=None, y=None, **kwargs):
        # Runs before sktime's own checks so NaN/inf errors name the column and timestamp.
        owner = type(self).__name__
        if y is not None:
            _validation.check_values(owner, y, "y")
        if X is not None:
            # X that the forecaster ignores may hold text columns; sktime still rejects NaN.
            _validation.check_values(
                owner, X, "X", numeric_only=not self.get_tag("capability:exogenous")
            )
        return super()._check_X_y(X=X, y=y, **kwargs)

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
            if name in ("_y_context", "_X_context") or (
                name.endswith("_") and not name.startswith("_")
            ):
                delattr(self, name)

    def _fit_network(self, y, X, fh):
        cls = type(self).__name__
        _validation.check_window_params(cls, self.seq_len, self.pred_len, self.validation_size)
        options = self._training_options()
        device = training.resolve_device(self.device)
        n_rows = len(y)
        n_val = _validation.n_validation_rows(self.validation_size, n_rows)
        fh_max = None if fh is None else int(np.max(fh.to_relative(self.cutoff)))
        seq_len, pred_len = _windows.choose_windows(
            cls, n_rows - n_val, _windows.seasonal_period(y.index), self.seq_len,
            self.pred_len, fh_max,
        )
        _validation.check_enough_rows(cls, n_rows, seq_len, pred_len, n_val,
                                      self.validation_size)

        n_train = n_rows - n_val
        use_exog = X is not None and self.get_tag("capability:exogenous") and X.shape[1] > 0
        fitted, values, marks, exog = _data.fit_preprocessing(
            cls, y, X if use_exog else None, n_train
        )
        self.seq_len_, self.pred_len_ = seq_len, pred_len
        vars(self).update(fitted)
        width = seq_len + pred_len
        windows = training.SeriesWindows(values, seq_len, pred_len, marks, exog, device=device)
        train_starts = np.arange(0, n_train - width + 1)
        val_starts = np.arange(n_train - seq_len, n_rows - width + 1) if n_val else None

        self.seed_ = _validation.seed_from(self.random_state)
        if self.checkpoint_dir is not None:
            # Named by everything the fit depends on, so only the same fit resumes from it.
            params = sorted((k, v) for k, v in self.get_params(deep=False).items()
                            if k not in ("checkpoint_dir", "verbose", "device"))
            options = dataclasses.replace(options, checkpoint_path=checkpoint.path_for(
                self.checkpoint_dir, cls, repr(params), self.seed_, values, marks, exog,
                train_starts, val_starts))
        self.network_, result = self._train(
            lambda: self._build_network(self.n_columns_, self.n_mark_, self.n_exog_),
            windows, train_starts, val_starts, options, self.seed_, device,
        )
        self._calibrate(windows, val_starts if n_val else train_starts, device)
        self.history_ = result.history
        self.n_epochs_ = result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.device_ = str(device)
        self._y_context = SeriesContext(y.copy())
        self._X_context = SeriesContext(X.loc[y.index].copy()) if self.n_exog_ else None

    def _network_forecast(self, values, marks, exog, n_windows):
        """Scaled forecasts (n_windows, pred_len_, C) of the first windows of scaled arrays."""
        device = self._inference_device()
        # The series goes to the device once; lookbacks are strided views into it.
        windows = training.SeriesWindows(values, self.seq_len_, 0, marks, exog, device=device)
        x, x_mark, ex = windows.lookbacks(n_windows)
        network = self.network_
        on_cpu = device.type == "cpu"  # the weights live there: no move per forecast
        try:
            if not on_cpu:
                network.to(device)
            # Seeded so layers that stay stochastic at inference give repeatable forecasts.
            with training.seeded(self.seed_, device):
                return training.predict_batches(
                    network, x, x_mark, ex, batch_size=self._predict_batch_size
                )
        finally:
            if not on_cpu:
                network.cpu()

    def _predict(self, fh, X=None):
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        raw = self._roll_out(int(steps.max()), X)
        forecast = _data.unscale(self._point(raw), self.scale_mean_, self.scale_std_)
        return pd.DataFrame(
            forecast[steps - 1], index=_data.index_after(self.cutoff, steps, fh),
            columns=self.columns_,
        )

    def _roll_out(self, horizon, X):
        """The network's outputs for steps 1..horizon after the cutoff, in scaled units.

        Up to ``pred_len_`` steps come from one network pass; later ones by recursive
        roll-out: each block's point forecast is appended to the lookback and forecast from
        again. Shape (horizon, C) for a point output, (horizon, C, k) for k parameters.
        """
        cls, lookback, block = type(self).__name__, self.seq_len_, self.pred_len_
        n_blocks = -(-horizon // block)
        ctx = self._rows_at_cutoff()
        index = ctx.index
        if n_blocks > 1 and (self.n_mark_ or self.n_exog_):
            index = index.append(
                _data.index_after(self.cutoff, np.arange(1, (n_blocks - 1) * block + 1))
            )
        marks = self._marks_for(index)
        exog = None
        if self.n_exog_:
            X_rows = _data.lookback_and_future_rows(
                cls, self._X_context.rows_at(index[:lookback]), index[lookback:], X, block
            )
            exog = self._exog_for(X_rows, index, "predict")
        values = self._scale(ctx.to_numpy(dtype=np.float64))
        blocks = []
        for b in range(n_blocks):
            rows = slice(b * block, b * block + lookback)
            out = self._network_forecast(
                values[-lookback:], None if marks is None else marks[rows],
                None if exog is None else exog[rows], 1,
            )[0]
            blocks.append(out)
            if b + 1 < n_blocks:
                values = np.concatenate([values, self._point(out)])
        return np.concatenate(blocks)[:horizon]

    def _rows_at_cutoff(self):
        # The cutoff, not the end of the stored data, anchors the lookback: an update with
        # older rows moves the cutoff back while the stored context keeps the later rows.
        cutoff = self.cutoff
        cutoff = cutoff[0] if isinstance(cutoff, pd.Index) else cutoff
        ctx = self._y_context.rows_ending_at(cutoff, self.seq_len_)
        if len(ctx) < self.seq_len_:
            raise ValueError(
                f"{type(self).__name__}: only {len(ctx)} observed rows end at the cutoff "
                f"{cutoff!r}, fewer than seq_len_={self.seq_len_}"
            )
        return ctx

    def _update(self, y, X=None, update_params=True):
        _validation.check_columns(type(self).__name__, y.columns, self.columns_, "y", "update")
        appended = y.index[0] > self._y_context.last_label
        if self.n_exog_:
            _data.check_exog(type(self).__name__, X, y.index, self.exog_columns_, "update")
            self._X_context.append(X.loc[y.index])
        self._y_context.append(y)
        if update_params:
            self._fine_tune(y, appended)
        return self

    def _fine_tune(self, y_new, appended):
        """Train a copy of the network on the windows whose last target is a new row."""
        width = self.seq_len_ + self.pred_len_
        n_rows = len(self._y_context)
        if appended:
            tail = self._y_context.rows_ending_at(
                self._y_context.last_label, min(n_rows, len(y_new) + width - 1)
            )
        else:
            full = self._y_context.frame()
            first_end = max(int(full.index.get_loc(y_new.index[0])), width - 1)
            tail = full.iloc[first_end - width + 1:]
        if len(tail) < width:
            return  # too little data for a single window: only the context moves
        marks = self._marks_for(tail.index)
        X_tail = self._X_context.rows_at(tail.index) if self.n_exog_ else None
        exog = self._exog_for(X_tail, tail.index, "update")
        device = self._inference_device()
        windows = training.SeriesWindows(
            self._scale(tail.to_numpy(dtype=np.float64)), self.seq_len_, self.pred_len_,
            marks, exog, device=device,
        )
        options = dataclasses.replace(
            self._training_options(), max_epochs=min(self._update_epochs, self.max_epochs),
            lr=self.history_[-1]["lr"], patience=None,
        )
        seed = int(np.random.SeedSequence([self.seed_, n_rows]).generate_state(1)[0])
        network = copy.deepcopy(self.network_)
        self.network_, _ = self._train(
            lambda: network, windows, np.arange(len(windows)), None, options, seed, device
        )

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
        _validation.check_values(cls, y, "y")
        if X is not None:
            _validation.check_values(cls, X, "X")
        y = _data.as_frame(cls, y, self.columns_, "predict_windows")
        width = self.seq_len_ + self.pred_len_
        n_windows = len(y) - width + 1
        if n_windows < 1:
            raise ValueError(
                f"{cls}.predict_windows: y has {len(y)} rows, but one window needs seq_len_ + "
                f"pred_len_ = {width}"
            )
        if X is not None and isinstance(X, np.ndarray):
            X = pd.DataFrame(X.reshape(len(X), -1), index=y.index)
        marks = self._marks_for(y.index)
        exog = self._exog_for(X, y.index, "predict_windows")
        out = self._network_forecast(
            self._scale(y.to_numpy(dtype=np.float64)), marks, exog, n_windows
        )
        return _data.unscale(self._point(out), self.scale_mean_, self.scale_std_)
