"""Kernelised ("fast") attention whose cost is linear in the number of tokens."""

import torch
import torch.nn as nn

__all__ = ["FastAttention", "gaussian_kernel"]


def gaussian_kernel(x):
    """Elementwise Gaussian feature map ``exp(-x**2 / 2)``, in (0, 1].

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.fast_attention import gaussian_kernel
    >>> gaussian_kernel(torch.tensor([0.0, 2.0]))
    tensor([1.0000, 0.1353])
    """
    return torch.exp(-0.5 * x * x)


class FastAttention(nn.Module):
    r"""Kernelised self-attention over tokens, linear in the number of tokens (FMamba).

    Queries and keys pass an elementwise positive feature map :math:`\phi` (FMamba's
    Gaussian kernel :math:`\phi(x) = e^{-x^2/2}` by default), and the product is
    re-associated so that no token-by-token matrix is formed:

    .. math::

        \mathrm{out}_i = \frac{\phi(q_i)^\top \left(\sum_j \phi(k_j) v_j^\top\right)}
                              {\phi(q_i)^\top \sum_j \phi(k_j)}

    ``K'^T V`` (``d_head x d_head`` per head) is computed first, so time and memory grow as
    ``T * d_head**2`` rather than ``T**2 * d_head``. The denominator (the kernel analogue of
    the softmax normaliser, after Katharopoulos et al., 2020) keeps the output a convex
    combination of the values; FMamba's paper divides by the key dimension instead, which
    leaves the scale of the output to the data. Because :math:`\phi > 0` the denominator is
    positive; it is floored at ``eps`` only for the case where every feature underflows.

    Parameters
    ----------
    d_model : int
        Token width; must be divisible by ``n_heads``.
    n_heads : int, default=1
        Heads, each with its own ``d_model // n_heads`` features.
    kernel : callable, default=gaussian_kernel
        Elementwise positive feature map applied to queries and keys.
    eps : float, default=1e-6
        Floor of the normaliser.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers import FastAttention
    >>> attn = FastAttention(d_model=16, n_heads=2)
    >>> attn(torch.randn(2, 11, 16)).shape
    torch.Size([2, 11, 16])
    """

    def __init__(self, d_model, n_heads=1, kernel=gaussian_kernel, eps=1e-6):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(
                f"FastAttention: d_model ({d_model}) must be divisible by n_heads ({n_heads})"
            )
        self.n_heads = n_heads
        self.kernel = kernel
        self.eps = eps
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def _heads(self, t):
        B, T, D = t.shape
        return t.view(B, T, self.n_heads, D // self.n_heads).transpose(1, 2)

    def forward(self, x):
        """Map tokens (B, T, d_model) to (B, T, d_model)."""
        B, T, D = x.shape
        q = self.kernel(self._heads(self.query(x)))
        k = self.kernel(self._heads(self.key(x)))
        v = self._heads(self.value(x))
        kv = torch.einsum("bhtd,bhte->bhde", k, v)
        num = torch.einsum("bhtd,bhde->bhte", q, kv)
        den = torch.einsum("bhtd,bhd->bht", q, k.sum(dim=2)).unsqueeze(-1)
        out = num / den.clamp_min(self.eps)
        return self.out_proj(out.transpose(1, 2).reshape(B, T, D))
