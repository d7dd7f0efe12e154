"""MixMamba, MAT, FMamba and TimeStarMamba networks: shapes, gradients, determinism,
reproducibility, stability at a high learning rate and the ability to fit a small batch."""

import inspect

import numpy as np
import pytest
import torch

from skmamba._nn.heads import PointOutput
from skmamba._nn.networks import FMambaNet, MATNet, MixMambaNet, SMambaNet, TimeStarMambaNet
from skmamba.estimators import (
    FMambaForecaster,
    MATForecaster,
    MixMambaForecaster,
    SMambaForecaster,
    TimeStarMambaForecaster,
)
from skmamba.estimators._common_params import COMMON_PARAMETERS
from skmamba.estimators._windows import resolve_patches

SEQ_LEN, PRED_LEN, N_CHANNELS, N_MARK, N_EXOG = 32, 8, 3, 4, 2

TINY = {
    MixMambaNet: dict(d_model=16, patch_len=8, stride=4, d_state=4),
    MATNet: dict(n1=16, n2=8, n_heads=2, d_state=4),
    FMambaNet: dict(d_model=16, d_ff=16, d_state=4, e_layers=1, n_heads=2),
    TimeStarMambaNet: dict(d_model=16, d_ff=16, d_core=8, d_state=4, patch_len=8),
}
NETWORKS = list(TINY)
FORECASTERS = {
    SMambaNet: SMambaForecaster,
    MixMambaNet: MixMambaForecaster,
    MATNet: MATForecaster,
    FMambaNet: FMambaForecaster,
    TimeStarMambaNet: TimeStarMambaForecaster,
}
SHAPE_ARGS = ("seq_len", "pred_len", "n_channels", "n_mark", "n_exog", "output")


def forecaster_defaults(cls):
    """The network's architecture arguments at its forecaster's defaults (written only there)."""
    defaults = inspect.signature(FORECASTERS[cls]).parameters
    return {name: defaults[name].default for name in inspect.signature(cls).parameters
            if name not in SHAPE_ARGS}


def build_default(cls, seq_len, pred_len, n_channels, n_mark=0, n_exog=0, **overrides):
    """The network with its forecaster's default architecture, except ``overrides``."""
    # Patch lengths left to the data follow the lookback, as the forecasters resolve them.
    arch = resolve_patches({**forecaster_defaults(cls), **overrides}, seq_len)
    output = arch.pop("output", None) or PointOutput()
    return cls(seq_len=seq_len, pred_len=pred_len, n_channels=n_channels, n_mark=n_mark,
               n_exog=n_exog, output=output, **arch)


def build(cls, n_mark=N_MARK, n_exog=N_EXOG, seed=0, **overrides):
    torch.manual_seed(seed)
    return build_default(cls, SEQ_LEN, PRED_LEN, N_CHANNELS, n_mark, n_exog,
                         **{**TINY[cls], **overrides})


def inputs(batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = 3.0 + 2.0 * torch.randn(batch, SEQ_LEN, N_CHANNELS, generator=g)
    x_mark = torch.rand(batch, SEQ_LEN, N_MARK, generator=g) - 0.5
    exog = torch.randn(batch, SEQ_LEN, N_EXOG, generator=g)
    return x, x_mark, exog


@pytest.fixture(params=NETWORKS, ids=lambda c: c.__name__)
def cls(request):
    return request.param


@pytest.mark.parametrize("with_mark, with_exog", [(False, False), (True, False), (True, True)])
def test_output_shapes(cls, with_mark, with_exog):
    net = build(cls, n_mark=N_MARK if with_mark else 0, n_exog=N_EXOG if with_exog else 0)
    x, x_mark, exog = inputs()
    y_hat, aux = net(x, x_mark=x_mark if with_mark else None, exog=exog if with_exog else None)
    assert y_hat.shape == (4, PRED_LEN, N_CHANNELS) and y_hat.dtype == torch.float32
    assert torch.isfinite(y_hat).all()
    if cls is MixMambaNet:
        assert aux.dim() == 0 and aux.requires_grad and aux > 0
    else:
        assert aux is None


def test_gradients_reach_every_parameter(cls):
    net = build(cls).train()
    x, x_mark, exog = inputs()
    torch.manual_seed(1)
    y_hat, aux = net(x, x_mark=x_mark, exog=exog)
    loss = (y_hat - x[:, :PRED_LEN]).pow(2).mean() + (aux if aux is not None else 0.0)
    loss.backward()
    silent = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not silent


def test_eval_is_deterministic(cls):
    net = build(cls).eval()
    x, x_mark, exog = inputs()
    torch.manual_seed(0)
    a = net(x, x_mark=x_mark, exog=exog)[0]
    torch.manual_seed(1)
    assert torch.equal(a, net(x, x_mark=x_mark, exog=exog)[0])


def test_training_mode_is_reproducible_under_a_seed(cls):
    net = build(cls).train()
    x, x_mark, exog = inputs()
    outs = []
    for seed in (7, 7, 8):
        torch.manual_seed(seed)
        outs.append(net(x, x_mark=x_mark, exog=exog)[0])
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], outs[2])


def test_exogenous_and_calendar_inputs_change_the_forecast():
    net = build(TimeStarMambaNet).eval()
    x, x_mark, exog = inputs()
    base = net(x, x_mark=x_mark, exog=exog)[0]
    assert not torch.allclose(base, net(x, x_mark=x_mark, exog=exog + 1.0)[0])
    assert not torch.allclose(base, net(x, x_mark=-x_mark, exog=exog)[0])


def test_forecast_follows_the_window_level(cls):
    # Per-window normalisation: shifting and scaling the input maps the forecast alike.
    net = build(cls, n_mark=0, n_exog=0).eval()
    x = inputs()[0]
    y = net(x)[0]
    torch.testing.assert_close(net(5.0 * x + 100.0)[0], 5.0 * y + 100.0, rtol=1e-4, atol=1e-3)


def test_overfits_a_small_batch(cls):
    net = build(cls, dropout=0.0).train()
    x, x_mark, exog = inputs(batch=8, seed=3)
    wave = torch.sin(torch.arange(PRED_LEN, dtype=torch.float32)).view(1, -1, 1)
    target = x[:, :PRED_LEN].flip(1) + 0.5 * wave
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    torch.manual_seed(0)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        y_hat, aux = net(x, x_mark=x_mark, exog=exog)
        loss = (y_hat - target).pow(2).mean()
        losses.append(float(loss.detach()))
        (loss + (aux if aux is not None else 0.0)).backward()
        opt.step()
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("net_cls", list(FORECASTERS), ids=lambda c: c.__name__)
def test_network_takes_its_forecasters_architecture_keyword_only(net_cls):
    # One source of truth: the network has no defaults; its arguments beyond the shapes are
    # exactly the forecaster's constructor parameters that are neither common nor loss options.
    params = inspect.signature(net_cls).parameters
    assert all(p.kind is p.KEYWORD_ONLY and p.default is p.empty for p in params.values())
    forecaster = FORECASTERS[net_cls]
    skip = set(COMMON_PARAMETERS) | set(getattr(forecaster, "_loss_parameters", ()))
    architecture = set(inspect.signature(forecaster).parameters) - skip
    assert set(params) == set(SHAPE_ARGS) | architecture
    with pytest.raises(TypeError):
        net_cls(16, 4, 2, 0, 0, **forecaster_defaults(net_cls))


def test_mixmamba_defaults_match_the_etth1_setting():
    net = build_default(MixMambaNet, seq_len=96, pred_len=96, n_channels=7)
    assert net.embedding.num_patches(96) == 12
    assert len(net.moe.experts) == 2 and net.moe.top_k == 2
    assert net.moe.gate.in_features == 64 and net.moe.gate.bias is None
    mamba = net.moe.experts[0].mamba
    assert (mamba.d_state, mamba.d_conv, mamba.d_inner) == (8, 4, 128)
    assert net.moe.capacity(12) == 8
    assert net.head.linear.in_features == 12 * 64


def test_mixmamba_paper_expert_variant():
    net = build(MixMambaNet, expert_residual=True, expert_init="mamba")
    y_hat, aux = net(inputs()[0])
    assert y_hat.shape == (4, PRED_LEN, N_CHANNELS) and torch.isfinite(aux)


def standardised_windows(frame, n_windows, seq_len, pred_len, seed=0):
    """Random windows of a frame's values, standardised column by column."""
    values = frame.to_numpy(dtype=np.float64)
    values = ((values - values.mean(0)) / values.std(0)).astype(np.float32)
    starts = np.random.default_rng(seed).choice(len(values) - seq_len - pred_len, n_windows)
    windows = np.stack([values[s: s + seq_len + pred_len] for s in starts])
    return torch.from_numpy(windows[:, :seq_len]), torch.from_numpy(windows[:, seq_len:])


def test_timestar_stable_at_lr_1e2_on_hourly_data(hourly_long):
    # The seed's script trains at lr=0.01; the official code needed clamps and a NaN
    # fallback for that. Plain Adam, no gradient clipping, default architecture.
    # Seven ETT-like hourly channels: daily and weekly cycles, drift, level shifts, t noise.
    x, y = standardised_windows(hourly_long, n_windows=48, seq_len=96, pred_len=24)
    torch.manual_seed(0)
    net = build_default(TimeStarMambaNet, seq_len=96, pred_len=24, n_channels=7).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for step in range(12):
        batch = slice(4 * step, 4 * step + 4)
        opt.zero_grad()
        loss = (net(x[batch])[0] - y[batch]).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.isfinite(losses).all(), losses
    net.eval()
    with torch.no_grad():
        assert torch.isfinite(net(x)[0]).all()
