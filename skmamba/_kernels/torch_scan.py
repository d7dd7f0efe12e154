"""Pure-torch chunked selective scan: the ``"torch"`` backend, on any device.

The core recurrence ``h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t``, ``y_t = C_t . h_t``
runs in a custom autograd function. Its forward walks L chunk by chunk without building a
graph and stores the state entering every chunk; its backward walks the chunks in reverse,
rebuilds one chunk's graph from its stored state and back-propagates through it, carrying the
state gradient to the previous chunk. Peak memory is therefore one chunk's
(batch, dim, chunk, N) graph instead of the reference's full (batch, dim, L, N) tensors, and
nothing ever divides by a decay or exponentiates a positive cumulative sum, so large decays
cannot overflow.

The elementwise parts (bias, softplus, the ``D`` skip and the ``silu(z)`` gate) stay outside
the function in ordinary autograd: they are cheap and their gradients come for free. The
``"numba"`` backend (:mod:`skmamba._kernels.numba_scan`) runs the same design in compiled
kernels and is several times faster on the CPU; this one is its fallback when numba cannot be
used, and the choice of ``"auto"`` on devices other than the CPU without Triton.
"""

import torch

from ._common import bc_layout, finish, n_groups, prepare

__all__ = ["selective_scan_torch", "CHUNK"]

# Steps per chunk: small enough that a chunk's graph stays in cache, large enough that the
# Python loop over chunks is negligible.
CHUNK = 64


def _scan_chunk(u, delta, A, B, C, h):
    """Sequential recurrence over one chunk; differentiable.

    Grouped layout: ``u``, ``delta`` (b, G, H, T); ``A`` (G, H, N); ``h`` (b, G, H, N); ``B``
    and ``C`` either fixed (G, H, N) or variable (b, G, N, T).
    """
    delta_a = torch.exp(delta.unsqueeze(-1) * A.unsqueeze(-2))  # (b, G, H, T, N)
    du = (delta * u).unsqueeze(-1)
    delta_bu = du * (B.unsqueeze(-2) if B.dim() == 3 else B.transpose(-1, -2).unsqueeze(2))
    c_var = C.dim() == 4
    c_steps = [c.unsqueeze(2) for c in C.unbind(-1)] if c_var else None
    ys = []
    for t, (a_t, bu_t) in enumerate(zip(delta_a.unbind(3), delta_bu.unbind(3))):
        h = a_t * h + bu_t
        ys.append((h * (c_steps[t] if c_var else C)).sum(-1))
    return torch.stack(ys, dim=-1), h


def _chunk_bc(M, sl):
    return M if M.dim() == 3 else M[..., sl]


class _ChunkedScan(torch.autograd.Function):
    """Core scan with recompute-in-backward, in the grouped layout of :func:`_scan_chunk`."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0, chunk):
        L = u.shape[-1]
        states = []
        ys = []
        h = h0
        with torch.no_grad():
            for s in range(0, L, chunk):
                sl = slice(s, min(s + chunk, L))
                states.append(h)
                y, h = _scan_chunk(u[..., sl], delta[..., sl], A, _chunk_bc(B, sl),
                                   _chunk_bc(C, sl), h)
                ys.append(y)
        ctx.chunk = chunk
        ctx.save_for_backward(u, delta, A, B, C, *states)
        return torch.cat(ys, dim=-1), h

    @staticmethod
    def backward(ctx, grad_y, grad_h):
        u, delta, A, B, C, *states = ctx.saved_tensors
        chunk = ctx.chunk
        L = u.shape[-1]
        grad_u, grad_delta = torch.zeros_like(u), torch.zeros_like(delta)
        grad_A = torch.zeros_like(A)
        grad_bc = [torch.zeros_like(M) for M in (B, C)]
        carry = grad_h if grad_h is not None else torch.zeros_like(states[0])
        if grad_y is None:
            grad_y = torch.zeros_like(u)
        for index in range(len(states) - 1, -1, -1):
            sl = slice(index * chunk, min((index + 1) * chunk, L))
            with torch.enable_grad():
                u_l, delta_l = (t[..., sl].detach().requires_grad_() for t in (u, delta))
                a_l = A.detach().requires_grad_()
                b_l, c_l = (_chunk_bc(M, sl).detach().requires_grad_() for M in (B, C))
                h_l = states[index].detach().requires_grad_()
                y, h_out = _scan_chunk(u_l, delta_l, a_l, b_l, c_l, h_l)
                g_u, g_delta, g_a, g_b, g_c, carry = torch.autograd.grad(
                    (y, h_out), (u_l, delta_l, a_l, b_l, c_l, h_l), (grad_y[..., sl], carry)
                )
            grad_u[..., sl] = g_u
            grad_delta[..., sl] = g_delta
            grad_A += g_a
            for acc, M, g in zip(grad_bc, (B, C), (g_b, g_c)):
                if M.dim() == 3:
                    acc += g
                else:
                    acc[..., sl] = g
        return grad_u, grad_delta, grad_A, grad_bc[0], grad_bc[1], carry, None


def selective_scan_torch(
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
    chunk=None,
):
    """Selective scan on torch operations that stores only chunk-boundary states.

    The ``"torch"`` backend of :func:`skmamba._kernels.selective_scan`, with the same
    arguments and results; inputs are assumed validated. Runs on any device. Deterministic:
    every gradient is a fixed-order sum, so repeated runs are bit-identical.

    Parameters
    ----------
    u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state, initial_state
        As in :func:`skmamba._kernels.selective_scan`.
    chunk : int, optional
        Steps per chunk, :data:`CHUNK` by default.

    Returns
    -------
    out : torch.Tensor
        (batch, dim, L) in the dtype of ``u``.
    last_state : torch.Tensor
        Only with ``return_last_state=True``: (batch, dim, N).

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels.torch_scan import selective_scan_torch
    >>> u, delta = torch.randn(2, 4, 10), torch.rand(2, 4, 10)
    >>> A, B, C = -torch.rand(4, 8), torch.randn(2, 8, 10), torch.randn(2, 8, 10)
    >>> selective_scan_torch(u, delta, A, B, C, chunk=4).shape
    torch.Size([2, 4, 10])
    """
    dtype_in = u.dtype
    u_c, delta_c, A_c, h0 = prepare(u, delta, A, delta_bias, delta_softplus, initial_state)
    batch, dim, L = u.shape
    N = A.shape[1]
    G = n_groups(B, C)
    H = dim // G
    ct = u_c.dtype
    # Grouped layout of _scan_chunk: fixed B/C as (G, H, N), variable as (b, G, N, L).
    B_k, C_k = (M.reshape(G, H, N) if M.dim() == 2 else M
                for M in (bc_layout(B, dim, G, ct), bc_layout(C, dim, G, ct)))
    y, h = _ChunkedScan.apply(
        u_c.reshape(batch, G, H, L),
        delta_c.reshape(batch, G, H, L),
        A_c.reshape(G, H, N),
        B_k,
        C_k,
        h0.reshape(batch, G, H, N),
        int(chunk) if chunk is not None else CHUNK,
    )
    return finish(y.reshape(batch, dim, L), u_c, D, z, dtype_in, h.reshape(batch, dim, N),
                  return_last_state)
