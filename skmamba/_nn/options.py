"""The training options: one frozen object built and validated once, read by the engine."""

import dataclasses
import math
import numbers

from .training import GRAD_CLIP_NORM, LOSSES, OPTIMIZERS, make_loss

__all__ = ["TrainingOptions"]


def _is_int(value, low, allow_none=False):
    if value is None:
        return allow_none
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """How :func:`~skmamba._nn.training.train_network` trains a network.

    The fields mirror the forecasters' training parameters (documented there, with their
    defaults); they are validated when the object is created, so the engine never sees an
    invalid value. Fit and fine-tuning use the same object, fine-tuning through
    :func:`dataclasses.replace`.

    Parameters
    ----------
    max_epochs : int or None
        Epochs (fewer when early stopping triggers, or when ``max_steps`` comes first).
        None only with ``max_steps``: the step budget alone ends training.
    batch_size : int
        Windows per optimiser step.
    lr : float
        Learning rate of the first epoch.
    lr_decay : float
        Per-epoch multiplicative decay in (0, 1].
    loss : str
        One of :data:`~skmamba._nn.training.LOSSES`.
    optimizer : str
        One of :data:`~skmamba._nn.training.OPTIMIZERS`.
    optimizer_kwargs : dict or None
        Extra optimiser arguments.
    patience : int or None
        Epochs without validation improvement before stopping; None never stops early.
    verbose : int or bool
        Print one line per epoch when positive.
    loss_kwargs : dict, default={}
        Options of the loss (e.g. ``{"mse_weight": 0.5}`` for ``"mse+mae"``).
    clip_norm : float or None, default=GRAD_CLIP_NORM
        Max global gradient norm; None disables clipping.
    checkpoint_path : str or None, default=None
        Write a checkpoint there after every epoch and resume from it when it exists
        (:mod:`skmamba._nn.checkpoint`); removed when training completes.
    max_steps : int or None, default=None
        Stop after this many optimiser steps (batches), even within an epoch; None trains
        whole epochs. With ``max_epochs`` too, whichever limit comes first ends training.
    n_processes : int, default=1
        Data-parallel training processes that :func:`skmamba._nn.distributed.train` spawns
        (1: train in the calling process).
    lr_decay_start : int, default=1
        The first epoch after which ``lr_decay`` applies: epochs 1 to ``lr_decay_start``
        train at ``lr``.

    Raises
    ------
    ValueError
        Naming the first invalid field and what it must be.

    Examples
    --------
    >>> from skmamba._nn.options import TrainingOptions
    >>> opts = TrainingOptions(max_epochs=2, batch_size=8, lr=1e-3, lr_decay=1.0, loss="mse",
    ...                        optimizer="adam", optimizer_kwargs=None, patience=None,
    ...                        verbose=0)
    >>> opts.make_loss()
    MSELoss()
    >>> TrainingOptions(**{**vars(opts), "lr": -1.0})
    Traceback (most recent call last):
    ...
    ValueError: lr must be a positive finite number, got -1.0
    """

    max_epochs: int
    batch_size: int
    lr: float
    lr_decay: float
    loss: str
    optimizer: str
    optimizer_kwargs: dict | None
    patience: int | None
    verbose: int | bool
    loss_kwargs: dict = dataclasses.field(default_factory=dict)
    clip_norm: float | None = GRAD_CLIP_NORM
    checkpoint_path: str | None = None
    max_steps: int | None = None
    n_processes: int = 1
    lr_decay_start: int = 1

    def __post_init__(self):
        for name, low, allow_none in (("max_epochs", 1, self.max_steps is not None),
                                      ("batch_size", 1, False), ("patience", 1, True),
                                      ("max_steps", 1, True), ("n_processes", 1, False),
                                      ("lr_decay_start", 1, False)):
            value = getattr(self, name)
            if not _is_int(value, low, allow_none):
                extra = " or None" if allow_none else ""
                raise ValueError(f"{name} must be an int >= {low}{extra}, got {value!r}")
        lr = self.lr
        if not (isinstance(lr, numbers.Real) and not isinstance(lr, bool) and lr > 0
                and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive finite number, got {lr!r}")
        if not (isinstance(self.lr_decay, numbers.Real) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must lie in (0, 1], got {self.lr_decay!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.optimizer_kwargs is not None and not isinstance(self.optimizer_kwargs, dict):
            raise ValueError(
                f"optimizer_kwargs must be a dict or None, got {self.optimizer_kwargs!r}"
            )
        self.make_loss()  # the loss options are checked by building the criterion once

    def make_loss(self):
        """Build the training criterion (a fresh ``torch.nn.Module``)."""
        return make_loss(self.loss, **self.loss_kwargs)
