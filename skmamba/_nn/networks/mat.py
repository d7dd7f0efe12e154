"""MAT network (Zhang et al., 2024): Mamba and self-attention at two embedding scales."""

import torch
import torch.nn as nn

from ..layers import FeedForward, InvertedEmbedding, Mamba, MultiHeadSelfAttention, RevIN
from ..layers.embedding import ExogenousEmbedding, append_exog_tokens

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
    dropout : float
        Dropout of the attention weights and the FFN.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.mat import MATBlock
    >>> MATBlock(16, 4, 8, 2, 1, 32, 0.1)(torch.randn(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, d_model, n_heads, d_state, d_conv, expand, d_ff, dropout):
        super().__init__()
        self.norm_mix = nn.LayerNorm(d_model)
        self.mamba = Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand)
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

    The paper's components (RevIN, two-stage embedding, multi-scale context, Mamba +
    Transformer, residual connections, two-stage projection) on the skeleton of TimeMachine
    (Ahamed & Cheng, 2024):

    1. RevIN with a learnable per-channel affine map.
    2. Two-stage embedding of every variate's lookback (tokens are variates, plus calendar
       features and exogenous variables as extra tokens when given):
       ``r1 = Linear(seq_len -> n1)`` (for targets and calendar features; every exogenous
       variable has its own ``Linear(seq_len + pred_len -> n1)`` over its lookback and
       known future values, :class:`~skmamba._nn.layers.embedding.ExogenousEmbedding`, its
       tokens coming last), ``h1 = dropout(r1)``; ``r2 = Linear(n1 -> n2)(h1)``,
       ``h2 = dropout(r2)``.
    3. Multi-scale context: at each scale a :class:`MATBlock` mixes the tokens with a Mamba
       branch (long range) and a self-attention branch (short range), fused residually,
       then an FFN of width ``ff_mult * n_k``: ``s1 = Block1(h1)`` (width n1),
       ``s2 = Block2(h2)`` (width n2). The two scales run in parallel from the two
       embeddings, as in TimeMachine.
    4. Two-stage projection: ``p = Linear(n2 -> n1)(s2) + r1``, then
       ``Linear(2 n1 -> pred_len)(cat(p, s1))``; the first ``n_channels`` tokens are the
       forecast, which is denormalised.

    Known future covariates: an exogenous token carries the covariate's values over the
    forecast rows; the self-attention branch of both blocks lets each target token read every
    exogenous token (the Mamba branch, unidirectional with the targets first, does not), so
    the forecast can use them. Exogenous variables are not normalised by the network.

    The paper's weighted MSE + MAE loss is a training option of the forecaster, not part of
    the network.

    Design choices (there is no official code) and parameter meanings: see
    :class:`~skmamba.estimators.MATForecaster`.

    Parameters
    ----------
    seq_len : int
        Lookback length.
    pred_len : int
        Horizon.
    n_channels : int
        Target variables.
    n_mark : int
        Calendar features passed as ``x_mark`` (extra tokens).
    n_exog : int
        Exogenous variables passed as ``exog`` over ``seq_len + pred_len`` rows (extra
        tokens; none are built when 0).
    output : torch.nn.Module
        What the network forecasts (:mod:`skmamba._nn.heads`): a point, a distribution or
        quantiles; the projection has ``pred_len * output.n_params`` outputs per channel.
    n1 : int
        Width of the first (fine) embedding.
    n2 : int
        Width of the second (coarse) embedding.
    n_heads : int
        Attention heads at both scales (must divide n1 and n2).
    d_state : int
        State size of the Mambas.
    d_conv : int
        Convolution width of the Mambas.
    expand : int
        Inner-width factor of the Mambas.
    ff_mult : int
        FFN hidden width as a multiple of the token width.
    dropout : float
        Dropout of the embeddings, attention weights and FFNs.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.mat import MATNet
    >>> from skmamba._nn.heads import PointOutput
    >>> net = MATNet(seq_len=24, pred_len=6, n_channels=3, n_mark=0, n_exog=0,
    ...     output=PointOutput(), n1=16, n2=8,
    ...              n_heads=2, d_state=16, d_conv=2, expand=1, ff_mult=2, dropout=0.1)
    >>> y_hat, aux = net(torch.randn(2, 24, 3))
    >>> y_hat.shape, aux
    (torch.Size([2, 6, 3]), None)

    With two known future covariates, ``exog`` holds their lookback and horizon rows:

    >>> net = MATNet(seq_len=24, pred_len=6, n_channels=3, n_mark=0, n_exog=2,
    ...              output=PointOutput(), n1=16, n2=8, n_heads=2, d_state=4, d_conv=2,
    ...              expand=1, ff_mult=2, dropout=0.1)
    >>> net(torch.randn(2, 24, 3), exog=torch.randn(2, 24 + 6, 2))[0].shape
    torch.Size([2, 6, 3])
    """

    def __init__(self, *, seq_len, pred_len, n_channels, n_mark, n_exog, output, n1, n2, n_heads,
                 d_state, d_conv, expand, ff_mult, dropout):
        super().__init__()
        self.output = output
        self.n_channels = n_channels
        self.norm = RevIN(n_channels, affine=True)
        self.embed1 = InvertedEmbedding(seq_len, n1, dropout=0.0)
        self.embed2 = nn.Linear(n1, n2)
        self.dropout = nn.Dropout(dropout)
        self.scale1 = MATBlock(n1, n_heads, d_state, d_conv, expand, ff_mult * n1, dropout)
        self.scale2 = MATBlock(n2, n_heads, d_state, d_conv, expand, ff_mult * n2, dropout)
        self.project1 = nn.Linear(n2, n1)
        self.project2 = nn.Linear(2 * n1, pred_len * output.n_params)
        # Created last and only with covariates, so that without them the parameters and their
        # seeded initial values are those of the network before covariates were supported.
        self.exog_embedding = (
            ExogenousEmbedding(seq_len, pred_len, n_exog, n1, dropout=0.0) if n_exog else None
        )

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) from x (B, seq_len, n_channels).

        ``x_mark`` is (B, seq_len, n_mark); ``exog`` is (B, seq_len + pred_len, n_exog).
        """
        x = self.norm(x, "norm")
        marks = x_mark if x_mark is not None and x_mark.shape[-1] > 0 else None
        r1 = append_exog_tokens(self.embed1(x, marks), self.exog_embedding, exog)
        h1 = self.dropout(r1)
        r2 = self.embed2(h1)
        s1 = self.scale1(h1)
        s2 = self.scale2(self.dropout(r2))
        p = self.project1(s2) + r1
        out = self.project2(torch.cat([p, s1], dim=-1))
        out = out.transpose(1, 2)[:, :, : self.n_channels]
        return self.output(out, self.norm), None
