"""S-Mamba network (Wang et al., 2024): bidirectional Mamba over variate tokens."""

import torch
import torch.nn as nn

from ..layers import FeedForward, InvertedEmbedding, Mamba, RevIN

__all__ = ["SMambaNet", "SMambaEncoderLayer"]


class SMambaEncoderLayer(nn.Module):
    """One S-Mamba encoder layer: bidirectional Mamba mixing, then a token-wise FFN.

    ``x = LN(x + Mamba_f(x) + flip(Mamba_b(flip(x))))`` followed by
    ``LN(x + FFN(x))``. The two Mambas have separate weights and use ``d_conv=2, expand=1``
    as in the official code.

    Parameters
    ----------
    d_model, d_state, d_ff : int
        Token width, SSM state size, FFN hidden width.
    dropout : float, default=0.1
        FFN dropout.
    activation : str, default="gelu"
        FFN activation.
    scan_backend : str, default="auto"
        Selective-scan backend of both Mambas.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.smamba import SMambaEncoderLayer
    >>> SMambaEncoderLayer(8, 2, 16)(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model, d_state, d_ff, dropout=0.1, activation="gelu",
                 scan_backend="auto"):
        super().__init__()
        self.mamba_forward = Mamba(d_model, d_state=d_state, d_conv=2, expand=1,
                                   scan_backend=scan_backend)
        self.mamba_backward = Mamba(d_model, d_state=d_state, d_conv=2, expand=1,
                                    scan_backend=scan_backend)
        self.norm1 = nn.LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff, dropout=dropout, activation=activation)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x):
        """Map tokens (B, T, d_model) to (B, T, d_model)."""
        mixed = self.mamba_forward(x) + self.mamba_backward(x.flip(1)).flip(1)
        x = self.norm1(x + mixed)
        return self.norm2(x + self.ffn(x))


class SMambaNet(nn.Module):
    """S-Mamba: every variate (and calendar feature) is one token; Mamba mixes the tokens.

    1. Each window is normalised per channel over time (non-affine RevIN).
    2. The lookback of every channel, every exogenous variable and every calendar feature is
       embedded by one ``Linear(seq_len -> d_model)``: ``n_channels + n_exog + n_mark``
       tokens.
    3. ``e_layers`` :class:`SMambaEncoderLayer` blocks, then a final LayerNorm.
    4. ``Linear(d_model -> pred_len)`` per token; the first ``n_channels`` tokens are the
       forecast, which is denormalised.

    Parameters
    ----------
    seq_len, pred_len : int
        Lookback and horizon.
    n_channels : int
        Target variables.
    n_mark : int, default=0
        Calendar features passed as ``x_mark``.
    n_exog : int, default=0
        Exogenous variables passed as ``exog``; embedded as extra tokens (an extension: the
        paper has none).
    d_model : int, default=256
    d_state : int, default=2
    d_ff : int, default=256
    e_layers : int, default=2
    dropout : float, default=0.1
    activation : {"gelu", "relu", "silu"}, default="gelu"
    scan_backend : str, default="auto"

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks import SMambaNet
    >>> net = SMambaNet(seq_len=16, pred_len=4, n_channels=3, n_mark=4, d_model=8, d_ff=8)
    >>> y_hat, aux = net(torch.randn(2, 16, 3), x_mark=torch.rand(2, 16, 4) - 0.5)
    >>> y_hat.shape, aux
    (torch.Size([2, 4, 3]), None)
    """

    def __init__(
        self,
        seq_len,
        pred_len,
        n_channels,
        n_mark=0,
        n_exog=0,
        d_model=256,
        d_state=2,
        d_ff=256,
        e_layers=2,
        dropout=0.1,
        activation="gelu",
        scan_backend="auto",
    ):
        super().__init__()
        self.seq_len, self.pred_len = seq_len, pred_len
        self.n_channels, self.n_mark, self.n_exog = n_channels, n_mark, n_exog
        self.norm = RevIN(n_channels)
        self.embedding = InvertedEmbedding(seq_len, d_model, dropout=dropout)
        self.layers = nn.ModuleList(
            SMambaEncoderLayer(d_model, d_state, d_ff, dropout, activation, scan_backend)
            for _ in range(e_layers)
        )
        self.final_norm = nn.LayerNorm(d_model)
        self.projector = nn.Linear(d_model, pred_len)

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) from x (B, seq_len, n_channels)."""
        x = self.norm(x, "norm")
        # Exogenous variables and calendar features ride along as extra variate tokens.
        extra = [t for t in (exog, x_mark) if t is not None and t.shape[-1] > 0]
        tokens = self.embedding(x, torch.cat(extra, dim=-1) if extra else None)
        for layer in self.layers:
            tokens = layer(tokens)
        out = self.projector(self.final_norm(tokens))
        out = out.transpose(1, 2)[:, :, : self.n_channels]
        return self.norm(out, "denorm"), None
