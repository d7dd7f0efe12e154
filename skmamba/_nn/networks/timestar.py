"""TimeStarMamba network: TimeXer-style patch and global tokens, Mamba mixing, STAR pooling."""

import torch
import torch.nn as nn

from ..layers import FeedForward, FlattenHead, InvertedEmbedding, Mamba, PatchEmbedding, RevIN, STAR
from ..layers.embedding import ExogenousEmbedding, append_exog_tokens

__all__ = ["TimeStarMambaNet", "TimeStarMambaLayer"]

# FFN activation of every layer: GELU, the official code's default; the estimator does not
# expose it.
ACTIVATION = "gelu"


class TimeStarMambaLayer(nn.Module):
    """One TimeStarMamba layer over the patch tokens of every target and its global token.

    1. ``x = LN(x + dropout(Mamba(x)))`` over each target's ``patch_num + 1`` tokens;
    2. the global tokens (the last token of every target) are pooled with the context tokens
       by :class:`~skmamba._nn.layers.STAR`: ``glb = LN(glb + dropout(STAR(glb, context)))``;
    3. ``x = LN(x + FFN(x))``.

    Parameters
    ----------
    d_model, d_state, d_ff, d_core : int
        Token width, SSM state size, FFN hidden width, STAR core width.
    d_conv, expand : int
        Mamba settings.
    dropout : float
        Dropout of the updates, STAR and the FFN.
    activation : {"gelu", "relu", "silu"}
        FFN activation.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.timestar import TimeStarMambaLayer
    >>> layer = TimeStarMambaLayer(d_model=8, d_state=4, d_ff=16, d_core=4, d_conv=4,
    ...                            expand=2, dropout=0.1, activation="gelu")
    >>> x, context = torch.randn(2 * 3, 5, 8), torch.randn(2, 7, 8)
    >>> layer(x, context).shape
    torch.Size([6, 5, 8])
    """

    def __init__(self, d_model, d_state, d_ff, d_core, d_conv, expand, dropout, activation):
        super().__init__()
        self.mamba = Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand)
        self.norm_mamba = nn.LayerNorm(d_model)
        self.star = STAR(d_model, d_core, dropout=dropout)
        self.norm_star = nn.LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff, dropout=dropout, activation=activation)
        self.norm_ffn = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, context):
        """Map x (B * N, P + 1, D), global token last, and context (B, M, D) to x's shape."""
        x = self.norm_mamba(x + self.dropout(self.mamba(x)))
        B, D = context.shape[0], x.shape[-1]
        glb = x[:, -1].reshape(B, -1, D)
        glb = self.norm_star(glb + self.dropout(self.star(glb, context)))
        x = torch.cat([x[:, :-1], glb.reshape(-1, 1, D)], dim=1)
        return self.norm_ffn(x + self.ffn(x))


class TimeStarMambaNet(nn.Module):
    """TimeStarMamba: patch tokens and a global token per target, Mamba, STAR pooling.

    TimeStar (``vinhky123/TimeStar``) is TimeXer with its cross-attention replaced by the
    STAR module of SOFTS; TimeStarMamba (``vinhky123/Model``) also replaces the
    self-attention over patches by Mamba. No paper describes it; this follows the code.

    1. Each window is normalised per channel over time (non-affine RevIN).
    2. Endogenous tokens: every target's lookback is cut into non-overlapping patches of
       ``patch_len`` (``patch_num = seq_len // patch_len``; when ``seq_len`` is not a
       multiple, the most recent ``patch_num * patch_len`` steps are used), embedded by
       ``Linear(patch_len -> d_model)`` plus sinusoidal positions, and a learnable global
       token of that target is appended; dropout.
    3. Context tokens for STAR (TimeXer's exogenous tokens), one per variable:

       - with exogenous variables, each is embedded from its ``seq_len + pred_len`` values
         (lookback, then its known future values over the horizon) by its own
         ``Linear(seq_len + pred_len -> d_model)``
         (:class:`~skmamba._nn.layers.embedding.ExogenousEmbedding`, as in S-Mamba, FMamba
         and MAT), and each calendar feature by the inverted embedding
         ``Linear(seq_len -> d_model)`` of its lookback;
       - without them, the inverted embedding of the targets' (and calendar features')
         lookback takes their place, as in the official multivariate path.
    4. ``e_layers`` :class:`TimeStarMambaLayer` blocks (FFN activation ``ACTIVATION``), a
       final LayerNorm, and a flatten head ``Linear((patch_num + 1) * d_model -> pred_len)``
       with dropout; denormalisation.

    Known future covariates: every context token of a covariate carries its values over the
    forecast rows, and STAR pools the context tokens into every target's global token in
    each layer, from which the Mamba over that target's tokens and the head read, so the
    forecast can use them. Exogenous variables are not normalised by the network.

    Deviations from the official code and parameter meanings: see
    :class:`~skmamba.estimators.TimeStarMambaForecaster`.

    Parameters
    ----------
    seq_len : int
        Lookback length.
    pred_len : int
        Horizon.
    n_channels : int
        Target variables.
    n_mark : int
        Calendar features passed as ``x_mark`` (context tokens).
    n_exog : int
        Exogenous variables passed as ``exog`` over ``seq_len + pred_len`` rows (context
        tokens; when 0 the targets are the context).
    output : torch.nn.Module
        What the network forecasts (:mod:`skmamba._nn.heads`): a point, a distribution or
        quantiles; the projection has ``pred_len * output.n_params`` outputs per channel.
    d_model : int
        Token width.
    d_ff : int
        FFN hidden width.
    d_core : int
        STAR core width.
    d_state : int
        State size of the Mambas.
    d_conv : int
        Convolution width of the Mambas.
    expand : int
        Inner-width factor of the Mambas.
    e_layers : int
        :class:`TimeStarMambaLayer` blocks.
    patch_len : int
        Steps per patch.
    dropout : float
        Dropout of the embeddings, STAR, the blocks and the head.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.timestar import TimeStarMambaNet
    >>> from skmamba._nn.heads import PointOutput
    >>> net = TimeStarMambaNet(seq_len=32, pred_len=8, n_channels=2, n_mark=0, n_exog=3,
    ...     output=PointOutput(),
    ...                        d_model=16, d_ff=16, d_core=8, d_state=16, d_conv=4,
    ...                        expand=2, e_layers=2, patch_len=16, dropout=0.1).eval()
    >>> y_hat, aux = net(torch.randn(4, 32, 2), exog=torch.randn(4, 32 + 8, 3))
    >>> y_hat.shape, aux
    (torch.Size([4, 8, 2]), None)
    """

    def __init__(self, *, seq_len, pred_len, n_channels, n_mark, n_exog, output, d_model, d_ff,
                 d_core, d_state, d_conv, expand, e_layers, patch_len, dropout):
        super().__init__()
        self.output = output
        self.n_channels = n_channels
        self.norm = RevIN(n_channels)
        self.patch_embedding = PatchEmbedding(d_model, patch_len, patch_len, pad_end=False,
                                              dropout=0.0)
        self.patch_num = self.patch_embedding.num_patches(seq_len)
        self.patched_len = self.patch_num * patch_len
        self.global_token = nn.Parameter(torch.randn(1, n_channels, 1, d_model))
        self.dropout = nn.Dropout(dropout)
        # Lookback-only context (the targets without covariates, else the calendar features);
        # left out when it would embed nothing.
        self.context_embedding = (
            InvertedEmbedding(seq_len, d_model, dropout=dropout) if not n_exog or n_mark else None
        )
        self.layers = nn.ModuleList(
            TimeStarMambaLayer(d_model, d_state, d_ff, d_core, d_conv, expand, dropout,
                               ACTIVATION)
            for _ in range(e_layers)
        )
        self.final_norm = nn.LayerNorm(d_model)
        self.head = FlattenHead((self.patch_num + 1) * d_model, pred_len * output.n_params,
                                dropout=dropout)
        # Created last and only with covariates, so that without them the parameters and their
        # seeded initial values are those of the network before covariates were supported.
        self.exog_embedding = (
            ExogenousEmbedding(seq_len, pred_len, n_exog, d_model, dropout=dropout)
            if n_exog else None
        )

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) from x (B, seq_len, n_channels).

        ``x_mark`` is (B, seq_len, n_mark); ``exog`` is (B, seq_len + pred_len, n_exog).
        """
        B = x.shape[0]
        x = self.norm(x, "norm")
        patches = self.patch_embedding(x[:, -self.patched_len:].transpose(1, 2))
        patches = patches.reshape(B, self.n_channels, self.patch_num, -1)
        tokens = torch.cat([patches, self.global_token.expand(B, -1, -1, -1)], dim=2)
        tokens = self.dropout(tokens.flatten(0, 1))

        marks = x_mark if x_mark is not None and x_mark.shape[-1] > 0 else None
        if self.exog_embedding is None:
            # Without covariates the targets themselves are the context (official code).
            context = append_exog_tokens(self.context_embedding(x, marks), None, exog)
        else:
            if marks is not None and self.context_embedding is None:
                raise ValueError(
                    f"the network was built with n_mark=0 but x_mark has {marks.shape[-1]} "
                    "columns"
                )
            context = None if marks is None else self.context_embedding(marks)
            context = append_exog_tokens(context, self.exog_embedding, exog)

        for layer in self.layers:
            tokens = layer(tokens, context)
        out = self.head(self.final_norm(tokens).reshape(B, self.n_channels, self.patch_num + 1, -1))
        return self.output(out.transpose(1, 2), self.norm), None
