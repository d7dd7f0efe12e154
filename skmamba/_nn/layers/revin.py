"""Reversible instance normalisation over the time axis of each window."""

import torch
import torch.nn as nn

__all__ = ["RevIN"]


class RevIN(nn.Module):
    """Per-window, per-channel normalisation that is undone on the forecast.

    ``mode="norm"`` stores each window's mean and standard deviation over time (biased
    variance plus ``eps`` under the root, as S-Mamba, MixMamba and TimeStar do) and returns the
    normalised window; ``mode="denorm"`` maps a forecast back with the stored statistics.
    With ``affine=True`` a learnable per-channel scale and shift is applied after
    normalising (RevIN of Kim et al., 2022, as TimeMachine uses it).

    Parameters
    ----------
    num_features : int
        Number of channels (last axis).
    eps : float, default=1e-5
        Added to the variance.
    affine : bool, default=False
        Learn a per-channel scale and bias.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers import RevIN
    >>> norm = RevIN(3)
    >>> x = torch.randn(2, 16, 3) * 5 + 10
    >>> z = norm(x, "norm")
    >>> torch.allclose(norm(z, "denorm"), x, atol=1e-4)
    True
    """

    def __init__(self, num_features, eps=1e-5, affine=False):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        self._mean = None
        self._std = None

    def forward(self, x, mode):
        """Normalise (``mode="norm"``) or restore (``mode="denorm"``) x of shape (B, T, C)."""
        if mode == "norm":
            self._mean = x.mean(dim=1, keepdim=True).detach()
            self._std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
            x = (x - self._mean) / self._std
            if self.affine:
                x = x * self.weight + self.bias
            return x
        if mode == "denorm":
            if self._mean is None:
                raise RuntimeError("RevIN: call with mode='norm' before mode='denorm'")
            if self.affine:
                x = (x - self.bias) / (self.weight + self.eps * self.eps)
            return x * self._std + self._mean
        raise ValueError(f"RevIN: mode must be 'norm' or 'denorm', got {mode!r}")

    def denorm_scale(self, s):
        """Map a non-negative spread (a scale, a quantile gap) of shape (B, T, C) back.

        A spread is not shifted by the mean, only stretched by the standard deviation (and
        by the inverse of the affine weight, in absolute value, so it stays non-negative).

        Examples
        --------
        >>> import torch
        >>> from skmamba._nn.layers import RevIN
        >>> norm = RevIN(1)
        >>> _ = norm(torch.tensor([[[0.0], [2.0]]]), "norm")
        >>> round(norm.denorm_scale(torch.ones(1, 1, 1)).item(), 4)
        1.0
        """
        if self._std is None:
            raise RuntimeError("RevIN: call with mode='norm' before denorm_scale")
        if self.affine:
            s = s / (self.weight + self.eps * self.eps).abs()
        return s * self._std
