"""Forecast outputs every network can take: a point forecast, a distribution or quantiles.

A network projects its features to ``pred_len * output.n_params`` values per channel and
hands them, with its :class:`~skmamba._nn.layers.RevIN`, to its output module, which turns
them into forecasts in the units of the input window:

- :class:`PointOutput`: ``(B, pred_len, C)``, the denormalised values (what every network
  returned before outputs existed, bit for bit);
- :class:`NormalOutput`, :class:`StudentTOutput`: ``(B, pred_len, C, k)`` distribution
  parameters, location denormalised, scale positive by construction (softplus) and
  stretched by the window's standard deviation only;
- :class:`QuantileOutput`: ``(B, pred_len, C, n_levels)`` quantiles that never cross
  (the lowest plus cumulative softplus gaps).

Each output also owns its training loss (``output.loss(y_hat, y)``): squared error for a
point, negative log-likelihood for a distribution, pinball loss for quantiles.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["PointOutput", "NormalOutput", "StudentTOutput", "QuantileOutput", "make_output",
           "DISTRIBUTION_LOSSES"]

#: Losses that train a distribution or quantile output instead of a point forecast.
DISTRIBUTION_LOSSES = ("normal", "studentt", "quantile")

# Scales are kept above this fraction of the window's standard deviation, so a likelihood
# can never divide by zero.
_MIN_SCALE = 1e-3


def _split(out, n_params):
    """(B, n_params * H, C) -> (B, n_params, H, C); parameter-major along the time axis."""
    B, width, C = out.shape
    return out.reshape(B, n_params, width // n_params, C)


def _loc_scale(p, norm):
    """Location (denormalised) and a positive scale (stretched only) from p[:, 0], p[:, 1]."""
    return norm(p[:, 0], "denorm"), norm.denorm_scale(F.softplus(p[:, 1]) + _MIN_SCALE)


class PointOutput(nn.Module):
    """One value per step: the network's forecast, denormalised.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.heads import PointOutput
    >>> from skmamba._nn.layers import RevIN
    >>> norm = RevIN(1)
    >>> _ = norm(torch.randn(2, 8, 1), "norm")
    >>> PointOutput()(torch.zeros(2, 4, 1), norm).shape
    torch.Size([2, 4, 1])
    """

    n_params = 1

    def forward(self, out, norm):
        """Denormalise ``out`` (B, H, C)."""
        return norm(out, "denorm")


class NormalOutput(nn.Module):
    """A normal distribution per step and channel: ``(..., 2)`` = (loc, scale).

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.heads import NormalOutput
    >>> from skmamba._nn.layers import RevIN
    >>> norm = RevIN(3)
    >>> _ = norm(torch.randn(2, 8, 3), "norm")
    >>> params = NormalOutput()(torch.randn(2, 2 * 4, 3), norm)
    >>> params.shape, bool((params[..., 1] > 0).all())
    (torch.Size([2, 4, 3, 2]), True)
    """

    n_params = 2

    def forward(self, out, norm):
        """Distribution parameters from the raw projection ``out`` (B, 2 * H, C)."""
        return torch.stack(_loc_scale(_split(out, self.n_params), norm), dim=-1)

    def loss(self, params, y):
        """Mean negative log-likelihood of ``y`` (B, H, C)."""
        loc, scale = params[..., 0], params[..., 1]
        z = (y - loc) / scale
        return (0.5 * z * z + torch.log(scale)).mean() + 0.5 * math.log(2 * math.pi)


class StudentTOutput(nn.Module):
    """A Student-t distribution: ``(..., 3)`` = (loc, scale, degrees of freedom > 2).

    Degrees of freedom above 2 keep the variance finite, so ``predict_var`` exists.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.heads import StudentTOutput
    >>> from skmamba._nn.layers import RevIN
    >>> norm = RevIN(1)
    >>> _ = norm(torch.randn(2, 8, 1), "norm")
    >>> params = StudentTOutput()(torch.randn(2, 3 * 4, 1), norm)
    >>> bool((params[..., 2] > 2).all())
    True
    """

    n_params = 3

    def forward(self, out, norm):
        """Distribution parameters from the raw projection ``out`` (B, 3 * H, C)."""
        p = _split(out, self.n_params)
        df = 2.0 + F.softplus(p[:, 2])
        return torch.stack([*_loc_scale(p, norm), df], dim=-1)

    def loss(self, params, y):
        """Mean negative log-likelihood of ``y`` (B, H, C)."""
        dist = torch.distributions.StudentT(params[..., 2], params[..., 0], params[..., 1])
        return -dist.log_prob(y).mean()


class QuantileOutput(nn.Module):
    """Quantiles at fixed levels that never cross: ``(..., n_levels)``, increasing.

    Parameters
    ----------
    levels : sequence of float
        Increasing levels in (0, 1).

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.heads import QuantileOutput
    >>> from skmamba._nn.layers import RevIN
    >>> norm = RevIN(1)
    >>> _ = norm(torch.randn(2, 8, 1), "norm")
    >>> q = QuantileOutput((0.1, 0.5, 0.9))(torch.randn(2, 3 * 4, 1), norm)
    >>> bool((q.diff(dim=-1) >= 0).all())
    True
    """

    def __init__(self, levels):
        super().__init__()
        self.levels = tuple(float(a) for a in levels)
        self.n_params = len(self.levels)

    def forward(self, out, norm):
        """Quantiles from the raw projection ``out`` (B, n_levels * H, C)."""
        p = _split(out, self.n_params)
        lowest = norm(p[:, 0], "denorm")
        if self.n_params == 1:
            return lowest.unsqueeze(-1)
        gaps = _gaps(F.softplus(p[:, 1:]).cumsum(dim=1), norm)
        return torch.cat([lowest.unsqueeze(1), lowest.unsqueeze(1) + gaps], dim=1).movedim(
            1, -1
        )

    def loss(self, q, y):
        """Mean pinball loss of ``y`` (B, H, C) over the levels."""
        levels = torch.tensor(self.levels, dtype=q.dtype, device=q.device)
        diff = y.unsqueeze(-1) - q
        return torch.maximum(levels * diff, (levels - 1) * diff).mean()


def _gaps(cumulative, norm):
    """Denormalise cumulative gaps (B, k, H, C) as spreads, one level at a time."""
    return torch.stack([norm.denorm_scale(cumulative[:, j])
                        for j in range(cumulative.shape[1])], dim=1)


def make_output(loss, quantile_levels=None):
    """The output module a loss trains.

    Parameters
    ----------
    loss : str
        A point loss (any name of :data:`skmamba._nn.training.LOSSES` outside
        :data:`DISTRIBUTION_LOSSES`) gives :class:`PointOutput`; ``"normal"``,
        ``"studentt"`` and ``"quantile"`` give their outputs.
    quantile_levels : sequence of float, optional
        Levels of ``"quantile"``.

    Returns
    -------
    torch.nn.Module

    Examples
    --------
    >>> from skmamba._nn.heads import make_output
    >>> make_output("mse").n_params, make_output("studentt").n_params
    (1, 3)
    >>> make_output("quantile", (0.1, 0.5, 0.9)).levels
    (0.1, 0.5, 0.9)
    """
    if loss == "normal":
        return NormalOutput()
    if loss == "studentt":
        return StudentTOutput()
    if loss == "quantile":
        return QuantileOutput(quantile_levels)
    return PointOutput()
