"""FMamba network (Ma et al., 2024): fast attention across variates, then Mamba."""

import torch.nn as nn

from ..layers import FastAttention, FeedForward, InvertedEmbedding, Mamba, PositionalEncoding, RevIN
from ..layers.embedding import ExogenousEmbedding, append_exog_tokens

__all__ = ["FMambaNet", "FMambaLayer"]


class FMambaLayer(nn.Module):
    """One FMamba layer: fast attention across tokens, Mamba over tokens, MLP.

    ``x = LN(x + FastAttn(x))``, ``x = LN(x + Mamba(x))``, ``x = LN(x + MLP(x))``.

    Parameters
    ----------
    d_model, d_state, d_ff : int
        Token width, SSM state size, MLP hidden width.
    n_heads : int
        Fast-attention heads.
    d_conv, expand : int
        Mamba settings.
    dropout : float
        Dropout after the attention and Mamba updates and inside the MLP.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.fmamba import FMambaLayer
    >>> FMambaLayer(8, 4, 16, 1, 2, 1, 0.1)(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model, d_state, d_ff, n_heads, d_conv, expand, dropout):
        super().__init__()
        self.attention = FastAttention(d_model, n_heads)
        self.norm_attn = nn.LayerNorm(d_model)
        self.mamba = Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand)
        self.norm_mamba = nn.LayerNorm(d_model)
        self.mlp = FeedForward(d_model, d_ff, dropout=dropout)
        self.norm_mlp = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        """Map tokens (B, T, d_model) to (B, T, d_model)."""
        x = self.norm_attn(x + self.dropout(self.attention(x)))
        x = self.norm_mamba(x + self.dropout(self.mamba(x)))
        return self.norm_mlp(x + self.mlp(x))


class FMambaNet(nn.Module):
    """FMamba: variates as tokens, kernelised attention across them, then Mamba.

    Built from the paper (arXiv:2407.14814); there is no public code.

    1. Each window is normalised per channel over time (non-affine RevIN).
    2. Embedding: every variate's lookback (and every calendar feature's, as extra tokens
       like S-Mamba) becomes one token by ``Linear(seq_len -> d_model)``, and every exogenous
       variable one token from its ``seq_len + pred_len`` values (lookback, then its known
       future values) by its own ``Linear(seq_len + pred_len -> d_model)``
       (:class:`~skmamba._nn.layers.embedding.ExogenousEmbedding`); tokens in the order
       targets, calendar features, exogenous variables. Sinusoidal positions over the token
       axis are added (so attention, which is permutation invariant, can tell the variables
       apart), then dropout and an MLP block with a residual and LayerNorm.
    3. ``e_layers`` :class:`FMambaLayer` blocks: fast attention across tokens (Gaussian
       kernel ``exp(-x**2 / 2)`` on queries and keys, ``K'^T V`` first, so the cost is
       linear in the number of variables), a unidirectional Mamba over the tokens and an
       MLP, each with a residual connection and LayerNorm.
    4. Projector ``Linear(d_model -> pred_len)`` per token; the first ``n_channels`` tokens
       are the forecast, which is denormalised.

    Known future covariates: an exogenous token carries the covariate's values over the
    forecast rows; the fast attention of every layer lets each target token read every
    exogenous token (the Mamba scan, unidirectional with the targets first, does not), so the
    forecast can use them. Exogenous variables are not normalised by the network.

    Choices where the paper is silent and parameter meanings: see
    :class:`~skmamba.estimators.FMambaForecaster`.

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
    d_model : int
        Token width.
    d_state : int
        State size of each Mamba.
    d_ff : int
        Hidden width of the MLP blocks.
    e_layers : int
        :class:`FMambaLayer` blocks.
    n_heads : int
        Fast-attention heads (must divide ``d_model``).
    d_conv : int
        Convolution width of each Mamba.
    expand : int
        Inner-width factor of each Mamba.
    dropout : float
        Dropout of the embedding and the blocks.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.fmamba import FMambaNet
    >>> from skmamba._nn.heads import PointOutput
    >>> net = FMambaNet(seq_len=16, pred_len=4, n_channels=3, n_mark=4, n_exog=0,
    ...     output=PointOutput(), d_model=8,
    ...                 d_state=16, d_ff=8, e_layers=2, n_heads=1, d_conv=2, expand=1,
    ...                 dropout=0.1)
    >>> y_hat, aux = net(torch.randn(2, 16, 3), x_mark=torch.rand(2, 16, 4) - 0.5)
    >>> y_hat.shape, aux
    (torch.Size([2, 4, 3]), None)

    With two known future covariates, ``exog`` holds their lookback and horizon rows:

    >>> net = FMambaNet(seq_len=16, pred_len=4, n_channels=3, n_mark=0, n_exog=2,
    ...                 output=PointOutput(), d_model=8, d_state=4, d_ff=8, e_layers=1,
    ...                 n_heads=1, d_conv=2, expand=1, dropout=0.1)
    >>> net(torch.randn(2, 16, 3), exog=torch.randn(2, 16 + 4, 2))[0].shape
    torch.Size([2, 4, 3])
    """

    def __init__(self, *, seq_len, pred_len, n_channels, n_mark, n_exog, output, d_model, d_state,
                 d_ff, e_layers, n_heads, d_conv, expand, dropout):
        super().__init__()
        self.output = output
        self.n_channels = n_channels
        self.norm = RevIN(n_channels)
        self.embedding = InvertedEmbedding(seq_len, d_model, dropout=0.0)
        self.position = PositionalEncoding(d_model)
        self.dropout = nn.Dropout(dropout)
        self.embed_mlp = FeedForward(d_model, d_ff, dropout=dropout)
        self.embed_norm = nn.LayerNorm(d_model)
        self.layers = nn.ModuleList(
            FMambaLayer(d_model, d_state, d_ff, n_heads, d_conv, expand, dropout)
            for _ in range(e_layers)
        )
        self.projector = nn.Linear(d_model, pred_len * output.n_params)
        # Created last and only with covariates, so that without them the parameters and their
        # seeded initial values are those of the network before covariates were supported.
        # No dropout here: like the other tokens, they get it after the positions are added.
        self.exog_embedding = (
            ExogenousEmbedding(seq_len, pred_len, n_exog, d_model, dropout=0.0)
            if n_exog else None
        )

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) from x (B, seq_len, n_channels).

        ``x_mark`` is (B, seq_len, n_mark); ``exog`` is (B, seq_len + pred_len, n_exog).
        """
        x = self.norm(x, "norm")
        marks = x_mark if x_mark is not None and x_mark.shape[-1] > 0 else None
        tokens = append_exog_tokens(self.embedding(x, marks), self.exog_embedding, exog)
        tokens = self.dropout(tokens + self.position(tokens))
        tokens = self.embed_norm(tokens + self.embed_mlp(tokens))
        for layer in self.layers:
            tokens = layer(tokens)
        out = self.projector(tokens).transpose(1, 2)[:, :, : self.n_channels]
        return self.output(out, self.norm), None
