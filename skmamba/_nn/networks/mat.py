"""MAT network (Zhang et al., 2024): Mamba and self-attention at two embedding scales."""

import torch
import torch.nn as nn

from ..layers import FeedForward, InvertedEmbedding, Mamba, MultiHeadSelfAttention, RevIN

__all__ = ["MATNet", "MATBlock"]


class MATBlock(nn.Module):
    """Parallel Mamba and self-attention over tokens, then a feed-forward block.

    ``h = h + Mamba(LN(h)) + Attn(LN(h))`` followed by ``h = h + FFN(LN(h))`` (pre-norm,
    so the residual stream keeps the scale of the embedding it started from).

    Parameters
    ----------
    d_model : int
        Token width.
    n_heads : int
        Attention heads (must divide ``d_model``).
    d_state, d_conv, expand : int
        Mamba settings.
    d_ff : int
        FFN hidden width.
    dropout : float, default=0.1
        Dropout of the attention weights and the FFN.
    scan_backend : str, default="auto"

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.mat import MATBlock
    >>> MATBlock(16, 4, 8, 2, 1, 32)(torch.randn(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, d_model, n_heads, d_state, d_conv, expand, d_ff, dropout=0.1,
                 scan_backend="auto"):
        super().__init__()
        self.norm_mix = nn.LayerNorm(d_model)
        self.mamba = Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand,
                           scan_backend=scan_backend)
        self.attention = MultiHeadSelfAttention(d_model, n_heads, dropout=dropout)
        self.norm_ffn = nn.LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff, dropout=dropout)

    def forward(self, h):
        """Map tokens (B, T, d_model) to (B, T, d_model)."""
        z = self.norm_mix(h)
        h = h + self.mamba(z) + self.attention(z)
        return h + self.ffn(self.norm_ffn(h))


class MATNet(nn.Module):
    """MAT: long-range Mamba and short-range self-attention at two scales of embedding.

    There is no public code for MAT; the structure follows the paper's component list
    (RevIN, two-stage embedding, multi-scale context, Mamba + Transformer, residual
    connections, two-stage projection) with TimeMachine (Ahamed & Cheng, 2024), which has
    exactly that skeleton, as the template:

    1. RevIN with a learnable per-channel affine map.
    2. Two-stage embedding of every variate's lookback (tokens are variates, plus calendar
       features and exogenous variables as extra tokens when given):
       ``r1 = Linear(seq_len -> n1)``, ``h1 = dropout(r1)``; ``r2 = Linear(n1 -> n2)(h1)``,
       ``h2 = dropout(r2)``.
    3. Multi-scale context: at each scale a :class:`MATBlock` mixes the tokens with a Mamba
       branch (long range) and a self-attention branch (short range), fused residually,
       then an FFN: ``s1 = Block1(h1)`` (width n1), ``s2 = Block2(h2)`` (width n2). The two
       scales run in parallel from the two embeddings, as in TimeMachine.
    4. Two-stage projection: ``p = Linear(n2 -> n1)(s2) + r1``, then
       ``Linear(2 n1 -> pred_len)(cat(p, s1))``; the first ``n_channels`` tokens are the
       forecast, which is denormalised.

    Design choices (no reference implementation exists):

    - both branches run over variate tokens (TimeMachine's channel-mixing mode); attention
      over TimeMachine's channel-independent axis (the n_k embedding coordinates of one
      variate, width 1) would degenerate;
    - pre-norm LayerNorms inside the blocks, which TimeMachine does not have, because the
      attention branch adds a second unnormalised update to the residual stream;
    - calendar features and exogenous variables become extra tokens (an extension: the
      paper forecasts from the targets alone); with a single target they give the token
      mixers something to mix;
    - Mamba with ``d_conv=2, expand=1`` as TimeMachine, but ``d_state=16`` instead of
      TimeMachine's 256: the scan runs over a handful of variate tokens, where a large state
      only costs time (CPU cost grows linearly with ``d_state``);
    - ``(n1, n2) = (128, 64)``: TimeMachine's middle Weather setting, and small enough for
      ETT-sized data sets (seven variables, about 8,500 training windows).

    The paper's weighted MSE + MAE loss is a training option of the forecaster, not part of
    the network.

    Parameters
    ----------
    seq_len, pred_len : int
        Lookback and horizon.
    n_channels : int
        Target variables.
    n_mark : int, default=0
        Calendar features passed as ``x_mark`` (extra tokens).
    n_exog : int, default=0
        Exogenous variables passed as ``exog`` (extra tokens).
    n1, n2 : int, default=128, 64
        Widths of the two embedding scales.
    n_heads : int, default=4
        Attention heads at both scales (must divide n1 and n2).
    d_state, d_conv, expand : int, default=16, 2, 1
        Mamba settings.
    ff_mult : int, default=2
        FFN hidden width is ``ff_mult * n_k`` at scale k.
    dropout : float, default=0.1
    scan_backend : str, default="auto"

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.mat import MATNet
    >>> net = MATNet(seq_len=24, pred_len=6, n_channels=3, n1=16, n2=8, n_heads=2)
    >>> y_hat, aux = net(torch.randn(2, 24, 3))
    >>> y_hat.shape, aux
    (torch.Size([2, 6, 3]), None)
    """

    def __init__(
        self,
        seq_len,
        pred_len,
        n_channels,
        n_mark=0,
        n_exog=0,
        n1=128,
        n2=64,
        n_heads=4,
        d_state=16,
        d_conv=2,
        expand=1,
        ff_mult=2,
        dropout=0.1,
        scan_backend="auto",
    ):
        super().__init__()
        self.n_channels = n_channels
        self.norm = RevIN(n_channels, affine=True)
        self.embed1 = InvertedEmbedding(seq_len, n1, dropout=0.0)
        self.embed2 = nn.Linear(n1, n2)
        self.dropout = nn.Dropout(dropout)
        self.scale1 = MATBlock(n1, n_heads, d_state, d_conv, expand, ff_mult * n1, dropout,
                               scan_backend)
        self.scale2 = MATBlock(n2, n_heads, d_state, d_conv, expand, ff_mult * n2, dropout,
                               scan_backend)
        self.project1 = nn.Linear(n2, n1)
        self.project2 = nn.Linear(2 * n1, pred_len)

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) from x (B, seq_len, n_channels)."""
        x = self.norm(x, "norm")
        extra = [t for t in (exog, x_mark) if t is not None and t.shape[-1] > 0]
        r1 = self.embed1(x, torch.cat(extra, dim=-1) if extra else None)
        h1 = self.dropout(r1)
        r2 = self.embed2(h1)
        s1 = self.scale1(h1)
        s2 = self.scale2(self.dropout(r2))
        p = self.project1(s2) + r1
        out = self.project2(torch.cat([p, s1], dim=-1))
        out = out.transpose(1, 2)[:, :, : self.n_channels]
        return self.norm(out, "denorm"), None
