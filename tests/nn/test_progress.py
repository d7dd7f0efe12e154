"""Progress reporting of the training engine: silent by default and off a terminal,
per-epoch lines with verbose=2, tqdm bars on a terminal; the numbers never change."""

import io

import numpy as np
import pytest
import torch
import torch.nn as nn

from skmamba._nn import training
from skmamba._nn.options import TrainingOptions
from skmamba._nn.training import SeriesWindows, train_network


def options(**overrides):
    """Small, constant-lr training options; verbosity set per test."""
    base = dict(max_epochs=3, batch_size=8, lr=1e-2, lr_decay=0.5, loss="mse",
                optimizer="adam", optimizer_kwargs=None, patience=None, verbose=0)
    return TrainingOptions(**{**base, **overrides})


class Linear(nn.Module):
    """Maps the 8-step lookback to a 2-step forecast, channel by channel."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 2)

    def forward(self, x, x_mark=None, exog=None):
        return self.lin(x.transpose(1, 2)).transpose(1, 2), None


class TTY(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


def fit(verbose, n=60, validation=True, **overrides):
    torch.manual_seed(0)
    net = Linear()
    w = SeriesWindows(np.sin(np.arange(float(n)))[:, None], seq_len=8, pred_len=2)
    n_windows = len(w)
    n_train = int(n_windows * 0.8) if validation else n_windows
    val = np.arange(n_train, n_windows) if validation else None
    result = train_network(net, w, np.arange(n_train), val,
                           options=options(verbose=verbose, **overrides),
                           generator=torch.Generator().manual_seed(1))
    return net, result


def test_silent_by_default(capfd):
    fit(0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_1_off_a_terminal_prints_nothing(capfd):
    fit(1)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_2_prints_one_line_per_epoch(capfd):
    _, result = fit(2)
    out, err = capfd.readouterr()
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(lines) == result.n_epochs == 3
    assert all("train_loss" in line and "val_loss" in line and "lr" in line
               for line in lines)
    assert lines[0].startswith("epoch 1/3") and lines[-1].startswith("epoch 3/3")
    assert err == ""


def test_verbose_2_reports_early_stopping(capfd):
    # lr far too high for the problem: validation stops improving soon
    _, result = fit(2, max_epochs=40, lr=1.0, lr_decay=1.0, patience=1)
    out, _ = capfd.readouterr()
    assert result.n_epochs < 40
    assert f"early stopping after epoch {result.n_epochs}" in out


def test_bar_drawn_on_a_terminal(monkeypatch, capfd):
    tty = TTY()
    monkeypatch.setattr(training, "PROGRESS_FILE", tty)
    fit(1)
    bar = tty.getvalue()
    assert "training" in bar and "3/3" in bar
    assert "train_loss=" in bar and "val_loss=" in bar and "lr=" in bar
    assert "batch" not in bar  # short epochs: no inner bar
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # verbose=1 writes no lines


def test_bar_without_validation_has_no_val_loss(monkeypatch):
    tty = TTY()
    monkeypatch.setattr(training, "PROGRESS_FILE", tty)
    fit(True, validation=False)
    bar = tty.getvalue()
    assert "train_loss=" in bar and "val_loss" not in bar


class EagerTqdm(training.tqdm):
    """Redraws on every update (tqdm otherwise waits ``mininterval`` between redraws)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, mininterval=0, miniters=1, **kwargs)


def test_inner_bar_over_batches_of_long_epochs(monkeypatch):
    tty = TTY()
    monkeypatch.setattr(training, "PROGRESS_FILE", tty)
    monkeypatch.setattr(training, "tqdm", EagerTqdm)
    monkeypatch.setattr(training, "BATCH_BAR_MIN_BATCHES", 3)
    fit(1, max_epochs=2)  # 39 training windows in batches of 8: 5 batches
    bar = tty.getvalue()
    assert "epoch 1" in bar and "epoch 2" in bar and "5/5" in bar and "loss=" in bar


def test_no_bar_on_a_terminal_with_verbose_0(monkeypatch):
    tty = TTY()
    monkeypatch.setattr(training, "PROGRESS_FILE", tty)
    fit(0)
    assert tty.getvalue() == ""


@pytest.mark.parametrize("verbose", [1, 2])
def test_reporting_leaves_training_unchanged(monkeypatch, verbose):
    net0, res0 = fit(0)
    monkeypatch.setattr(training, "PROGRESS_FILE", TTY())
    monkeypatch.setattr(training, "BATCH_BAR_MIN_BATCHES", 1)
    net1, res1 = fit(verbose)
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in res0.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in res1.history]
    assert [set(h) for h in res1.history] == [
        {"epoch", "train_loss", "val_loss", "lr", "seconds"}] * 3
    for a, b in zip(net0.state_dict().values(), net1.state_dict().values()):
        assert torch.equal(a, b)
