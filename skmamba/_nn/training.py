"""Training engine shared by every forecaster: windows, seeding, the loop, early stopping.

Knows torch and numpy only. The estimator layer hands over arrays that are already scaled,
a freshly built network and the training options; this module returns the trained network's
history. Nothing here knows about pandas, sktime or indices.
"""

import contextlib
import copy
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoint
from .windows import SeriesWindows  # noqa: F401  (imported from here by older code)
from .heads import make_output
from tqdm import tqdm

__all__ = [
    "GRAD_CLIP_NORM",
    "LOSSES",
    "OPTIMIZERS",
    "SeriesWindows",
    "TrainingDivergedError",
    "TrainingResult",
    "evaluate_loss",
    "make_loss",
    "check_quantile_levels",
    "make_optimizer",
    "predict_batches",
    "resolve_device",
    "seeded",
    "train_network",
]

#: Gradients are clipped to this global L2 norm before every optimiser step. Time-Series-
#: Library does not clip; with Adam the update size is nearly invariant to the gradient scale,
#: so clipping only matters on the rare exploding batches it is there to tame.
GRAD_CLIP_NORM = 1.0

#: Where :func:`train_network` draws its progress bars; None means ``sys.stderr`` at the time
#: of the call. Bars are drawn only when this stream is a terminal (its ``isatty()`` is true).
PROGRESS_FILE = None

#: Epochs with more batches than this also get an inner progress bar over their batches.
BATCH_BAR_MIN_BATCHES = 50

LOSSES = ("mse", "mae", "huber", "mse+mae", "normal", "studentt", "quantile")
OPTIMIZERS = ("adam", "adamw")


class TrainingDivergedError(FloatingPointError):
    """Raised when the training or validation loss stops being finite.

    Examples
    --------
    >>> from skmamba._nn.training import TrainingDivergedError
    >>> issubclass(TrainingDivergedError, FloatingPointError)
    True
    """


class _CombinedLoss(nn.Module):
    """``mse_weight * MSE + (1 - mse_weight) * MAE``; a module so estimators pickle."""

    def __init__(self, mse_weight=0.5):
        super().__init__()
        self.mse_weight = float(mse_weight)

    def forward(self, y_hat, y):
        w = self.mse_weight
        return w * F.mse_loss(y_hat, y) + (1.0 - w) * F.l1_loss(y_hat, y)


def make_loss(name="mse", mse_weight=0.5, huber_delta=1.0, quantile_levels=None):
    """Build the training criterion from its name.

    Parameters
    ----------
    name : str, default="mse"
        Point losses: mean squared error, mean absolute error, Huber loss, or a weighted
        sum of MSE and MAE (``"mse+mae"``). Probabilistic: ``"normal"`` and ``"studentt"``
        (negative log-likelihood of the network's distribution output), ``"quantile"``
        (pinball loss of its quantile output), see :mod:`skmamba._nn.heads`.
    mse_weight : float, default=0.5
        Weight of the MSE term for ``"mse+mae"``; the MAE term gets ``1 - mse_weight``.
    huber_delta : float, default=1.0
        Threshold of the Huber loss (in the scaled units the network trains on).
    quantile_levels : sequence of float, optional
        Levels of the pinball loss for ``"quantile"``.

    Returns
    -------
    torch.nn.Module
        Called as ``loss(y_hat, y)``, returning a scalar tensor.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.training import make_loss
    >>> float(make_loss("mse+mae", mse_weight=0.5)(torch.zeros(3), torch.full((3,), 2.0)))
    3.0
    """
    if name == "mse":
        return nn.MSELoss()
    if name == "mae":
        return nn.L1Loss()
    if name == "huber":
        return nn.HuberLoss(delta=huber_delta)
    if name == "mse+mae":
        if not 0.0 <= float(mse_weight) <= 1.0:
            raise ValueError(f"mse_weight must lie in [0, 1], got {mse_weight!r}")
        return _CombinedLoss(mse_weight)
    if name in ("normal", "studentt", "quantile"):
        if name == "quantile":
            check_quantile_levels(quantile_levels)
        return _OutputLoss(make_output(name, quantile_levels))
    raise ValueError(f"loss must be one of {LOSSES}, got {name!r}")


class _OutputLoss(nn.Module):
    """The loss of a distribution or quantile output (negative log-likelihood, pinball)."""

    def __init__(self, output):
        super().__init__()
        self.output = output

    def forward(self, y_hat, y):
        return self.output.loss(y_hat, y)


def check_quantile_levels(levels):
    """Raise unless ``levels`` are increasing, in (0, 1), and bracket the median 0.5.

    Examples
    --------
    >>> from skmamba._nn.training import check_quantile_levels
    >>> check_quantile_levels((0.1, 0.5, 0.9))
    >>> check_quantile_levels((0.6, 0.9))
    Traceback (most recent call last):
    ...
    ValueError: quantile_levels must be increasing levels in (0, 1) with the lowest at most 0.5 and the highest at least 0.5 (the point forecast is the median), got (0.6, 0.9)
    """
    try:
        values = [float(a) for a in levels]
    except (TypeError, ValueError):
        values = []
    ok = (
        len(values) >= 1 and all(0 < a < 1 for a in values)
        and all(b > a for a, b in zip(values, values[1:]))
        and values[0] <= 0.5 <= values[-1]
    )
    if not ok:
        raise ValueError(
            "quantile_levels must be increasing levels in (0, 1) with the lowest at most 0.5 "
            "and the highest at least 0.5 (the point forecast is the median), got "
            f"{levels!r}"
        )


def make_optimizer(name, params, lr, optimizer_kwargs=None):
    """Build a torch optimiser from its name.

    Parameters
    ----------
    name : {"adam", "adamw"}
        ``torch.optim.Adam`` or ``torch.optim.AdamW``.
    params : iterable of torch.nn.Parameter
        Parameters to optimise.
    lr : float
        Initial learning rate.
    optimizer_kwargs : dict, optional
        Extra keyword arguments for the optimiser (e.g. ``{"weight_decay": 1e-4}``).

    Returns
    -------
    torch.optim.Optimizer

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.training import make_optimizer
    >>> opt = make_optimizer("adamw", torch.nn.Linear(2, 1).parameters(), lr=1e-3)
    >>> type(opt).__name__
    'AdamW'
    """
    classes = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    if name not in classes:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    return classes[name](params, lr=lr, **dict(optimizer_kwargs or {}))


def resolve_device(device="auto"):
    """Turn ``"auto"``, ``"cpu"`` or ``"cuda[:i]"`` into a ``torch.device``.

    ``"auto"`` is CUDA when available, else CPU. Asking for CUDA on a machine without one
    raises a ``RuntimeError`` that names the fix.

    Parameters
    ----------
    device : str or torch.device, default="auto"

    Returns
    -------
    torch.device

    Examples
    --------
    >>> from skmamba._nn.training import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu' or 'cuda' (optionally 'cuda:<index>'), got {device!r}"
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device={device!r} was requested but torch sees no CUDA GPU "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). "
                "Use device='cpu' or device='auto', or install a CUDA build of torch on a "
                "machine with an NVIDIA GPU."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible; use device='cuda' or device='auto'."
            )
    elif dev.type != "cpu":
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return dev


@contextlib.contextmanager
def seeded(seed, device="cpu"):
    """Run a block with the global torch RNG seeded, restoring the caller's RNG afterwards.

    Network initialisation and stochastic layers (dropout, random routing) draw from the
    global torch RNG, so seeding it inside ``torch.random.fork_rng`` makes them reproducible
    without disturbing the user's own random stream. The yielded ``torch.Generator`` is a
    separate CPU stream for shuffling, so the order of batches does not depend on how many
    numbers the network drew.

    Parameters
    ----------
    seed : int
        Seed in ``[0, 2**63)``.
    device : str or torch.device, default="cpu"
        A CUDA device here also forks and seeds that device's RNG.

    Yields
    ------
    torch.Generator
        A CPU generator seeded from ``seed``.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.training import seeded
    >>> with seeded(0):
    ...     a = torch.rand(2)
    >>> with seeded(0):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b))
    True
    """
    device = torch.device(device)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        generator = torch.Generator()
        # A distinct stream from the global one: same seed would replay the init draws.
        generator.manual_seed((int(seed) * 2654435761 + 1) % (2**63))
        yield generator


class TrainingResult:
    """What :func:`train_network` reports.

    Attributes
    ----------
    history : list of dict
        One entry per epoch: ``epoch`` (1-based), ``train_loss``, ``val_loss`` (None without
        validation), ``lr`` used in that epoch and ``seconds``; under a ``max_steps``
        budget also ``batches``, the optimiser steps of the epoch (fewer than a whole epoch
        only in the last one).
    n_epochs : int
        Epochs run (fewer than ``max_epochs`` after early stopping).
    best_epoch : int
        Epoch whose weights the network holds on return.

    Examples
    --------
    >>> from skmamba._nn.training import TrainingResult
    >>> TrainingResult([{"epoch": 1, "train_loss": 0.5}], n_epochs=1, best_epoch=1)
    TrainingResult(n_epochs=1, best_epoch=1, history=<1 epochs>)
    """

    def __init__(self, history, n_epochs, best_epoch):
        self.history = history
        self.n_epochs = n_epochs
        self.best_epoch = best_epoch

    def __repr__(self):
        return (
            f"TrainingResult(n_epochs={self.n_epochs}, best_epoch={self.best_epoch}, "
            f"history=<{len(self.history)} epochs>)"
        )


def _forward(network, x, x_mark, exog):
    out = network(x, x_mark=x_mark, exog=exog)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"{type(network).__name__}.forward must return (y_hat, aux_loss), got {type(out)}"
        )
    return out


def _diverged(what, epoch, lr, detail=""):
    return TrainingDivergedError(
        f"the {what} loss became NaN or infinite in epoch {epoch}{detail} "
        f"(learning rate {lr:.3g}). The optimiser diverged: lower `lr` (e.g. by a factor of "
        "10), use loss='huber' or 'mae' for heavy-tailed data, or check the input for extreme "
        "values."
    )


class _Progress:
    """The reporting of :func:`train_network`; it never touches the numbers or the RNG.

    ``verbose >= 1`` draws a bar over the epochs (latest losses and lr as postfix), and
    for epochs of more than :data:`BATCH_BAR_MIN_BATCHES` batches an inner bar over the
    batches, but only when :data:`PROGRESS_FILE` (default ``sys.stderr``) is a terminal.
    ``verbose >= 2`` also writes one line per epoch to stdout, terminal or not.
    """

    def __init__(self, verbose, max_epochs, n_batches):
        level = int(verbose or 0)
        self.file = sys.stderr if PROGRESS_FILE is None else PROGRESS_FILE
        isatty = getattr(self.file, "isatty", None)
        self.bars = level >= 1 and isatty is not None and bool(isatty())
        self.lines = level >= 2
        self.max_epochs = max_epochs
        self.batch_bars = self.bars and n_batches > BATCH_BAR_MIN_BATCHES
        self.n_batches = n_batches
        self.epoch_bar = self.batch_bar = None
        if self.bars:
            self.epoch_bar = tqdm(total=max_epochs, desc="training", unit="epoch",
                                  file=self.file, dynamic_ncols=True)

    def start_epoch(self, epoch):
        if self.batch_bars:
            self.batch_bar = tqdm(total=self.n_batches, desc=f"epoch {epoch}", unit="batch",
                                  leave=False, file=self.file, dynamic_ncols=True)

    def batch_done(self, running_loss):
        if self.batch_bar is not None:
            self.batch_bar.set_postfix({"loss": f"{running_loss:.4g}"}, refresh=False)
            self.batch_bar.update(1)

    def epoch_done(self, record):
        self._close_batch_bar()
        epoch, train_loss, val_loss, lr = (
            record["epoch"], record["train_loss"], record["val_loss"], record["lr"])
        if self.epoch_bar is not None:
            postfix = {"train_loss": f"{train_loss:.4g}"}
            if val_loss is not None:
                postfix["val_loss"] = f"{val_loss:.4g}"
            postfix["lr"] = f"{lr:.3g}"
            self.epoch_bar.set_postfix(postfix, refresh=False)
            self.epoch_bar.update(1)
        if self.lines:
            val_txt = "" if val_loss is None else f"  val_loss {val_loss:.6g}"
            self.write(
                f"epoch {epoch}/{self.max_epochs}  train_loss {train_loss:.6g}{val_txt}  "
                f"lr {lr:.3g}  {record['seconds']:.1f}s"
            )

    def write(self, message):
        if self.bars or self.lines:
            tqdm.write(message, file=sys.stdout)
            sys.stdout.flush()

    def _close_batch_bar(self):
        if self.batch_bar is not None:
            self.batch_bar.close()
            self.batch_bar = None

    def close(self):
        self._close_batch_bar()
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None


def train_network(network, windows, train_starts, val_starts=None, *, options,
                  generator=None, distributed=None):
    """Train ``network`` in place on windows of a series.

    Each epoch shuffles the training windows with ``generator``, steps the optimiser on
    ``loss_fn(y_hat, y) + aux_loss`` with gradients clipped to ``clip_norm``, evaluates the
    validation windows (when any), then multiplies the learning rate by ``lr_decay`` (from
    epoch ``lr_decay_start`` on). With
    validation, the weights of the epoch with the lowest validation loss are restored at the
    end, and training stops after ``patience`` epochs without improvement. With
    ``options.max_steps``, training also stops after that many optimiser steps: the last
    epoch may then be partial (its history entry counts the ``batches`` it ran), and it is
    validated, checkpointed and considered for the best weights like a full one.

    Progress is reported by ``options.verbose``, without changing the training in any way:
    0 is silent; 1 draws a :mod:`tqdm` bar over the epochs with the latest train loss,
    validation loss and learning rate (and, for epochs of more than
    :data:`BATCH_BAR_MIN_BATCHES` batches, an inner bar over the batches with the running
    loss), but only when :data:`PROGRESS_FILE` (default ``sys.stderr``) is a terminal, so
    CI logs stay clean; 2 also writes one line per epoch (losses, learning rate, seconds)
    and the early-stopping notice to stdout, terminal or not.

    Parameters
    ----------
    network : torch.nn.Module
        Called as ``network(x, x_mark=..., exog=...)`` and returning ``(y_hat, aux_loss)``;
        already on the device of ``windows``.
    windows : SeriesWindows
        The series, cut into ``seq_len + pred_len`` windows.
    train_starts, val_starts : array-like of int
        Start rows of the training and validation windows.
    options : skmamba._nn.options.TrainingOptions
        Epochs, batch size, learning rate and its decay, loss, optimiser, patience,
        clipping and verbosity; validated already.
    generator : torch.Generator, optional
        Shuffling stream; see :func:`seeded`.
    distributed : skmamba._nn.distributed.DistributedContext, optional
        This process's rank in a data-parallel group (see :mod:`skmamba._nn.distributed`):
        every rank draws the same order, trains on its share of each batch, and the
        gradients, losses and validation losses are summed over the ranks, so every rank
        takes the same steps and stops at the same epoch. Only rank 0 writes checkpoints
        and reports progress. None trains in this process alone.

    Returns
    -------
    TrainingResult

    Raises
    ------
    TrainingDivergedError
        When a training or validation loss is NaN or infinite; the message names the epoch
        and suggests a lower learning rate.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skmamba._nn.training import SeriesWindows, train_network
    >>> class Linear(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.lin = torch.nn.Linear(8, 2)
    ...     def forward(self, x, x_mark=None, exog=None):
    ...         return self.lin(x.transpose(1, 2)).transpose(1, 2), None
    >>> from skmamba._nn.options import TrainingOptions
    >>> opts = TrainingOptions(max_epochs=2, batch_size=32, lr=1e-3, lr_decay=1.0,
    ...                        loss="mse", optimizer="adam", optimizer_kwargs=None,
    ...                        patience=None, verbose=0)
    >>> w = SeriesWindows(np.sin(np.arange(60.0))[:, None], seq_len=8, pred_len=2)
    >>> result = train_network(Linear(), w, np.arange(40), np.arange(40, 51), options=opts)
    >>> result.n_epochs, len(result.history)
    (2, 2)
    """
    loss_fn = options.make_loss()
    batch_size = int(options.batch_size)
    patience, clip_norm, max_steps = options.patience, options.clip_norm, options.max_steps
    ddp = distributed
    main = ddp is None or ddp.rank == 0
    train_starts = torch.as_tensor(np.asarray(train_starts, dtype=np.int64))
    val_starts = (
        None if val_starts is None or len(val_starts) == 0
        else torch.as_tensor(np.asarray(val_starts, dtype=np.int64))
    )
    if len(train_starts) == 0:
        raise ValueError("no training windows: the series is too short for seq_len + pred_len")
    n_batches = -(-len(train_starts) // batch_size)
    max_epochs = _epoch_limit(options.max_epochs, max_steps, n_batches)
    params = [p for p in network.parameters() if p.requires_grad]
    opt = make_optimizer(options.optimizer, params, options.lr, options.optimizer_kwargs)

    history = []
    best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
    first_epoch, stopped, steps = 1, False, 0
    saved = (checkpoint.load_checkpoint(options.checkpoint_path) if ddp is None
             else ddp.load_checkpoint(options.checkpoint_path))
    if saved is not None:
        # Resume: everything the next epoch depends on comes back as it was saved.
        network.load_state_dict(saved["network"])
        opt.load_state_dict(saved["optimizer"])
        _set_rng(saved["rng"], generator)
        history, stale, stopped = saved["history"], saved["stale"], saved["stopped"]
        best_loss, best_epoch, best_state = (saved["best_loss"], saved["best_epoch"],
                                             saved["best_state"])
        first_epoch = saved["epoch"] + 1
        steps = saved.get("steps", saved["epoch"] * n_batches)
    progress = _Progress(options.verbose if main else 0, max_epochs, n_batches)
    with contextlib.closing(progress):
        for epoch in range(first_epoch, max_epochs + 1):
            if stopped:
                break
            tic = time.perf_counter()
            epoch_lr = opt.param_groups[0]["lr"]
            network.train()
            if ddp is not None:
                ddp.seed_epoch(epoch)
            order = train_starts[torch.randperm(len(train_starts), generator=generator)]
            # Only the last epoch of a step budget is cut short; its order is still drawn
            # whole, so the shuffling stream does not depend on the budget.
            epoch_batches = n_batches if max_steps is None else min(n_batches, max_steps - steps)
            total, count = 0.0, 0
            progress.start_epoch(epoch)
            for i, b in enumerate(range(0, epoch_batches * batch_size, batch_size)):
                starts = order[b: b + batch_size]
                if ddp is not None:
                    loss_sum, n_local = _distributed_step(
                        network, windows, starts, loss_fn, opt, params, clip_norm, ddp,
                        epoch, epoch_lr, i)
                    total += loss_sum
                    count += n_local
                    progress.batch_done(total / max(count, 1))
                    continue
                x, x_mark, exog, y = windows.batch(starts)
                y_hat, aux = _forward(network, x, x_mark, exog)
                loss = loss_fn(y_hat, y)
                if aux is not None:
                    loss = loss + aux
                if not torch.isfinite(loss):
                    raise _diverged("training", epoch, epoch_lr, f", batch {i + 1}")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, clip_norm)
                opt.step()
                total += float(loss.detach()) * len(starts)
                count += len(starts)
                progress.batch_done(total / count)
            steps += epoch_batches
            if ddp is not None:
                total, count = ddp.sum([total, count])
            train_loss = total / count

            val_loss = None
            if val_starts is not None:
                if ddp is None:
                    val_loss = evaluate_loss(network, windows, val_starts, loss_fn, batch_size)
                else:
                    val_total, val_count = ddp.sum(_loss_total(
                        network, windows, ddp.shard(val_starts), loss_fn, batch_size))
                    val_loss = val_total / val_count
                if not math.isfinite(val_loss):
                    raise _diverged("validation", epoch, epoch_lr)
            history.append({
                "epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": epoch_lr,
                "seconds": time.perf_counter() - tic,
            })
            if max_steps is not None:
                history[-1]["batches"] = epoch_batches
            progress.epoch_done(history[-1])

            if val_loss is not None:
                if val_loss < best_loss:
                    best_loss, best_epoch, stale = val_loss, epoch, 0
                    best_state = copy.deepcopy(network.state_dict())
                else:
                    stale += 1
                    stopped = patience is not None and stale >= patience
            else:
                best_epoch = epoch
            if stopped:
                progress.write(
                    f"early stopping after epoch {epoch}: no validation improvement "
                    f"for {stale} epochs; restoring epoch {best_epoch}"
                )
            elif epoch >= options.lr_decay_start:
                for group in opt.param_groups:
                    group["lr"] *= options.lr_decay
            if options.checkpoint_path is not None and main:
                checkpoint.save_checkpoint(options.checkpoint_path, {
                    "epoch": epoch, "network": network.state_dict(),
                    "optimizer": opt.state_dict(), "rng": _get_rng(generator),
                    "history": history, "stale": stale, "stopped": stopped,
                    "best_loss": best_loss, "best_epoch": best_epoch, "best_state": best_state,
                    "steps": steps,
                })

    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    if main:
        checkpoint.remove_checkpoint(options.checkpoint_path)
    if ddp is not None:
        # Identical already, up to hardware differences between nodes; this makes it exact.
        ddp.broadcast_module(network)
    return TrainingResult(history, len(history), best_epoch)


def _epoch_limit(max_epochs, max_steps, n_batches):
    if max_steps is None:
        return int(max_epochs)
    step_epochs = -(-int(max_steps) // n_batches)
    return step_epochs if max_epochs is None else min(int(max_epochs), step_epochs)


def _distributed_step(network, windows, starts, loss_fn, opt, params, clip_norm, ddp, epoch,
                      lr, i):
    """One optimiser step on this rank's share of a global batch; returns (loss sum, rows).

    Each rank's mean loss is weighted by its share of the batch before the gradients are
    summed over the ranks, so the step sees the gradient of the global batch's mean loss
    even when the batch does not split evenly (or leaves a rank nothing).
    """
    local = ddp.shard(starts)
    opt.zero_grad(set_to_none=True)
    value = 0.0
    if len(local):
        x, x_mark, exog, y = windows.batch(local)
        y_hat, aux = _forward(network, x, x_mark, exog)
        loss = loss_fn(y_hat, y)
        if aux is not None:
            loss = loss + aux
        value = float(loss.detach())
        if math.isfinite(value):
            (loss * (len(local) / len(starts))).backward()
    # Every rank learns whether any rank diverged, so all of them raise together.
    if not ddp.all_reduce_gradients(params, math.isfinite(value)):
        raise _diverged("training", epoch, lr, f", batch {i + 1}")
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(params, clip_norm)
    opt.step()
    return value * len(local), len(local)


def _get_rng(generator):
    state = {"torch": torch.get_rng_state()}
    if generator is not None:
        state["generator"] = generator.get_state()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng(state, generator):
    torch.set_rng_state(state["torch"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@torch.no_grad()
def evaluate_loss(network, windows, starts, loss_fn, batch_size=256):
    """Mean ``loss_fn`` over the windows starting at ``starts`` (eval mode, no aux loss).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skmamba._nn.training import SeriesWindows, evaluate_loss
    >>> class Zero(torch.nn.Module):
    ...     def forward(self, x, x_mark=None, exog=None):
    ...         return torch.zeros(x.shape[0], 2, x.shape[2]), None
    >>> w = SeriesWindows(np.ones((10, 1)), seq_len=4, pred_len=2)
    >>> evaluate_loss(Zero(), w, [0, 1], torch.nn.MSELoss())
    1.0
    """
    total, count = _loss_total(network, windows, starts, loss_fn, batch_size)
    return total / count


@torch.no_grad()
def _loss_total(network, windows, starts, loss_fn, batch_size):
    """Summed ``loss_fn`` (each batch's mean times its size) and the number of windows."""
    network.eval()
    starts = torch.as_tensor(np.asarray(starts, dtype=np.int64))
    total = 0.0
    for b in range(0, len(starts), max(1, int(batch_size))):
        s = starts[b: b + batch_size]
        x, x_mark, exog, y = windows.batch(s)
        y_hat, _ = _forward(network, x, x_mark, exog)
        total += float(loss_fn(y_hat, y)) * len(s)
    return total, len(starts)


@torch.no_grad()
def predict_batches(network, x, x_mark=None, exog=None, batch_size=256):
    """Forecast lookback windows in eval mode, batch by batch.

    Parameters
    ----------
    network : torch.nn.Module
    x : torch.Tensor
        (n, seq_len, C) lookbacks, possibly a strided view.
    x_mark, exog : torch.Tensor, optional
        (n, seq_len, M) and (n, seq_len, E).
    batch_size : int, default=256

    Returns
    -------
    numpy.ndarray
        (n, pred_len, C) float32 forecasts in the units of x.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.training import predict_batches
    >>> class Last(torch.nn.Module):
    ...     def forward(self, x, x_mark=None, exog=None):
    ...         return x[:, -1:, :].repeat(1, 3, 1), None
    >>> predict_batches(Last(), torch.arange(8.0).reshape(2, 4, 1))[:, :, 0].tolist()
    [[3.0, 3.0, 3.0], [7.0, 7.0, 7.0]]
    """
    network.eval()
    out = []
    for b in range(0, x.shape[0], max(1, int(batch_size))):
        sl = slice(b, b + batch_size)
        y_hat, _ = _forward(
            network, x[sl], None if x_mark is None else x_mark[sl],
            None if exog is None else exog[sl],
        )
        out.append(y_hat.float().cpu().numpy())
    return np.concatenate(out, axis=0)
