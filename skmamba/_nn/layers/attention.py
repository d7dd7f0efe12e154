"""Multi-head scaled dot-product self-attention over a token axis."""

import torch.nn as nn
import torch.nn.functional as F

__all__ = ["MultiHeadSelfAttention"]


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention (Vaswani et al., 2017) without masking.

    Every token attends to every token: ``softmax(Q K^T / sqrt(d_head)) V`` per head, heads
    concatenated and mixed by an output projection. The cost is quadratic in the number of
    tokens, which is why skmamba uses it over short token axes only (variates, patches).

    Parameters
    ----------
    d_model : int
        Token width; must be divisible by ``n_heads``.
    n_heads : int, default=4
        Attention heads.
    dropout : float, default=0.0
        Dropout on the attention weights (training only).

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers import MultiHeadSelfAttention
    >>> attn = MultiHeadSelfAttention(d_model=16, n_heads=4)
    >>> attn(torch.randn(2, 7, 16)).shape
    torch.Size([2, 7, 16])
    """

    def __init__(self, d_model, n_heads=4, dropout=0.0):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(
                f"MultiHeadSelfAttention: d_model ({d_model}) must be divisible by "
                f"n_heads ({n_heads})"
            )
        self.n_heads = n_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        """Map tokens (B, T, d_model) to (B, T, d_model)."""
        B, T, D = x.shape
        q, k, v = (
            self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        )
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out_proj(out.transpose(1, 2).reshape(B, T, D))
