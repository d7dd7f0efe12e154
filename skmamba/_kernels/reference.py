"""Plain sequential selective scan: the oracle every fast backend is tested against.

It materialises the discretised ``exp(delta * A)`` and ``delta * B * u`` tensors of shape
(batch, dim, L, N) and walks L one step at a time, so it is slow and memory hungry by design:
its only job is to be obviously correct.
"""

import torch
import torch.nn.functional as F

from ._common import bc_layout, compute_dtype

__all__ = ["selective_scan_ref"]


def selective_scan_ref(
    u,
    delta,
    A,
    B,
    C,
    D=None,
    z=None,
    delta_bias=None,
    delta_softplus=False,
    return_last_state=False,
    initial_state=None,
):
    """Sequential selective scan with ``selective_scan_fn`` semantics: the test oracle.

    The same computation as ``selective_scan(..., backend="reference")``, without the
    argument checks (inputs are assumed valid). The state is accumulated in float32
    (float64 for float64 input).

    Parameters
    ----------
    u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state, initial_state
        As in :func:`skmamba._kernels.selective_scan`.

    Returns
    -------
    out : torch.Tensor
        (batch, dim, L) in the dtype of ``u``.
    last_state : torch.Tensor
        Only with ``return_last_state=True``: (batch, dim, N).

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels import selective_scan_ref
    >>> u, delta = torch.randn(2, 4, 10), torch.rand(2, 4, 10)
    >>> A, B, C = -torch.rand(4, 8), torch.randn(2, 8, 10), torch.randn(2, 8, 10)
    >>> out, last = selective_scan_ref(u, delta, A, B, C, return_last_state=True)
    >>> out.shape, last.shape
    (torch.Size([2, 4, 10]), torch.Size([2, 4, 8]))
    """
    dtype_in = u.dtype
    ct = compute_dtype(dtype_in)
    u = u.to(ct)
    delta = delta.to(ct)
    if delta_bias is not None:
        delta = delta + delta_bias.to(ct)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, L = u.shape
    A = A.to(ct)
    # Per-channel layout: fixed (dim, N), or (batch, dim, N, L) when variable or grouped.
    B = bc_layout(B, dim, groups=dim, dtype=ct)
    C = bc_layout(C, dim, groups=dim, dtype=ct)
    b_var, c_var = B.dim() == 4, C.dim() == 4

    delta_a = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    if b_var:
        delta_bu = torch.einsum("bdl,bdnl,bdl->bdln", delta, B, u)
    else:
        delta_bu = torch.einsum("bdl,dn,bdl->bdln", delta, B, u)

    if initial_state is None:
        h = u.new_zeros(batch, dim, A.shape[1])
    else:
        h = initial_state.to(ct)
    # unbind instead of indexing: indexing in a loop makes autograd build a full-size zero
    # tensor per step in backward (quadratic traffic in L).
    c_steps = C.unbind(-1) if c_var else None
    ys = []
    for t, (a_t, bu_t) in enumerate(zip(delta_a.unbind(2), delta_bu.unbind(2))):
        h = a_t * h + bu_t
        if c_var:
            ys.append((h * c_steps[t]).sum(-1))
        else:
            ys.append((h * C).sum(-1))
    y = torch.stack(ys, dim=2)
    if D is not None:
        y = y + u * D.to(ct)[:, None]
    if z is not None:
        y = y * F.silu(z.to(ct))
    out = y.to(dtype_in)
    return (out, h) if return_last_state else out
