"""The Mamba block: recurrent steps agree with the parallel pass; mamba-ssm initialisation."""

import math

import pytest
import torch
import torch.nn.functional as F

from skmamba._nn.layers import Mamba


@pytest.mark.parametrize("backend", ["reference", "auto"])
@pytest.mark.parametrize("d_conv, expand", [(4, 2), (2, 1)])
def test_step_over_sequence_equals_forward(backend, d_conv, expand):
    torch.manual_seed(0)
    m = Mamba(d_model=12, d_state=4, d_conv=d_conv, expand=expand, scan_backend=backend)
    x = torch.randn(3, 9, 12)
    with torch.no_grad():
        full = m(x)
        state = m.allocate_state(3)
        steps = []
        for t in range(x.shape[1]):
            out, state = m.step(x[:, t], state)
            steps.append(out)
    torch.testing.assert_close(torch.stack(steps, dim=1), full, rtol=1e-4, atol=1e-5)


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
