"""The Mamba block: the parallel pass equals a step-by-step recurrence; mamba-ssm initialisation."""

import math

import pytest
import torch
import torch.nn.functional as F

from skmamba._kernels import numba_available, scan_backend
from skmamba._nn.layers import Mamba


def recurrent_forward(m, hidden):
    """``m(hidden)`` computed one time step at a time from the module's weights.

    An independent restatement of the block: a rolling window of the last ``d_conv`` inputs
    for the causal depthwise convolution and an explicit (batch, d_inner, d_state) state for
    the recurrence, so that it checks the layer's wiring (projections, split, causal
    convolution, gate) as well as the scan.
    """
    batch, L, _ = hidden.shape
    conv_state = hidden.new_zeros(batch, m.d_inner, m.d_conv)
    ssm_state = hidden.new_zeros(batch, m.d_inner, m.d_state, dtype=torch.float32)
    A = -torch.exp(m.A_log.float())
    outs = []
    for t in range(L):
        x, z = m.in_proj(hidden[:, t]).chunk(2, dim=-1)
        conv_state = torch.cat([conv_state[..., 1:], x.unsqueeze(-1)], dim=-1)
        x = (conv_state * m.conv1d.weight[:, 0, :]).sum(-1)
        if m.conv1d.bias is not None:
            x = x + m.conv1d.bias
        x = F.silu(x)
        dt, B, C = torch.split(m.x_proj(x), [m.dt_rank, m.d_state, m.d_state], dim=-1)
        dt = F.softplus(m.dt_proj(dt).float())
        decay = torch.exp(dt.unsqueeze(-1) * A)
        ssm_state = decay * ssm_state + (dt * x.float()).unsqueeze(-1) * B.float().unsqueeze(1)
        y = (ssm_state * C.float().unsqueeze(1)).sum(-1) + m.D.float() * x.float()
        y = (y * F.silu(z.float())).to(hidden.dtype)
        outs.append(m.out_proj(y))
    return torch.stack(outs, dim=1)


@pytest.mark.parametrize("backend", [
    "reference", "torch", "auto",
    pytest.param("numba", marks=pytest.mark.skipif(not numba_available(),
                                                   reason="numba kernels unavailable")),
])
@pytest.mark.parametrize("d_conv, expand, conv_bias", [(4, 2, True), (2, 1, False)])
def test_forward_equals_step_by_step_recurrence(backend, d_conv, expand, conv_bias):
    torch.manual_seed(0)
    m = Mamba(d_model=12, d_state=4, d_conv=d_conv, expand=expand, conv_bias=conv_bias)
    x = torch.randn(3, 9, 12)
    with torch.no_grad():
        with scan_backend(backend):
            full = m(x)
        steps = recurrent_forward(m, x)
    torch.testing.assert_close(steps, full, rtol=1e-4, atol=1e-5)


def test_dt_bias_init_range():
    torch.manual_seed(0)
    dt_min, dt_max = 1e-3, 1e-1
    m = Mamba(d_model=64, d_state=8, dt_min=dt_min, dt_max=dt_max)
    dt = F.softplus(m.dt_proj.bias.detach())
    assert dt.min() >= dt_min * (1 - 1e-4) and dt.max() <= dt_max * (1 + 1e-4)
    # Log-uniform: both decades of the range are populated.
    assert (dt < 1e-2).any() and (dt > 1e-2).any()
    bound = m.dt_rank ** -0.5
    assert m.dt_proj.weight.abs().max() <= bound
    assert getattr(m.dt_proj.bias, "_no_reinit", False)


def test_dt_floor():
    m = Mamba(d_model=16, dt_min=1e-6, dt_max=2e-6, dt_init_floor=1e-4)
    torch.testing.assert_close(F.softplus(m.dt_proj.bias.detach()),
                               torch.full((m.d_inner,), 1e-4), rtol=1e-3, atol=0)


def test_A_log_and_D_init():
    m = Mamba(d_model=8, d_state=5, expand=2)
    expected = torch.log(torch.arange(1, 6, dtype=torch.float32)).repeat(16, 1)
    torch.testing.assert_close(m.A_log.detach(), expected)
    assert torch.all(-torch.exp(m.A_log) < 0)
    torch.testing.assert_close(m.D.detach(), torch.ones(16))
    assert m.A_log._no_weight_decay and m.D._no_weight_decay
    assert m.dt_rank == math.ceil(8 / 16)


def test_backend_is_not_a_layer_argument():
    with pytest.raises(TypeError):
        Mamba(d_model=8, scan_backend="reference")
