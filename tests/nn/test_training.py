"""The training engine: strided windows, seeded shuffling, early stopping, divergence."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from skmamba._nn.heads import PointOutput
from skmamba._nn.networks import SMambaNet
from skmamba._nn.options import TrainingOptions
from skmamba._nn.training import (
    SeriesWindows,
    TrainingDivergedError,
    make_loss,
    resolve_device,
    seeded,
    train_network,
)


def options(**overrides):
    """Training options for the engine's own tests (small, constant lr, no early stopping)."""
    base = dict(max_epochs=1, batch_size=32, lr=1e-3, lr_decay=1.0, loss="mse",
                optimizer="adam", optimizer_kwargs=None, patience=None, verbose=0)
    return TrainingOptions(**{**base, **overrides})


class Constant(nn.Module):
    """Forecasts a learnable constant, ignoring the input."""

    def __init__(self, pred_len=2, value=0.0):
        super().__init__()
        self.pred_len = pred_len
        self.p = nn.Parameter(torch.tensor(float(value)))

    def forward(self, x, x_mark=None, exog=None):
        return self.p * torch.ones(x.shape[0], self.pred_len, x.shape[2]), None


class Scale(nn.Module):
    """y_hat = p * last value; explodes under a huge learning rate."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(1.0))

    def forward(self, x, x_mark=None, exog=None):
        return self.p * x[:, -2:, :], None


def test_windows_are_views_not_copies():
    values = torch.arange(300, dtype=torch.float32).reshape(100, 3)
    marks = torch.rand(100, 4)
    w = SeriesWindows(values, seq_len=10, pred_len=5, marks=marks)
    assert len(w) == 86
    assert w.windows.untyped_storage().data_ptr() == w.values.untyped_storage().data_ptr()
    assert w.mark_windows.untyped_storage().data_ptr() == w.marks.untyped_storage().data_ptr()
    assert w.windows.untyped_storage().nbytes() == values.numel() * 4
    x, x_mark, exog, y = w.batch([0, 85])
    torch.testing.assert_close(x[1], values[85:95])
    torch.testing.assert_close(y[1], values[95:100])
    torch.testing.assert_close(x_mark[0], marks[:10])
    assert exog is None


def test_windows_from_numpy_share_memory_with_float32_input():
    arr = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    w = SeriesWindows(arr, seq_len=8, pred_len=2)
    assert np.shares_memory(w.values.numpy(), arr)


def test_windows_reject_short_or_misaligned_input():
    with pytest.raises(ValueError, match="fewer than seq_len"):
        SeriesWindows(np.zeros((5, 1)), seq_len=4, pred_len=2)
    with pytest.raises(ValueError, match="marks"):
        SeriesWindows(np.zeros((10, 1)), 4, 2, marks=np.zeros((9, 4)))


def test_shuffling_is_seeded():
    def run(seed):
        w = SeriesWindows(np.sin(np.arange(80.0))[:, None], seq_len=6, pred_len=2)
        with seeded(seed) as gen:
            net = SMambaNet(seq_len=6, pred_len=2, n_channels=1, n_mark=0, n_exog=0,
                            output=PointOutput(),
                            d_model=8, d_state=2, d_ff=8, e_layers=1, dropout=0.1)
            train_network(net, w, np.arange(60), options=options(max_epochs=2, batch_size=8),
                          generator=gen)
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_early_stopping_restores_best_weights():
    # Training targets are 1 and validation targets 0: every epoch moves the constant towards
    # 1, so validation loss only grows after the first epoch, which must be restored.
    series = np.concatenate([np.ones(20), np.zeros(10)])[:, None]
    w = SeriesWindows(series, seq_len=2, pred_len=2)
    train, val = np.arange(0, 17), np.arange(18, 27)

    def fit(max_epochs, patience):
        net = Constant()
        with seeded(0) as gen:
            opts = options(max_epochs=max_epochs, batch_size=4, lr=0.05, patience=patience)
            res = train_network(net, w, train, val, options=opts, generator=gen)
        return net, res

    net, res = fit(max_epochs=10, patience=2)
    assert res.n_epochs == 3 and res.best_epoch == 1
    vals = [h["val_loss"] for h in res.history]
    assert vals[0] < vals[1] < vals[2]
    first, _ = fit(max_epochs=1, patience=None)
    assert net.p.item() == first.p.item()
    assert not net.training


def test_without_validation_last_epoch_kept():
    w = SeriesWindows(np.ones((30, 1)), seq_len=2, pred_len=2)
    net = Constant()
    res = train_network(net, w, np.arange(20), None,
                        options=options(max_epochs=4, lr=0.01, patience=1))
    assert res.n_epochs == 4 and res.best_epoch == 4
    assert all(h["val_loss"] is None for h in res.history)
    assert [h["lr"] for h in res.history] == [0.01] * 4


def test_lr_decay_schedule():
    w = SeriesWindows(np.ones((30, 1)), seq_len=2, pred_len=2)
    res = train_network(Constant(), w, np.arange(20),
                        options=options(max_epochs=3, lr=0.8, lr_decay=0.5))
    assert [h["lr"] for h in res.history] == [0.8, 0.4, 0.2]
    # Time-Series-Library's type1: two epochs at the full rate, then halving.
    res = train_network(Constant(), w, np.arange(20),
                        options=options(max_epochs=4, lr=0.8, lr_decay=0.5, lr_decay_start=2))
    assert [h["lr"] for h in res.history] == [0.8, 0.8, 0.4, 0.2]


def test_nan_loss_raises_naming_epoch_and_lr():
    w = SeriesWindows(np.random.default_rng(0).standard_normal((60, 1)) * 10, 4, 2)
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch \d+.*lower `lr`"):
        train_network(Scale(), w, np.arange(50),
                      options=options(max_epochs=3, batch_size=4, lr=1e30, clip_norm=None))


def test_nan_validation_loss_raises():
    class NanOnEval(Constant):
        def forward(self, x, x_mark=None, exog=None):
            y, aux = super().forward(x)
            return (y if self.training else y * float("nan")), aux

    w = SeriesWindows(np.ones((30, 1)), seq_len=2, pred_len=2)
    with pytest.raises(TrainingDivergedError, match="validation loss.*epoch 1"):
        train_network(NanOnEval(), w, np.arange(10), np.arange(20, 27), options=options(max_epochs=2))


def test_aux_loss_is_added():
    class WithAux(Constant):
        def forward(self, x, x_mark=None, exog=None):
            y, _ = super().forward(x)
            return y, 1000.0 * self.p ** 2

    w = SeriesWindows(np.ones((30, 1)), seq_len=2, pred_len=2)
    res = train_network(WithAux(value=1.0), w, np.arange(20),
                        options=options(max_epochs=1, batch_size=100))
    assert res.history[0]["train_loss"] == pytest.approx(1000.0)


def test_losses():
    a, b = torch.zeros(4), torch.full((4,), 2.0)
    assert float(make_loss("mse")(a, b)) == 4.0
    assert float(make_loss("mae")(a, b)) == 2.0
    assert float(make_loss("huber")(a, b)) == 1.5
    assert float(make_loss("mse+mae", mse_weight=0.25)(a, b)) == 2.5
    with pytest.raises(ValueError, match="loss must be one of"):
        make_loss("rmse")


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="device='cpu'"):
            resolve_device("cuda")
    with pytest.raises(ValueError):
        resolve_device("tpu")


@pytest.mark.parametrize("field, value, match", [
    ("max_epochs", 0, "max_epochs must be an int >= 1"),
    ("batch_size", 2.5, "batch_size must be an int"),
    ("patience", 0, "patience must be an int >= 1 or None"),
    ("lr", float("inf"), "lr must be a positive finite"),
    ("lr_decay", 1.5, r"lr_decay must lie in \(0, 1\]"),
    ("lr_decay_start", 0, "lr_decay_start must be an int >= 1"),
    ("loss", "rmse", "loss must be one of"),
    ("optimizer", "sgd", "optimizer must be one of"),
    ("optimizer_kwargs", [1], "optimizer_kwargs must be a dict"),
    ("loss_kwargs", {"mse_weight": 2.0}, "mse_weight"),
])
def test_training_options_are_validated_once_on_creation(field, value, match):
    overrides = {field: value}
    if field == "loss_kwargs":
        overrides["loss"] = "mse+mae"
    with pytest.raises(ValueError, match=match):
        options(**overrides)


def test_training_options_are_frozen():
    import dataclasses

    opts = options()
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.lr = 1.0
    assert dataclasses.replace(opts, lr=0.5).lr == 0.5


def test_lookbacks_are_views_of_the_first_windows():
    values = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    w = SeriesWindows(values, seq_len=4, pred_len=0, exog=values[:, :1] * 2)
    x, x_mark, exog = w.lookbacks(3)
    assert x.shape == (3, 4, 2) and x_mark is None and exog.shape == (3, 4, 1)
    torch.testing.assert_close(x[2], values[2:6])
    assert x.untyped_storage().data_ptr() == values.untyped_storage().data_ptr()
    assert len(w.lookbacks()[0]) == 7


# ---------------------------------------------------------------- max_steps
def _linear_fit(tmp_path=None, stop_after=None, **overrides):
    """An SMambaNet on 60 windows in batches of 8 (8 batches per epoch, the last of 4)."""
    w = SeriesWindows(np.sin(np.arange(90.0) / 4.0)[:, None], seq_len=8, pred_len=2)
    with seeded(0) as gen:
        net = SMambaNet(seq_len=8, pred_len=2, n_channels=1, n_mark=0, n_exog=0,
                        output=PointOutput(), d_model=8, d_state=2, d_ff=8, e_layers=1,
                        dropout=0.1)
        if stop_after is not None:
            original = net.forward
            calls = []

            def forward(*args, **kwargs):  # diverges after ``stop_after`` training batches
                y, aux = original(*args, **kwargs)
                calls.append(net.training)
                return (y * float("nan") if sum(calls) > stop_after else y), aux

            net.forward = forward
        opts = options(**{"batch_size": 8, "lr": 1e-2, **overrides})
        result = train_network(net, w, np.arange(60), np.arange(62, 81), options=opts,
                               generator=gen)
    return torch.cat([p.detach().flatten() for p in net.parameters()]), result


def test_max_steps_stops_within_an_epoch_and_validates_it():
    _, result = _linear_fit(max_epochs=None, max_steps=19)
    assert result.n_epochs == 3
    assert [h["batches"] for h in result.history] == [8, 8, 3]
    assert all(h["val_loss"] is not None for h in result.history)
    assert result.best_epoch == 1 + int(np.argmin([h["val_loss"] for h in result.history]))


def test_max_steps_of_whole_epochs_equals_max_epochs_bit_for_bit():
    by_steps, steps_result = _linear_fit(max_epochs=None, max_steps=16)
    by_epochs, epochs_result = _linear_fit(max_epochs=2)
    assert torch.equal(by_steps, by_epochs)
    assert [h["train_loss"] for h in steps_result.history] == [
        h["train_loss"] for h in epochs_result.history]
    assert [h["batches"] for h in steps_result.history] == [8, 8]
    assert "batches" not in epochs_result.history[0]  # without a budget: as before


def test_max_steps_and_max_epochs_whichever_comes_first():
    assert _linear_fit(max_epochs=2, max_steps=100)[1].n_epochs == 2
    _, result = _linear_fit(max_epochs=5, max_steps=10)
    assert [h["batches"] for h in result.history] == [8, 2]


def test_max_steps_resumes_from_a_checkpoint(tmp_path):
    path = str(tmp_path / "run.pt")
    # Interrupted in the first batch of epoch 3, after the epoch-2 checkpoint.
    with pytest.raises(TrainingDivergedError, match="epoch 3, batch 1"):
        _linear_fit(stop_after=16, max_epochs=None, max_steps=19, checkpoint_path=path)
    assert (tmp_path / "run.pt").exists()
    resumed, resumed_result = _linear_fit(max_epochs=None, max_steps=19,
                                          checkpoint_path=path)
    plain, plain_result = _linear_fit(max_epochs=None, max_steps=19)
    assert torch.equal(resumed, plain)
    assert [h["batches"] for h in resumed_result.history] == [8, 8, 3]
    assert not (tmp_path / "run.pt").exists()


@pytest.mark.parametrize("overrides, match", [
    ({"max_steps": 0}, "max_steps must be an int >= 1 or None"),
    ({"max_steps": 2.0}, "max_steps must be an int"),
    ({"max_epochs": None}, "max_epochs must be an int >= 1, got None"),
    ({"n_processes": 0}, "n_processes must be an int >= 1"),
])
def test_max_steps_and_n_processes_are_validated(overrides, match):
    with pytest.raises(ValueError, match=match):
        options(**overrides)
