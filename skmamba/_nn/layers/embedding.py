"""Token embeddings: whole variates as tokens, exogenous variables over the lookback and the
horizon as tokens, patches as tokens, sinusoidal positions."""

import math

import torch
import torch.nn as nn

__all__ = [
    "PositionalEncoding",
    "InvertedEmbedding",
    "ExogenousEmbedding",
    "append_exog_tokens",
    "PatchEmbedding",
]


class PositionalEncoding(nn.Module):
    """Fixed sinusoidal position table (Vaswani et al., 2017).

    Parameters
    ----------
    d_model : int
        Embedding width.
    max_len : int, default=5000
        Longest sequence supported.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.embedding import PositionalEncoding
    >>> PositionalEncoding(8)(torch.zeros(2, 5, 8)).shape
    torch.Size([1, 5, 8])
    """

    def __init__(self, d_model, max_len=5000):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        div_term = torch.exp(
            torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
        )
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x):
        """Return the (1, T, d_model) table for the T positions of x (batch, T, ...)."""
        return self.pe[:, : x.shape[1]]


class InvertedEmbedding(nn.Module):
    """Embed each whole variate (its lookback) as one token, as iTransformer does.

    The lookback of every channel, and of every calendar feature when ``x_mark`` is given, is
    mapped by one ``Linear(seq_len -> d_model)``: (B, L, C) and (B, L, M) become
    (B, C + M, d_model).

    Parameters
    ----------
    seq_len : int
        Lookback length L.
    d_model : int
        Token width.
    dropout : float, default=0.1
        Dropout after the projection.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.embedding import InvertedEmbedding
    >>> emb = InvertedEmbedding(seq_len=24, d_model=16)
    >>> emb(torch.randn(2, 24, 3), torch.randn(2, 24, 4)).shape
    torch.Size([2, 7, 16])
    """

    def __init__(self, seq_len, d_model, dropout=0.1):
        super().__init__()
        self.value_embedding = nn.Linear(seq_len, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, x_mark=None):
        """Map x (B, L, C) and optional x_mark (B, L, M) to tokens (B, C [+ M], d_model)."""
        x = x.permute(0, 2, 1)
        if x_mark is not None:
            x = torch.cat([x, x_mark.permute(0, 2, 1)], dim=1)
        return self.dropout(self.value_embedding(x))


class ExogenousEmbedding(nn.Module):
    """Embed each exogenous variable over the lookback and the horizon as one token.

    A known future covariate is only useful to a forecast if the network sees its values over
    the forecast rows, so each of the ``n_exog`` variables is read over all
    ``seq_len + pred_len`` rows (lookback first, then its known values over the horizon) and
    mapped by its own ``Linear(seq_len + pred_len -> d_model)``: (B, L + H, E) becomes
    (B, E, d_model). The weights are per variable, unlike :class:`InvertedEmbedding`'s, so
    the token of a covariate also says which covariate it is. Every projection is initialised
    like ``nn.Linear`` (uniform within ``1 / sqrt(seq_len + pred_len)``).

    Parameters
    ----------
    seq_len : int
        Lookback length L.
    pred_len : int
        Horizon H (the known future rows).
    n_exog : int
        Exogenous variables E (at least 1).
    d_model : int
        Token width.
    dropout : float, default=0.1
        Dropout after the projection.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.embedding import ExogenousEmbedding
    >>> emb = ExogenousEmbedding(seq_len=24, pred_len=6, n_exog=2, d_model=16)
    >>> emb(torch.randn(3, 24 + 6, 2)).shape
    torch.Size([3, 2, 16])
    """

    def __init__(self, seq_len, pred_len, n_exog, d_model, dropout=0.1):
        super().__init__()
        if n_exog < 1:
            raise ValueError(f"ExogenousEmbedding needs n_exog >= 1, got {n_exog}")
        self.seq_len, self.pred_len, self.n_exog = seq_len, pred_len, n_exog
        length = seq_len + pred_len
        bound = 1.0 / math.sqrt(length)
        self.weight = nn.Parameter(torch.empty(n_exog, length, d_model).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_exog, d_model).uniform_(-bound, bound))
        self.dropout = nn.Dropout(dropout)

    def forward(self, exog):
        """Map exog (B, seq_len + pred_len, n_exog) to tokens (B, n_exog, d_model)."""
        expected = (self.seq_len + self.pred_len, self.n_exog)
        if exog is None or exog.dim() != 3 or tuple(exog.shape[1:]) != expected:
            got = None if exog is None else tuple(exog.shape)
            raise ValueError(
                f"exog must have shape (batch, seq_len + pred_len = {self.seq_len} + "
                f"{self.pred_len}, n_exog = {self.n_exog}): the lookback rows then the known "
                f"future rows of every exogenous variable; got {got}"
            )
        tokens = torch.einsum("bte,etd->bed", exog, self.weight) + self.bias
        return self.dropout(tokens)


def append_exog_tokens(tokens, embedding, exog):
    """Append the exogenous tokens of ``exog`` to ``tokens``.

    Parameters
    ----------
    tokens : torch.Tensor or None
        (B, T, d_model) tokens built so far, or None for none.
    embedding : ExogenousEmbedding or None
        The network's exogenous embedding; None when the network was built with
        ``n_exog=0``, which then rejects an ``exog`` with columns rather than ignore it.
    exog : torch.Tensor or None
        (B, seq_len + pred_len, n_exog) exogenous variables.

    Returns
    -------
    torch.Tensor or None
        (B, T + n_exog, d_model), or ``tokens`` unchanged without an embedding.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.embedding import ExogenousEmbedding, append_exog_tokens
    >>> emb = ExogenousEmbedding(seq_len=8, pred_len=2, n_exog=3, d_model=4)
    >>> append_exog_tokens(torch.zeros(5, 1, 4), emb, torch.randn(5, 10, 3)).shape
    torch.Size([5, 4, 4])
    >>> append_exog_tokens(torch.zeros(5, 1, 4), None, None).shape
    torch.Size([5, 1, 4])
    """
    if embedding is None:
        if exog is not None and exog.shape[-1] > 0:
            raise ValueError(
                f"the network was built with n_exog=0 but exog has {exog.shape[-1]} columns"
            )
        return tokens
    extra = embedding(exog)
    return extra if tokens is None else torch.cat([tokens, extra], dim=1)


class PatchEmbedding(nn.Module):
    """Cut each channel into patches and embed every patch as a token with its position.

    Patches of ``patch_len`` steps are taken every ``stride`` steps (channel independent:
    the channels of a batch become separate sequences). With ``pad_end=True`` the series is
    first extended by ``stride`` copies of its last value (MixMamba/PatchTST), giving
    ``(L - patch_len) // stride + 2`` patches; without it, ``(L - patch_len) // stride + 1``.

    Parameters
    ----------
    d_model : int
        Token width.
    patch_len : int
        Steps per patch.
    stride : int
        Steps between patch starts (``stride == patch_len`` gives non-overlapping patches).
    pad_end : bool, default=True
        Replicate-pad the end of the series by ``stride`` before cutting.
    dropout : float, default=0.1
        Dropout after adding positions.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.embedding import PatchEmbedding
    >>> emb = PatchEmbedding(d_model=16, patch_len=16, stride=8)
    >>> tokens = emb(torch.randn(2, 3, 96))
    >>> tokens.shape, emb.num_patches(96)
    (torch.Size([6, 12, 16]), 12)
    """

    def __init__(self, d_model, patch_len, stride, pad_end=True, dropout=0.1):
        super().__init__()
        self.patch_len = patch_len
        self.stride = stride
        self.pad_end = pad_end
        self.value_embedding = nn.Linear(patch_len, d_model, bias=False)
        self.position = PositionalEncoding(d_model)
        self.dropout = nn.Dropout(dropout)

    def num_patches(self, seq_len):
        """Number of patches cut from a lookback of ``seq_len`` steps."""
        if seq_len < self.patch_len:
            raise ValueError(
                f"PatchEmbedding: the lookback ({seq_len}) is shorter than patch_len "
                f"({self.patch_len}); use a longer seq_len or a shorter patch_len"
            )
        return (seq_len - self.patch_len) // self.stride + 1 + int(self.pad_end)

    def forward(self, x):
        """Map x (B, C, L) to tokens (B * C, num_patches, d_model)."""
        if self.pad_end:
            x = torch.cat([x, x[..., -1:].expand(*x.shape[:-1], self.stride)], dim=-1)
        patches = x.unfold(-1, self.patch_len, self.stride)
        patches = patches.reshape(-1, patches.shape[-2], self.patch_len)
        tokens = self.value_embedding(patches)
        return self.dropout(tokens + self.position(tokens))
