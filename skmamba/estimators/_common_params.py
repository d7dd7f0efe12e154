"""The parameters every forecaster shares, and how a forecaster's parameters become its parts.

Names and documentation of the common parameters are written once here.
:class:`ParametersMixin` turns a forecaster's constructor parameters into its network (every
parameter that is not common goes to the network class the forecaster declares) and its
validated training options.

A forecaster's docstring writes the lines ``{window_parameters}``, ``{training_parameters}``,
``{common_attributes}`` and ``{kernel_deviation}`` (in its list of deviations); :func:`fill_docstring` replaces them with the text below, with
that forecaster's defaults (read from its signature) filled in. The names here are also what
the base leaves out when it passes the remaining constructor parameters to the network.
"""

import copy
import inspect

from .._nn.heads import make_output
from .._nn.options import TrainingOptions
from .._nn.training import LOSSES, OPTIMIZERS
from ._ltsf_settings import tuned_overrides
from ._windows import resolve_patches

__all__ = ["WINDOW_PARAMETERS", "TRAINING_PARAMETERS", "COMMON_PARAMETERS", "TEST_TRAINING",
           "fill_docstring", "ParametersMixin"]

#: Lookback and trained horizon.
WINDOW_PARAMETERS = ("seq_len", "pred_len")
#: How the network is trained and where; shared by every forecaster.
TRAINING_PARAMETERS = (
    "max_epochs", "max_steps", "fine_tune_epochs", "batch_size", "lr", "lr_decay",
    "lr_decay_start", "loss", "quantile_levels", "optimizer", "optimizer_kwargs",
    "validation_size", "patience", "device", "n_processes", "random_state",
    "checkpoint_dir", "verbose",
)
#: Every parameter that is not architecture.
COMMON_PARAMETERS = WINDOW_PARAMETERS + TRAINING_PARAMETERS

#: Training settings of sktime's conformance tests: the fastest fit, validation with early
#: stopping, and a set for a probabilistic loss. Each forecaster's ``_test_params`` (tiny
#: architectures, and the loss of the third set) are merged in. The windows fit sktime's
#: panels of 10 time points (with 3 validation rows in the second set).
TEST_TRAINING = (
    {"seq_len": 4, "pred_len": 3, "max_epochs": 1, "batch_size": 8, "lr": 1e-3,
     "device": "cpu", "random_state": 0},
    {"seq_len": 4, "pred_len": 3, "max_epochs": 2, "batch_size": 4, "lr": 1e-3,
     "validation_size": 3, "patience": 1, "device": "cpu", "random_state": 1},
    {"seq_len": 4, "pred_len": 3, "max_epochs": 1, "batch_size": 8, "lr": 1e-3,
     "device": "cpu", "random_state": 2},
)

_WINDOW_PARAMETERS = """\
    seq_len : int or None, default={seq_len}
        Lookback: the number of past time points each forecast is made from. None chooses
        it from the data: two horizons or two seasonal cycles, whichever is longer, leaving
        at least 8 training windows (the rules are in ``skmamba.estimators._windows``;
        ``seq_len_`` is the value used).
    pred_len : int or None, default={pred_len}
        Trained horizon: the network forecasts steps 1..pred_len at once. None takes the
        largest step of the ``fh`` passed to ``fit``, else one seasonal cycle of the index
        frequency (8 steps without one), at most a quarter of the training rows
        (``pred_len_`` is the value used). ``predict`` serves any horizon: steps beyond
        ``pred_len_`` are forecast by recursive roll-out, feeding each forecast block back
        as input, so their errors compound; train a longer ``pred_len`` when those steps
        matter."""

_TRAINING_PARAMETERS = """\
    max_epochs : int, default={max_epochs}
        Training epochs (fewer when early stopping triggers).
    max_steps : int or None, default={max_steps}
        A training budget in optimiser steps instead of epochs, for large panels whose
        epochs hold millions of windows: training stops after this many batches (the last
        epoch may be partial; validation runs after every full epoch and at the end). None
        trains ``max_epochs`` epochs.
    fine_tune_epochs : int or None, default={fine_tune_epochs}
        After ``pretrain``, how many epochs ``fit`` trains the pretrained network on the
        new data: 0 uses it as is (zero-shot), None trains ``max_epochs``. Ignored by a fit
        without pretraining.
    batch_size : int, default={batch_size}
        Windows per optimiser step.
    lr : float, default={lr}
        Learning rate of the first epoch.
    lr_decay : float, default={lr_decay}
        Multiplies the learning rate after every epoch from ``lr_decay_start`` on; 1.0 keeps
        it constant. The papers' Time-Series-Library scripts (``lradj=type1``) halve it
        from the end of the second epoch: ``lr_decay=0.5, lr_decay_start=2``.
    lr_decay_start : int, default={lr_decay_start}
        The first epoch after which ``lr_decay`` applies: epochs 1 to ``lr_decay_start``
        train at ``lr``.
    loss : {{{losses}}}, default="{loss}"
        Training loss, computed on the standardised series. Point losses ("mse", "mae",
        "huber", "mse+mae") train a point forecast; its intervals are split-conformal
        (see ``predict_interval``). "normal" and "studentt" train a distribution output
        (negative log-likelihood), "quantile" a quantile output at ``quantile_levels``
        (pinball loss, quantiles that never cross); their point forecast is the median.
    quantile_levels : tuple of float, default={quantile_levels}
        Levels trained with ``loss="quantile"`` (increasing, spanning 0.5); other levels
        are interpolated between them, and levels outside their range are refused.
    optimizer : {{{optimizers}}}, default="{optimizer}"
        Optimiser.
    optimizer_kwargs : dict or None, default={optimizer_kwargs}
        Extra optimiser arguments, e.g. ``{{"weight_decay": 1e-4}}``.
    validation_size : int or float, default={validation_size}
        Time points at the end of ``y`` held out as validation targets (an int counts rows,
        a float in (0, 1) is a fraction of ``y``, rounded up). Their lookback comes from the
        rows before them, so no window straddles the split. Must be 0 or at least
        ``pred_len``. The scaler and the training windows only see the rows before.
    patience : int or None, default={patience}
        Stop after this many epochs without a lower validation loss; the weights of the best
        epoch are restored whenever there is validation data. Ignored without validation;
        None never stops early.
    device : {{"auto", "cpu", "cuda"}}, default="{device}"
        Where to train and predict; "auto" picks CUDA when available. Weights are moved back
        to the CPU after fitting, so a fitted forecaster pickles and loads anywhere; loaded
        on a machine without CUDA, a forecaster set to "cuda" predicts on the CPU with a
        warning (fitting there raises an error).
    n_processes : int, default={n_processes}
        Data-parallel training processes on this machine (``torch.distributed``; gloo on
        the CPU, NCCL with one GPU per process). Each trains on its share of every batch
        and gradients are averaged, so the result matches one process up to float32
        rounding. A script started by ``torchrun`` trains on the launcher's process group
        whatever this is. 1 trains in this process.
    random_state : int, numpy.random.RandomState or None, default={random_state}
        Seeds weight initialisation, dropout and shuffling. With an int, fits on the CPU
        are bit-for-bit reproducible, also across processes.
    checkpoint_dir : str or None, default={checkpoint_dir}
        A folder for training checkpoints: with it, ``fit`` writes one after every epoch
        (weights, optimiser, random streams, early-stopping state; atomically), and a new
        ``fit`` with the same data and parameters resumes from the last one (on the CPU,
        bit for bit as if never interrupted). The file is removed when the fit completes.
    verbose : int or bool, default={verbose}
        0 (or False) trains silently. 1 (or True) shows a progress bar over the epochs with
        the latest train loss, validation loss and learning rate (plus an inner bar over
        the batches of long epochs), drawn only when stderr is a terminal, so logs and CI
        stay silent. 2 also prints one line per epoch (losses, learning rate, time) and the
        early-stopping notice to stdout, with or without a terminal."""

# How every forecaster runs Mamba differently from mamba-ssm-based code, written once.
_KERNEL_DEVIATION = """\
    - the selective scan runs on skmamba's own kernels (a fused scan on CPU, a Triton
      kernel on CUDA) with the semantics of mamba-ssm's ``selective_scan_fn``, instead of
      mamba-ssm's CUDA kernels; gradients are clipped at norm 1;"""

_COMMON_ATTRIBUTES = """\
    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network, on the CPU.
    seq_len_ : int
        The lookback used.
    pred_len_ : int
        The horizon the network was trained for.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_loss`` (None without validation),
        ``lr`` and ``seconds`` (and ``batches``, its optimiser steps, under a ``max_steps``
        budget). ``pandas.DataFrame(history_)`` tabulates it; empty after a zero-shot fit
        (``fine_tune_epochs=0``).
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        Epoch whose weights ``network_`` holds.
    columns_ : pandas.Index
        Column names of ``y``; ``n_columns_`` is their number.
    scale_mean_, scale_std_ : numpy.ndarray
        Per-column float64 mean and standard deviation of the training rows of ``y``;
        shape (n_series, n_columns) for a panel, one row per series.
    series_keys_ : list of tuple or None
        The instance keys of a panel or hierarchy, in order; None for a single series.
    pretrained_network_ : torch.nn.Module
        Only after ``pretrain``: the network trained on the pretraining panel, which
        ``fit`` starts from (with ``pretrained_windows_``, ``pretrained_inputs_`` and
        ``pretrain_history_``, sktime's pretrained attributes).
    n_mark_ : int
        Calendar features passed to the network (4 for a datetime or period index, else 0).
    n_exog_ : int
        Exogenous variables passed to the network.
    seed_ : int
        The seed actually used (drawn from ``random_state``).
    device_ : str
        The device training ran on."""


def fill_docstring(cls):
    """Replace the common-parameter markers of ``cls.__doc__`` with their documentation.

    Defaults shown are those of ``cls.__init__``, so each is written once, in the signature.

    Parameters
    ----------
    cls : type
        A forecaster class whose own docstring may hold the markers.

    Examples
    --------
    >>> from skmamba.estimators import MixMambaForecaster
    >>> "lr : float, default=0.003" in MixMambaForecaster.__doc__
    True
    """
    doc = cls.__dict__.get("__doc__")
    if not doc or "{" not in doc:
        return
    defaults = {
        name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    choices = {
        "losses": ", ".join(f'"{n}"' for n in LOSSES),
        "optimizers": ", ".join(f'"{n}"' for n in OPTIMIZERS),
    }
    for marker, text in (
        ("{window_parameters}", _WINDOW_PARAMETERS),
        ("{training_parameters}", _TRAINING_PARAMETERS),
        ("{common_attributes}", _COMMON_ATTRIBUTES),
        ("{kernel_deviation}", _KERNEL_DEVIATION),
    ):
        if "    " + marker in doc:
            doc = doc.replace("    " + marker, text.format(**defaults, **choices))
    cls.__doc__ = doc


class ParametersMixin:
    """Builds a forecaster's network and training options from its constructor parameters.

    A forecaster declares ``_network`` (the network class), optionally
    ``_loss_parameters`` (constructor parameters that configure the loss instead) and
    ``_test_params`` (tiny architectures for sktime's conformance tests). Its docstring
    markers are filled in when the class is created (:func:`fill_docstring`).

    Examples
    --------
    >>> from skmamba.estimators import MATForecaster
    >>> f = MATForecaster(n1=16, mse_weight=0.3)
    >>> "n1" in f._architecture(), "mse_weight" in f._architecture()
    (True, False)
    >>> f._training_options().loss_kwargs
    {'mse_weight': 0.3}
    """

    #: The network class, set by each forecaster.
    _network = None
    #: Constructor parameters that configure the loss rather than the network.
    _loss_parameters = ()
    #: Tiny architectures, one per set of ``TEST_TRAINING`` (see ``get_test_params``).
    _test_params = ({}, {}, {})
    #: The published long-term forecasting configuration (see ``paper_params``).
    _paper_setting = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fill_docstring(cls)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny configurations for sktime's conformance tests.

        Parameters
        ----------
        parameter_set : str, default="default"
            Ignored; the same sets are returned for every name.

        Returns
        -------
        list of dict
            Constructor arguments: the first is the fastest fit, the second adds validation
            and early stopping, the third trains a probabilistic loss (and the forecaster's
            ``_test_params`` vary the architecture).

        Examples
        --------
        >>> from skmamba.estimators import MixMambaForecaster
        >>> [p.get("loss", "default") for p in MixMambaForecaster.get_test_params()]
        ['default', 'mse', 'quantile']
        """
        return [{**training, **arch}
                for training, arch in zip(TEST_TRAINING, cls._test_params)]

    # ------------------------------------------------------------------ building blocks
    @classmethod
    def paper_params(cls, dataset="ETTh1"):
        """The configuration behind the model's published ETT numbers, as constructor arguments.

        The constructor defaults are chosen for everyday series (a lookback that follows the
        data, a constant learning rate); this is the published long-term forecasting setting
        (lookback 96, the paper's architecture and training schedule), which
        ``benchmarks/ltsf.py`` runs. The papers use one setting for ETTh1 and ETTh2.

        Parameters
        ----------
        dataset : {"ETTh1", "ETTh2"}, default="ETTh1"
            The benchmark data set.

        Returns
        -------
        dict
            Constructor arguments; the horizon comes from ``fh`` (or add ``pred_len``).

        Examples
        --------
        >>> from skmamba.estimators import SMambaForecaster
        >>> params = SMambaForecaster.paper_params("ETTh1")
        >>> params["seq_len"], params["lr"], params["lr_decay"]
        (96, 5e-05, 0.5)
        >>> f = SMambaForecaster(**params)  # then f.fit(y, fh=range(1, 97))
        """
        if dataset not in ("ETTh1", "ETTh2"):
            raise ValueError(
                f"{cls.__name__}.paper_params: dataset must be 'ETTh1' or 'ETTh2' (the "
                f"published ETT settings), got {dataset!r}"
            )
        return copy.deepcopy(dict(cls._paper_setting))

    @classmethod
    def tuned_params(cls, dataset, horizon):
        """The best configuration found for one ETTh cell, as constructor arguments.

        ``paper_params`` reproduces a paper; these settings go past it. They were chosen by
        ``benchmarks/ltsf.py`` on the validation rows of the ETTh protocol only (never the
        test rows), searching lookback, learning rate and schedule around the paper's
        setting; ``benchmarks/README.md`` ("Past the papers") gives the search, its budget
        and the test scores. The lookback may differ from the published 96.

        Parameters
        ----------
        dataset : {"ETTh1", "ETTh2"}
            The benchmark data set.
        horizon : {96, 192, 336, 720}
            The forecast horizon the settings were chosen for.

        Returns
        -------
        dict
            ``paper_params(dataset)`` with the chosen changes; the horizon comes from ``fh``
            (or add ``pred_len``).

        Raises
        ------
        ValueError
            If the search did not cover this model in this cell.

        See Also
        --------
        skmamba.estimators.best_ltsf_forecaster : the best model of a cell, ready to fit.

        Examples
        --------
        >>> from skmamba.estimators import MATForecaster
        >>> params = MATForecaster.tuned_params("ETTh1", 336)
        >>> params["seq_len"], params["lr"]
        (336, 0.0001)
        >>> f = MATForecaster(**params)  # then f.fit(y, fh=range(1, 337))
        """
        return {**cls.paper_params(dataset), **tuned_overrides(cls.__name__, dataset, horizon)}

    def _architecture(self):
        """The constructor parameters that configure the network."""
        skip = set(COMMON_PARAMETERS) | set(self._loss_parameters)
        return {k: v for k, v in self.get_params(deep=False).items() if k not in skip}

    def _build_network(self, n_channels, n_mark, n_exog):
        """A freshly initialised network (``seq_len_`` and ``pred_len_`` are set when called)."""
        arch = resolve_patches(self._architecture(), self.seq_len_)
        return self._network(
            seq_len=self.seq_len_, pred_len=self.pred_len_, n_channels=n_channels,
            n_mark=n_mark, n_exog=n_exog, output=make_output(self.loss, self.quantile_levels),
            **arch,
        )

    def _training_options(self):
        """The validated :class:`~skmamba._nn.options.TrainingOptions` of this forecaster."""
        import dataclasses  # local: only this method of the module is edited for max_steps

        try:
            options = TrainingOptions(
                max_epochs=self.max_epochs, batch_size=self.batch_size, lr=self.lr,
                lr_decay=self.lr_decay, lr_decay_start=self.lr_decay_start,
                loss=self.loss, optimizer=self.optimizer,
                optimizer_kwargs=self.optimizer_kwargs, patience=self.patience,
                verbose=self.verbose, max_steps=self.max_steps, n_processes=self.n_processes,
                loss_kwargs={
                    **{k: getattr(self, k) for k in self._loss_parameters},
                    **({"quantile_levels": self.quantile_levels}
                       if self.loss == "quantile" else {}),
                },
            )
            if self.max_steps is not None:
                # The step budget replaces the epochs (max_epochs was still validated);
                # fine-tuning sets its own epochs again.
                options = dataclasses.replace(options, max_epochs=None)
            return options
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}: {err}") from None

