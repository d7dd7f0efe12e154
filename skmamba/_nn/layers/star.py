"""STAR: the STar Aggregate-Redistribute module of SOFTS, as TimeStar uses it."""

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["STAR", "sample_channels"]


def sample_channels(logits, dim=1):
    """Draw one index along ``dim`` per remaining position, with probability softmax(logits).

    Inverse-CDF sampling on ``exp(log_softmax(logits))``: one uniform number per position,
    compared with the cumulative probabilities. It never fails on probabilities that do not
    sum exactly to one (the uniform is scaled by the actual total) and needs no clamping, so
    it cannot raise where ``torch.multinomial`` would. Uses the global torch RNG.

    Parameters
    ----------
    logits : torch.Tensor
        Unnormalised log-probabilities.
    dim : int, default=1
        The categorical axis.

    Returns
    -------
    torch.Tensor
        int64 indices, the shape of ``logits`` with ``dim`` of size 1.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.star import sample_channels
    >>> logits = torch.tensor([[[-30.0], [0.0], [-30.0]]])
    >>> sample_channels(logits).flatten().tolist()
    [1]
    """
    cdf = F.log_softmax(logits.detach(), dim=dim).exp().cumsum(dim)
    total = cdf.narrow(dim, cdf.shape[dim] - 1, 1)
    shape = list(logits.shape)
    shape[dim] = 1
    u = torch.rand(shape, device=logits.device, dtype=cdf.dtype) * total
    idx = (cdf < u).sum(dim=dim, keepdim=True)
    return idx.clamp_max(logits.shape[dim] - 1)


class STAR(nn.Module):
    """Aggregate a core representation from many channels and redistribute it (SOFTS).

    The query tokens ``x`` (B, N, D) and the context tokens ``context`` (B, M, D) are pooled
    together: an MLP (``D -> D``, GELU, dropout, ``D -> d_core``) scores every channel in
    every core dimension, and the core is

    - in training, a *stochastic pooling*: for each core dimension one channel is drawn with
      probability given by the softmax over channels (see :func:`sample_channels`), and its
      value is taken;
    - in eval mode, the softmax-weighted mean over channels (the expectation of the draw),
      so inference is deterministic.

    Each query token is then fused with the core: ``cat(x, core) -> D -> GELU -> dropout ->
    D``. Unlike TimeStarMamba's code there is no clamping of the scores and no NaN fallback:
    softmax is computed through ``log_softmax`` and sampling cannot fail on finite scores.

    Parameters
    ----------
    d_model : int
        Token width D.
    d_core : int
        Width of the pooled core.
    dropout : float, default=0.1
        Dropout inside both MLPs.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers import STAR
    >>> star = STAR(d_model=8, d_core=4).eval()
    >>> star(torch.randn(2, 3, 8), torch.randn(2, 5, 8)).shape
    torch.Size([2, 3, 8])
    """

    def __init__(self, d_model, d_core, dropout=0.1):
        super().__init__()
        self.gen1 = nn.Linear(d_model, d_model)
        self.gen2 = nn.Linear(d_model, d_core)
        self.gen3 = nn.Linear(d_model + d_core, d_model)
        self.gen4 = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def pool(self, tokens):
        """The core (B, 1, d_core) of tokens (B, C, D): sampled in training, mean in eval."""
        scores = self.gen2(self.dropout(F.gelu(self.gen1(tokens))))
        if self.training:
            return scores.gather(1, sample_channels(scores, dim=1))
        weights = F.softmax(scores, dim=1)
        return (scores * weights).sum(dim=1, keepdim=True)

    def forward(self, x, context=None):
        """Map query tokens x (B, N, D) and context (B, M, D) or None to (B, N, D)."""
        tokens = x if context is None else torch.cat([x, context], dim=1)
        core = self.pool(tokens).expand(-1, x.shape[1], -1)
        fused = self.dropout(F.gelu(self.gen3(torch.cat([x, core], dim=-1))))
        return self.gen4(fused)
