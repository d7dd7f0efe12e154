"""Plain sequential selective scan: the oracle every fast backend is tested against.

It materialises the discretised ``exp(delta * A)`` and ``delta * B * u`` tensors of shape
(batch, dim, L, N) and walks L one step at a time, so it is slow and memory hungry by design:
its only job is to be obviously correct.
"""

import torch
import torch.nn.functional as F

__all__ = ["selective_scan_ref", "expand_bc", "compute_dtype"]


def compute_dtype(dtype):
    """Accumulation dtype: float64 stays float64 (for gradcheck), all else runs in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def expand_bc(M, dim):
    """Bring B or C to a broadcastable form.

    Returns ``(M, variable)``: for a fixed (dim, N) matrix ``M`` unchanged; for variable
    (batch, N, L) or grouped (batch, G, N, L) input a (batch, dim, N, L) view in which channel
    ``d`` reads group ``d // (dim // G)``.
    """
    if M.dim() == 2:
        return M, False
    if M.dim() == 3:
        M = M.unsqueeze(1)
    groups = M.shape[1]
    return M.repeat_interleave(dim // groups, dim=1), True


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
    """Sequential selective scan with ``selective_scan_fn`` semantics.

    See :func:`skmamba._kernels.selective_scan` for the arguments. Inputs are assumed
    validated. The state is accumulated in float32 (float64 for float64 input).
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
    B, b_var = expand_bc(B.to(ct), dim)
    C, c_var = expand_bc(C.to(ct), dim)

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
