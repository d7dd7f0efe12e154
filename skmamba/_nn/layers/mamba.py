"""The Mamba-1 mixer (selective state-space block) used by every skmamba network."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..._kernels import selective_scan

__all__ = ["Mamba"]


class Mamba(nn.Module):
    """Mamba-1 mixer: gated, convolved, selective state-space layer over a sequence.

    ``in_proj`` splits the input into a branch ``x`` and a gate ``z``; ``x`` passes a causal
    depthwise convolution and SiLU, then ``x_proj`` gives the input-dependent step size
    ``dt`` (through a low-rank ``dt_proj``), ``B`` and ``C``; the recurrence runs in
    :func:`skmamba._kernels.selective_scan`, and ``out_proj`` maps back to ``d_model``.

    Parameters
    ----------
    d_model : int
        Width of the input and output.
    d_state : int, default=16
        State size N per channel.
    d_conv : int, default=4
        Kernel size of the causal depthwise convolution.
    expand : int, default=2
        Inner width is ``expand * d_model``.
    dt_rank : int or "auto", default="auto"
        Rank of the step-size projection; ``"auto"`` is ``ceil(d_model / 16)``.
    dt_min, dt_max : float, default=1e-3, 1e-1
        Range of the log-uniform initial step size (mamba-ssm's initialisation).
    dt_init_floor : float, default=1e-4
        Lower bound of the initial step size.
    conv_bias : bool, default=True
        Bias in the depthwise convolution.
    bias : bool, default=False
        Bias in ``in_proj`` and ``out_proj``.

    Notes
    -----
    The scan backend is not a parameter: the layer calls
    :func:`~skmamba._kernels.selective_scan` without one, so the current setting applies
    (``"auto"`` unless changed with :func:`~skmamba._kernels.scan_backend` or
    :func:`~skmamba._kernels.set_scan_backend`).

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers import Mamba
    >>> m = Mamba(d_model=8, d_state=4)
    >>> m(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    >>> from skmamba._kernels import scan_backend
    >>> with scan_backend("reference"):
    ...     m(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        d_model,
        d_state=16,
        d_conv=4,
        expand=2,
        dt_rank="auto",
        dt_min=1e-3,
        dt_max=1e-1,
        dt_init_floor=1e-4,
        conv_bias=True,
        bias=False,
    ):
        super().__init__()
        self.d_model = d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)

        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias)
        self.conv1d = nn.Conv1d(
            self.d_inner, self.d_inner, d_conv, groups=self.d_inner,
            padding=d_conv - 1, bias=conv_bias,
        )
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias)

        # Standard dt initialisation: weights keep dt_proj's output at unit scale, the bias
        # is the inverse softplus of a log-uniform step in [dt_min, dt_max].
        std = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(
            torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        ).clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.dt_proj.bias._no_reinit = True

        # S4D-real initialisation A = -(1..N) for every channel, stored as a log so A < 0.
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.D._no_weight_decay = True

    def forward(self, hidden):
        """Map (batch, L, d_model) to (batch, L, d_model)."""
        L = hidden.shape[1]
        xz = self.in_proj(hidden).transpose(1, 2)
        x, z = xz.chunk(2, dim=1)
        x = F.silu(self.conv1d(x)[..., :L])
        x_dbl = self.x_proj(x.transpose(1, 2))
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.linear(dt, self.dt_proj.weight)
        y = selective_scan(
            x.contiguous(),
            dt.transpose(1, 2).contiguous(),
            -torch.exp(self.A_log.float()),
            B.transpose(1, 2).contiguous(),
            C.transpose(1, 2).contiguous(),
            D=self.D.float(),
            z=z.contiguous(),
            delta_bias=self.dt_proj.bias.float(),
            delta_softplus=True,
        )
        return self.out_proj(y.transpose(1, 2))
