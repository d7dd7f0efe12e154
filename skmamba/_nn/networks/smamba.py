"""S-Mamba network (Wang et al., 2024): bidirectional Mamba over variate tokens."""

import torch.nn as nn

from ..layers import FeedForward, InvertedEmbedding, Mamba, RevIN
from ..layers.embedding import ExogenousEmbedding, append_exog_tokens

__all__ = ["SMambaNet", "SMambaEncoderLayer"]

# FFN activation of every encoder layer: GELU, the official code's default; the estimator
# does not expose it.
ACTIVATION = "gelu"


class SMambaEncoderLayer(nn.Module):
    """One S-Mamba encoder layer: bidirectional Mamba mixing, then a token-wise FFN.

    ``x = LN(x + Mamba_f(x) + flip(Mamba_b(flip(x))))`` followed by
    ``LN(x + FFN(x))``. The two Mambas have separate weights and use ``d_conv=2, expand=1``
    as in the official code.

    Parameters
    ----------
    d_model, d_state, d_ff : int
        Token width, SSM state size, FFN hidden width.
    dropout : float
        FFN dropout.
    activation : {"gelu", "relu", "silu"}
        FFN activation.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.smamba import SMambaEncoderLayer
    >>> SMambaEncoderLayer(8, 2, 16, 0.1, "gelu")(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model, d_state, d_ff, dropout, activation):
        super().__init__()
        self.mamba_forward = Mamba(d_model, d_state=d_state, d_conv=2, expand=1)
        self.mamba_backward = Mamba(d_model, d_state=d_state, d_conv=2, expand=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff, dropout=dropout, activation=activation)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x):
        """Map tokens (B, T, d_model) to (B, T, d_model)."""
        mixed = self.mamba_forward(x) + self.mamba_backward(x.flip(1)).flip(1)
        x = self.norm1(x + mixed)
        return self.norm2(x + self.ffn(x))


class SMambaNet(nn.Module):
    """S-Mamba: every variate (and covariate) is one token; Mamba mixes the tokens.

    1. Each window is normalised per channel over time (non-affine RevIN).
    2. The lookback of every channel and every calendar feature is embedded by one
       ``Linear(seq_len -> d_model)``; every exogenous variable is embedded from its
       ``seq_len + pred_len`` values (lookback, then its known future values over the
       horizon) by its own ``Linear(seq_len + pred_len -> d_model)``
       (:class:`~skmamba._nn.layers.embedding.ExogenousEmbedding`): ``n_channels + n_mark +
       n_exog`` tokens, in that order.
    3. ``e_layers`` :class:`SMambaEncoderLayer` blocks (FFN activation
       ``ACTIVATION``), then a final LayerNorm.
    4. ``Linear(d_model -> pred_len)`` per token; the first ``n_channels`` tokens are the
       forecast, which is denormalised.

    Known future covariates: an exogenous token carries the covariate's values over the
    forecast rows, and the bidirectional Mamba of every layer mixes all tokens (the backward
    scan brings the exogenous tokens, which come last, to the target tokens), so each
    target's forecast can read them. Exogenous variables are not normalised by the network.

    Deviations from the official code and parameter meanings: see
    :class:`~skmamba.estimators.SMambaForecaster`.

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
        FFN hidden width.
    e_layers : int
        Encoder layers.
    dropout : float
        Dropout of the embedding and the FFNs.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks import SMambaNet
    >>> from skmamba._nn.heads import PointOutput
    >>> net = SMambaNet(seq_len=16, pred_len=4, n_channels=3, n_mark=4, n_exog=0,
    ...     output=PointOutput(),
    ...                 d_model=8, d_state=2, d_ff=8, e_layers=2, dropout=0.1)
    >>> y_hat, aux = net(torch.randn(2, 16, 3), x_mark=torch.rand(2, 16, 4) - 0.5)
    >>> y_hat.shape, aux
    (torch.Size([2, 4, 3]), None)

    With two known future covariates, ``exog`` holds their lookback and horizon rows:

    >>> net = SMambaNet(seq_len=16, pred_len=4, n_channels=3, n_mark=0, n_exog=2,
    ...                 output=PointOutput(), d_model=8, d_state=2, d_ff=8, e_layers=1,
    ...                 dropout=0.1)
    >>> net(torch.randn(2, 16, 3), exog=torch.randn(2, 16 + 4, 2))[0].shape
    torch.Size([2, 4, 3])
    """

    def __init__(self, *, seq_len, pred_len, n_channels, n_mark, n_exog, output, d_model, d_state,
                 d_ff, e_layers, dropout):
        super().__init__()
        self.output = output
        self.seq_len, self.pred_len = seq_len, pred_len
        self.n_channels, self.n_mark, self.n_exog = n_channels, n_mark, n_exog
        self.norm = RevIN(n_channels)
        self.embedding = InvertedEmbedding(seq_len, d_model, dropout=dropout)
        self.layers = nn.ModuleList(
            SMambaEncoderLayer(d_model, d_state, d_ff, dropout, ACTIVATION)
            for _ in range(e_layers)
        )
        self.final_norm = nn.LayerNorm(d_model)
        self.projector = nn.Linear(d_model, pred_len * output.n_params)
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
        x = self.norm(x, "norm")
        # Calendar features and exogenous variables ride along as extra variate tokens.
        marks = x_mark if x_mark is not None and x_mark.shape[-1] > 0 else None
        tokens = append_exog_tokens(self.embedding(x, marks), self.exog_embedding, exog)
        for layer in self.layers:
            tokens = layer(tokens)
        out = self.projector(self.final_norm(tokens))
        out = out.transpose(1, 2)[:, :, : self.n_channels]
        return self.output(out, self.norm), None
