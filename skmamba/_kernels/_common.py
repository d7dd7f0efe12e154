"""Helpers shared by the scan backends: compute dtype, the B/C layout and the elementwise parts.

Every backend brings ``B`` and ``C`` into its internal layout through :func:`bc_layout`, the
only place that knows the three public forms (fixed, variable, grouped).
"""

import math

import torch
import torch.nn.functional as F

__all__ = ["compute_dtype", "bc_layout", "n_groups", "prepare", "finish"]


def compute_dtype(dtype):
    """Accumulation dtype: float64 stays float64 (for gradcheck), all else runs in float32.

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels._common import compute_dtype
    >>> compute_dtype(torch.bfloat16), compute_dtype(torch.float64)
    (torch.float32, torch.float64)
    """
    return torch.float64 if dtype == torch.float64 else torch.float32


def bc_layout(M, dim, groups=None, dtype=None):
    """Bring B or C from its public form into the internal grouped layout.

    Fixed ``(dim, N)`` matrices are returned unchanged. Variable ``(batch, N, L)`` and
    grouped ``(batch, G, N, L)`` ones become ``(batch, groups, N, L)``, where channel ``d``
    reads group ``d // (dim // groups)``: a variable matrix is one group, and a grouped one
    with G groups is repeated ``groups // G`` times along the group axis (``groups`` must
    be a multiple of G, which it is for the least common multiple of :func:`n_groups` and
    for ``groups=dim``, the per-channel layout of the reference).

    Parameters
    ----------
    M : torch.Tensor
        B or C in one of the public forms.
    dim : int
        Number of channels.
    groups : int, optional
        Groups of the result; ``None`` keeps the matrix's own G (1 for a variable one).
    dtype : torch.dtype, optional
        Cast to this dtype first.

    Returns
    -------
    torch.Tensor
        ``M`` as (dim, N) when fixed, else (batch, groups, N, L). The result is variable
        exactly when it has four dimensions.

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels._common import bc_layout
    >>> bc_layout(torch.randn(2, 3, 7), dim=4).shape
    torch.Size([2, 1, 3, 7])
    >>> bc_layout(torch.randn(2, 2, 3, 7), dim=4, groups=4).shape
    torch.Size([2, 4, 3, 7])
    >>> bc_layout(torch.randn(4, 3), dim=4).shape
    torch.Size([4, 3])
    """
    if dtype is not None:
        M = M.to(dtype)
    if M.dim() == 2:
        return M
    if M.dim() == 3:
        M = M.unsqueeze(1)
    if groups is None:
        return M
    # channel d reads group d // (dim / g); with groups = g * r that is (d // H) // r
    return M.repeat_interleave(groups // M.shape[1], dim=1)


def n_groups(B, C):
    """Fewest groups that represent both B and C: the lcm of their G (1 if neither is grouped).

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels._common import n_groups
    >>> n_groups(torch.randn(1, 2, 3, 5), torch.randn(1, 3, 3, 5))
    6
    """
    groups = 1
    for M in (B, C):
        if M.dim() == 4:
            groups = math.lcm(groups, M.shape[1])
    return groups


def prepare(u, delta, A, delta_bias, delta_softplus, initial_state):
    """Cast to the compute dtype and apply bias and softplus to ``delta``.

    Returns ``(u, delta, A, h0)`` in the compute dtype; ``h0`` is zeros when
    ``initial_state`` is None.

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels._common import prepare
    >>> u = torch.randn(1, 2, 3, dtype=torch.bfloat16)
    >>> [t.dtype for t in prepare(u, u, -torch.ones(2, 4), None, True, None)][-1]
    torch.float32
    """
    ct = compute_dtype(u.dtype)
    batch, dim, _ = u.shape
    delta = delta.to(ct)
    if delta_bias is not None:
        delta = delta + delta_bias.to(ct)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    if initial_state is None:
        h0 = u.new_zeros(batch, dim, A.shape[1], dtype=ct)
    else:
        h0 = initial_state.to(ct)
    return u.to(ct), delta, A.to(ct), h0


def finish(y, u, D, z, dtype_in, h, return_last_state):
    """Add the ``D`` skip, apply the ``silu(z)`` gate, cast to ``dtype_in``.

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels._common import finish
    >>> y = finish(torch.zeros(1, 2, 3), torch.ones(1, 2, 3), torch.ones(2), None,
    ...            torch.float16, None, False)
    >>> y.dtype, y.sum().item()
    (torch.float16, 6.0)
    """
    if D is not None:
        y = y + u * D.to(y.dtype)[:, None]
    if z is not None:
        y = y * F.silu(z.to(y.dtype))
    out = y.to(dtype_in)
    return (out, h) if return_last_state else out
