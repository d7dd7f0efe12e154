"""The one sktime forecaster base that every skmamba model shares: the sktime protocol.

``fit``, ``predict``, ``update`` and the batch evaluation method
:meth:`BaseMambaForecaster.predict_windows`. The rest lives in modules named for what they
hold: the common parameters and their documentation (``_common_params``), input checks
(``_validation``), scaling and features (``_data``), panels split into series and
forecasts put back (``_panel``), pretraining (``_pretrain``), probabilistic forecasts
(``_probabilistic``), sklearn compatibility (``_sklearn_compat``), and training
(:mod:`skmamba._nn.training`, :mod:`skmamba._nn.distributed`). A concrete forecaster
lists its parameters and names its network class (see :mod:`skmamba.estimators.smamba`).
"""

import copy
import dataclasses
import functools
import warnings

import numpy as np
import pandas as pd
from sktime.forecasting.base import BaseForecaster

from .._nn import checkpoint, distributed, training
from .._nn.windows import _as_tensor
from . import _data, _panel, _validation, _windows
from ._common_params import ParametersMixin
from ._context import SeriesContext
from ._pretrain import PRETRAINED, PretrainMixin
from ._probabilistic import ProbabilisticMixin
from ._sklearn_compat import SklearnCompatMixin

__all__ = ["BaseMambaForecaster"]


class BaseMambaForecaster(
    ProbabilisticMixin, PretrainMixin, ParametersMixin, SklearnCompatMixin, BaseForecaster
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

    A panel or hierarchy (sktime's ``pd-multiindex`` and ``pd_multiindex_hier``) is taken
    whole: one global network trains on the windows of all its series, each standardised by
    its own training rows' statistics (the series are held end to end and windows that
    would cross from one to the next are never drawn, so nothing is materialised); series
    too short for a training window are left out of training with one warning. ``predict``
    forecasts every series in one batched pass per block and returns the input's index
    levels. ``pretrain(panel)`` trains the global network once; ``fit`` then starts from it
    and trains ``fine_tune_epochs`` epochs (0: zero-shot).

    With ``X`` (forecasters with the ``capability:exogenous`` tag), each training window
    sees ``X`` over its lookback and target rows, and ``predict`` needs ``X`` over the
    forecast horizon: known future covariates.

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
        # A panel or hierarchy arrives whole: one global network learns from all its series.
        "y_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
        "X_inner_mtype": ["pd.DataFrame", "pd-multiindex", "pd_multiindex_hier"],
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
        "capability:pretrain": True,
        # X is read at every step up to the last requested one (known future covariates).
        "capability:non_contiguous_X": False,
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
    def _train(self, build, windows, train_starts, val_starts, options, seed, device):
        """Build (inside the seeded block) and train a network; fit and fine-tune share it.

        ``build`` is a picklable network factory (fit: data-parallel with ``n_processes``
        > 1 or under torchrun) or a built network (fine-tuning: in this process); see
        :func:`skmamba._nn.distributed.train`.
        """
        return distributed.train(build, windows, train_starts, val_starts, options=options,
                                 seed=seed, device=device)

    def _scale(self, values, series=0):
        return _data.scale(values, self._stats("scale_mean_")[series],
                           self._stats("scale_std_")[series])

    def _marks_for(self, index):
        return _data.marks_for(type(self).__name__, index, self.n_mark_)

    def _exog_for(self, X, index, method, series=0):
        if self.n_exog_ == 0:
            return None
        return _data.exog_rows(type(self).__name__, X, index, self.exog_columns_,
                               self._stats("exog_mean_")[series],
                               self._stats("exog_std_")[series], method)

    def _stats(self, name):
        """A fitted per-series statistic as (n_series, C), also for a single series."""
        return np.atleast_2d(getattr(self, name))

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
        self._fit_network_or_discard(y, X, fh, self._fine_tune_epochs())
        return self

    def _fit_network_or_discard(self, y, X, fh, epochs):
        try:
            self._fit_network(y, X, fh, epochs)
        except BaseException:
            # No half-fitted state may survive a failed fit.
            self._discard_fitted_state()
            raise

    def _discard_fitted_state(self):
        # Pretrained weights outlive a failed fit, as they outlive a refit.
        for name in list(vars(self)):
            if name in ("_y_context", "_X_context", "_index_names") or (
                name.endswith("_") and not name.startswith("_") and name not in PRETRAINED
            ):
                delattr(self, name)

    def _fit_network(self, y, X, fh, epochs=None):
        """Fit on ``y``; with ``epochs``, train the pretrained network for that many."""
        cls = type(self).__name__
        _validation.check_window_params(cls, self.seq_len, self.pred_len, self.validation_size)
        pretrained = epochs is not None
        options = self._training_options()
        device = training.resolve_device(self.device)
        keys, ys = _panel.split(y)
        use_exog = X is not None and self.get_tag("capability:exogenous") and X.shape[1] > 0
        Xs = _panel.split_like(X if use_exog else None, keys, cls, "X")
        lengths = [len(s) for s in ys]
        n_vals = [_validation.n_validation_rows(self.validation_size, n) for n in lengths]
        # The longest series sets automatic windows; shorter ones train if a window fits.
        longest = int(np.argmax(lengths))
        # pretrain sets no cutoff: only a relative fh tells the horizon then.
        fh_max = None
        if fh is not None and (self.cutoff is not None or fh.is_relative):
            fh_max = int(np.max(fh.to_relative(self.cutoff)))
        if pretrained:
            seq_len, pred_len = self.pretrained_windows_  # what the network was built for
        else:
            seq_len, pred_len = _windows.choose_windows(
                cls, lengths[longest] - n_vals[longest],
                _windows.seasonal_period(ys[longest].index), self.seq_len, self.pred_len,
                fh_max,
            )
        _validation.check_enough_rows(cls, lengths[longest], seq_len, pred_len,
                                      n_vals[longest], self.validation_size)
        width = seq_len + pred_len
        trains = [n >= width + v for n, v in zip(lengths, n_vals)]
        if not all(trains):
            _panel.warn_short_series(cls, keys, trains, seq_len, pred_len)

        per_series = [
            _data.fit_preprocessing(cls, s, x, n - v if n - v > 0 else n)
            for s, x, n, v in zip(ys, Xs, lengths, n_vals)
        ]
        fitted = _panel.stack_fitted([p[0] for p in per_series], panel=keys is not None)
        build = functools.partial(self._build_network, fitted["n_columns_"],
                                  fitted["n_mark_"], fitted["n_exog_"])
        start_weights = None
        if pretrained:
            build, start_weights = self._pretrained_start(fitted)
            if epochs:
                options = dataclasses.replace(options, max_epochs=epochs)
        self.seq_len_, self.pred_len_ = seq_len, pred_len
        vars(self).update(fitted)
        # All training series end to end; windows crossing a boundary are never drawn.
        parts = [(p, n, v) for p, n, v, t in zip(per_series, lengths, n_vals, trains) if t]
        (values, offsets), (marks, _), (exog, _) = (
            _panel.end_to_end([p[k] for p, _, _ in parts]) for k in (1, 2, 3)
        )
        train_starts = np.concatenate([
            off + np.arange(0, n - v - width + 1) for off, (_, n, v) in zip(offsets, parts)
        ])
        val_starts = None
        if any(v for _, _, v in parts):
            val_starts = np.concatenate([
                off + np.arange(n - v - seq_len, n - width + 1)
                for off, (_, n, v) in zip(offsets, parts) if v
            ])
        windows = training.SeriesWindows(values, seq_len, pred_len, marks, exog, device=device)

        self.seed_ = _validation.seed_from(self.random_state)
        if self.checkpoint_dir is not None:
            # Named by everything the fit depends on, so only the same fit resumes from it.
            params = sorted((k, v) for k, v in self.get_params(deep=False).items()
                            if k not in ("checkpoint_dir", "verbose", "device"))
            options = dataclasses.replace(options, checkpoint_path=checkpoint.path_for(
                self.checkpoint_dir, cls, repr(params), self.seed_, values, marks, exog,
                train_starts, val_starts, start_weights))
        if epochs == 0:  # zero-shot: the pretrained network as it is
            self.network_, result = build(), training.TrainingResult([], 0, 0)
        else:
            self.network_, result = self._train(
                build, windows, train_starts, val_starts, options, self.seed_, device,
            )
        self._calibrate(windows, train_starts if val_starts is None else val_starts, device)
        self.history_ = result.history
        self.n_epochs_ = result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.device_ = str(device)
        self.series_keys_ = keys
        self._index_names = list(y.index.names)
        # A panel's series are copies already; a single series is the caller's frame.
        self._y_context = [SeriesContext(s if keys is not None else s.copy()) for s in ys]
        self._X_context = (
            [SeriesContext(x.loc[s.index].copy()) for s, x in zip(ys, Xs)]
            if self.n_exog_ else None
        )

    def _forecast(self, x, x_mark, exog):
        """Scaled network outputs for stacked lookbacks (n, seq_len_, C) in one pass."""
        device = self._inference_device()
        x, x_mark, exog = (None if a is None else _as_tensor(a, device)
                           for a in (x, x_mark, exog))
        network = self.network_
        on_cpu = device.type == "cpu"  # the weights live there: no move per forecast
        try:
            if not on_cpu:
                network.to(device)
            # Seeded so layers that stay stochastic at inference give repeatable forecasts.
            with training.seeded(self.seed_, device):
                return training.predict_batches(
                    network, x, x_mark, exog, batch_size=self._predict_batch_size
                )
        finally:
            if not on_cpu:
                network.cpu()

    def _predict(self, fh, X=None):
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        raw = self._roll_out(int(steps.max()), X)
        point = _data.unscale(self._point(raw), self._stats("scale_mean_")[:, None],
                              self._stats("scale_std_")[:, None])
        return self._as_output(point[:, steps - 1], steps, fh, self.columns_)

    def _output_index(self, steps, fh):
        """The index of a forecast of ``steps``: the input's levels, one block per series."""
        return _panel.output_index(self.series_keys_, _data.index_after(self.cutoff, steps, fh),
                                   self._index_names)

    def _as_output(self, values, steps, fh, columns):
        """Per-series values (n_series, n_steps, k) as a frame in the input's format."""
        return pd.DataFrame(values.reshape(-1, values.shape[-1]),
                            index=self._output_index(steps, fh), columns=columns)

    def _roll_out(self, horizon, X):
        """The network's outputs for steps 1..horizon after the cutoff, in scaled units.

        Every series is forecast in one batched pass per block. Up to ``pred_len_`` steps
        come from one pass; later ones by recursive roll-out: each block's point forecast
        is appended to the lookback and forecast from again. A series of a panel that ends
        before the cutoff first forecasts the steps up to it. Shape (n_series, horizon, C)
        for a point output, (n_series, horizon, C, k) for k parameters.
        """
        cls, lookback, block = type(self).__name__, self.seq_len_, self.pred_len_
        contexts = self._rows_at_cutoff()
        cutoff = self._cutoff_label()
        offsets = [_panel.steps_after(c.index, cutoff, cls) for c in contexts]
        n_blocks = -(-(horizon + max(offsets)) // block)
        Xs = _panel.split_like(X, self.series_keys_, cls, "X") if self.n_exog_ else None
        values, marks, exog = [], [], []
        for i, ctx in enumerate(contexts):
            values.append(self._scale(ctx.to_numpy(dtype=np.float64), i))
            if not (self.n_mark_ or self.n_exog_):
                continue
            last = self.cutoff if offsets[i] == 0 else ctx.index[-1:]
            future = _data.index_after(last, np.arange(1, n_blocks * block + 1))
            index = ctx.index.append(future)
            if self.n_mark_:
                marks.append(self._marks_for(index[: lookback + (n_blocks - 1) * block]))
            if self.n_exog_:
                X_rows = _data.future_exog_rows(
                    cls, self._X_context[i].rows_at(ctx.index), future,
                    self._known_future_X(i, Xs[i], future), offsets[i] + horizon,
                )
                exog.append(self._exog_for(X_rows, index, "predict", i))
        values = np.stack(values)
        marks = np.stack(marks) if marks else None
        exog = np.stack(exog) if exog else None
        blocks = []
        for b in range(n_blocks):
            out = self._forecast(
                values[:, -lookback:],
                None if marks is None else marks[:, b * block: b * block + lookback],
                None if exog is None else exog[:, b * block: b * block + lookback + block],
            )
            blocks.append(out)
            if b + 1 < n_blocks:
                values = np.concatenate([values, self._point(out)], axis=1)
        raw = np.concatenate(blocks, axis=1)
        return np.stack([raw[i, off: off + horizon] for i, off in enumerate(offsets)])

    def _known_future_X(self, i, X, future):
        """Rows of ``X`` for series ``i``, completed by stored rows after the cutoff."""
        stored = self._X_context[i]
        if stored.last_label < future[0]:
            return X
        # The cutoff was moved back by an update with older rows: X after it is known.
        frame = stored.frame()
        later = frame.loc[frame.index.intersection(future)]
        return later if X is None else X[later.columns].combine_first(later)

    def _cutoff_label(self):
        cutoff = self.cutoff
        return cutoff[0] if isinstance(cutoff, pd.Index) else cutoff

    def _rows_at_cutoff(self):
        """The last ``seq_len_`` rows of every series, ending at the cutoff (or before it)."""
        # The cutoff, not the end of the stored data, anchors the lookback: an update with
        # older rows moves the cutoff back while the stored context keeps the later rows.
        cutoff = self._cutoff_label()
        rows = []
        for i, ctx in enumerate(self._y_context):
            end = cutoff if ctx.last_label >= cutoff else ctx.last_label
            tail = ctx.rows_ending_at(end, self.seq_len_)
            if len(tail) < self.seq_len_:
                where = "" if self.series_keys_ is None else (
                    f" for the series {_panel._label(self.series_keys_[i])}")
                raise ValueError(
                    f"{type(self).__name__}: only {len(tail)} observed rows end at {end!r}"
                    f"{where}, fewer than seq_len_={self.seq_len_}; it needs at least "
                    f"seq_len_ rows of history to forecast."
                )
            rows.append(tail)
        return rows

    def _update(self, y, X=None, update_params=True):
        cls = type(self).__name__
        _validation.check_columns(cls, y.columns, self.columns_, "y", "update")
        keys, ys = _panel.split(y)
        if (keys is None) != (self.series_keys_ is None):
            raise ValueError(
                f"{cls}: update needs data of the kind fit saw ("
                f"{'a single series' if self.series_keys_ is None else 'a panel'})"
            )
        position = {None: 0} if keys is None else {k: i for i, k in enumerate(self.series_keys_)}
        unknown = [k for k in (keys or []) if k not in position]
        if unknown:
            raise ValueError(
                f"{cls}: update got {len(unknown)} series that fit did not see, the first "
                f"{_panel._label(unknown[0])}; a new series needs its own scaling: refit, or "
                f"pretrain on the panel and fit on the new series."
            )
        Xs = _panel.split_like(X, keys, cls, "X") if self.n_exog_ else [None] * len(ys)
        tails = []
        for key, y_new, X_new in zip(keys or [None], ys, Xs):
            i = position[key]
            appended = y_new.index[0] > self._y_context[i].last_label
            if self.n_exog_:
                _data.check_exog(cls, X_new, y_new.index, self.exog_columns_, "update")
                self._X_context[i].append(X_new.loc[y_new.index])
            self._y_context[i].append(y_new)
            if update_params:
                tail = self._tail_for_fine_tuning(i, y_new, appended)
                if tail is not None:
                    tails.append((i, tail))
        if tails:
            self._fine_tune(tails)
        return self

    def _tail_for_fine_tuning(self, i, y_new, appended):
        """Rows of series ``i`` whose windows end at a new row (None when too few)."""
        ctx, width = self._y_context[i], self.seq_len_ + self.pred_len_
        if appended:
            tail = ctx.rows_ending_at(ctx.last_label, min(len(ctx), len(y_new) + width - 1))
        else:
            full = ctx.frame()
            first_end = max(int(full.index.get_loc(y_new.index[0])), width - 1)
            tail = full.iloc[first_end - width + 1:]
        return tail if len(tail) >= width else None

    def _fine_tune(self, tails):
        """Train a copy of the network on the windows whose last target is a new row."""
        width = self.seq_len_ + self.pred_len_
        values, offsets = _panel.end_to_end(
            [self._scale(tail.to_numpy(dtype=np.float64), i) for i, tail in tails])
        marks, _ = _panel.end_to_end([self._marks_for(tail.index) for _, tail in tails])
        exog, _ = _panel.end_to_end([
            self._exog_for(self._X_context[i].rows_at(tail.index) if self.n_exog_ else None,
                           tail.index, "update", i)
            for i, tail in tails
        ])
        starts = [off + np.arange(len(tail) - width + 1)
                  for off, (_, tail) in zip(offsets, tails)]
        device = self._inference_device()
        windows = training.SeriesWindows(values, self.seq_len_, self.pred_len_, marks, exog,
                                         device=device)
        options = dataclasses.replace(
            self._training_options(), max_epochs=min(self._update_epochs, self.max_epochs),
            lr=self.history_[-1]["lr"] if self.history_ else self.lr, patience=None,
        )
        n_rows = sum(len(c) for c in self._y_context)
        seed = int(np.random.SeedSequence([self.seed_, n_rows]).generate_state(1)[0])
        network = copy.deepcopy(self.network_)
        self.network_, _ = self._train(
            network, windows, np.concatenate(starts), None, options, seed, device
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
        if self.series_keys_ is not None:
            raise NotImplementedError(
                f"{cls}.predict_windows works on a forecaster fitted to a single series; this "
                "one was fitted to a panel. Use evaluate or predict on the panel instead."
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
        device = self._inference_device()
        # The series goes to the device once; lookbacks are strided views into it.
        windows = training.SeriesWindows(
            self._scale(y.to_numpy(dtype=np.float64)), self.seq_len_, self.pred_len_, marks,
            exog, device=device,
        )
        out = self._forecast(*windows.lookbacks())
        return _data.unscale(self._point(out), self.scale_mean_, self.scale_std_)
