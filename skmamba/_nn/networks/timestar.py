"""TimeStarMamba network: TimeXer-style patch and global tokens, Mamba mixing, STAR pooling."""

import torch
import torch.nn as nn

from ..layers import FeedForward, FlattenHead, InvertedEmbedding, Mamba, PatchEmbedding, RevIN, STAR

__all__ = ["TimeStarMambaNet", "TimeStarMambaLayer"]


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
    d_conv, expand : int, default=4, 2
        Mamba settings.
    dropout : float, default=0.1
    activation : {"gelu", "relu", "silu"}, default="gelu"
        FFN activation.
    scan_backend : str, default="auto"

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.timestar import TimeStarMambaLayer
    >>> layer = TimeStarMambaLayer(d_model=8, d_state=4, d_ff=16, d_core=4)
    >>> x, context = torch.randn(2 * 3, 5, 8), torch.randn(2, 7, 8)
    >>> layer(x, context).shape
    torch.Size([6, 5, 8])
    """

    def __init__(self, d_model, d_state, d_ff, d_core, d_conv=4, expand=2, dropout=0.1,
                 activation="gelu", scan_backend="auto"):
        super().__init__()
        self.mamba = Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand,
                           scan_backend=scan_backend)
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
       ``patch_len`` (``patch_num = seq_len // patch_len``; leftover leading steps are not
       used), embedded by ``Linear(patch_len -> d_model)`` plus sinusoidal positions, and a
       learnable global token of that target is appended; dropout.
    3. Context tokens for STAR: the inverted embedding (``Linear(seq_len -> d_model)``) of
       every exogenous variable and calendar feature over the lookback; without exogenous
       variables the targets themselves take their place, as in the official multivariate
       path.
    4. ``e_layers`` :class:`TimeStarMambaLayer` blocks, a final LayerNorm, and a flatten head
       ``Linear((patch_num + 1) * d_model -> pred_len)`` with dropout; denormalisation.

    Choices relative to the official code:

    - ``d_state=16`` (Mamba's usual state size). The official model builds TSLib's
      ``MambaSimple`` block, whose state size is ``d_ff`` (128 in the ETTh1 script); set
      ``d_state=128`` to mirror it at about eight times the scan cost. The Mamba block here
      also uses mamba-ssm's step-size initialisation (MambaSimple keeps PyTorch's default);
    - none of the official code's guards: no clamping of Mamba outputs or STAR scores, no
      NaN fallback in the sampling. Stability at lr=1e-2 comes from the Mamba block's
      construction (A < 0, softplus steps, fp32 scan), the LayerNorms, STAR's
      log-softmax-based sampling and the trainer's gradient clipping;
    - with exogenous variables ``exog``, STAR pools the targets' global tokens with the
      exogenous (and calendar) tokens; the official ``MS`` path calls a method that does not
      exist;
    - if ``seq_len`` is not a multiple of ``patch_len``, the most recent
      ``patch_num * patch_len`` steps are patched (the official unfold drops the newest).

    Parameters
    ----------
    seq_len, pred_len : int
        Lookback and horizon.
    n_channels : int
        Target variables.
    n_mark : int, default=0
        Calendar features passed as ``x_mark`` (context tokens).
    n_exog : int, default=0
        Exogenous variables passed as ``exog`` (context tokens).
    d_model : int, default=128
    d_ff : int, default=128
    d_core : int, default=64
        STAR core width.
    d_state : int, default=16
    d_conv, expand : int, default=4, 2
    e_layers : int, default=2
    patch_len : int, default=16
    dropout : float, default=0.1
    activation : {"gelu", "relu", "silu"}, default="gelu"
    scan_backend : str, default="auto"

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.timestar import TimeStarMambaNet
    >>> net = TimeStarMambaNet(seq_len=32, pred_len=8, n_channels=2, n_exog=3, d_model=16,
    ...                        d_ff=16, d_core=8).eval()
    >>> y_hat, aux = net(torch.randn(4, 32, 2), exog=torch.randn(4, 32, 3))
    >>> y_hat.shape, aux
    (torch.Size([4, 8, 2]), None)
    """

    def __init__(
        self,
        seq_len,
        pred_len,
        n_channels,
        n_mark=0,
        n_exog=0,
        d_model=128,
        d_ff=128,
        d_core=64,
        d_state=16,
        d_conv=4,
        expand=2,
        e_layers=2,
        patch_len=16,
        dropout=0.1,
        activation="gelu",
        scan_backend="auto",
    ):
        super().__init__()
        self.n_channels = n_channels
        self.norm = RevIN(n_channels)
        self.patch_embedding = PatchEmbedding(d_model, patch_len, patch_len, pad_end=False,
                                              dropout=0.0)
        self.patch_num = self.patch_embedding.num_patches(seq_len)
        self.patched_len = self.patch_num * patch_len
        self.global_token = nn.Parameter(torch.randn(1, n_channels, 1, d_model))
        self.dropout = nn.Dropout(dropout)
        self.context_embedding = InvertedEmbedding(seq_len, d_model, dropout=dropout)
        self.layers = nn.ModuleList(
            TimeStarMambaLayer(d_model, d_state, d_ff, d_core, d_conv, expand, dropout,
                               activation, scan_backend)
            for _ in range(e_layers)
        )
        self.final_norm = nn.LayerNorm(d_model)
        self.head = FlattenHead((self.patch_num + 1) * d_model, pred_len, dropout=dropout)

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) from x (B, seq_len, n_channels)."""
        B = x.shape[0]
        x = self.norm(x, "norm")
        patches = self.patch_embedding(x[:, -self.patched_len:].transpose(1, 2))
        patches = patches.reshape(B, self.n_channels, self.patch_num, -1)
        tokens = torch.cat([patches, self.global_token.expand(B, -1, -1, -1)], dim=2)
        tokens = self.dropout(tokens.flatten(0, 1))

        has_exog = exog is not None and exog.shape[-1] > 0
        has_mark = x_mark is not None and x_mark.shape[-1] > 0
        context = self.context_embedding(exog if has_exog else x, x_mark if has_mark else None)

        for layer in self.layers:
            tokens = layer(tokens, context)
        out = self.head(self.final_norm(tokens).reshape(B, self.n_channels, self.patch_num + 1, -1))
        return self.norm(out.transpose(1, 2), "denorm"), None
