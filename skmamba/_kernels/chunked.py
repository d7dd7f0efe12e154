"""Chunked selective scan for CPU: only chunk-boundary states are kept, chunks recompute in backward.

Two implementations of the core share this design. When numba is available (it is a
dependency) the fused kernels of :mod:`skmamba._kernels._cpu_fused` run it, several times
faster than anything built from torch operations. The pure-torch implementation below is the
fallback when numba cannot be imported or compiled, and runs for tensors off the CPU.

In the torch implementation the core recurrence
``h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t``, ``y_t = C_t . h_t`` runs in a custom
autograd function. Its forward walks L chunk by chunk without building a graph and stores the
state entering every chunk; its backward walks the chunks in reverse, rebuilds one chunk's
graph from its stored state and back-propagates through it, carrying the state gradient to the
previous chunk. Peak memory is therefore one chunk's (batch, dim, chunk, N) graph instead
of the reference's full (batch, dim, L, N) tensors, and nothing ever divides by a decay or
exponentiates a positive cumulative sum, so large decays cannot overflow.

The elementwise parts (bias, softplus, the ``D`` skip and the ``silu(z)`` gate) stay outside the
function in ordinary autograd: they are cheap and their gradients come for free.
"""

import math
import warnings

import torch
import torch.nn.functional as F

from .reference import compute_dtype

__all__ = ["selective_scan_chunked", "fused_available", "CHUNK"]

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


# --------------------------------------------------------------------------------------
# Fused numba path
# --------------------------------------------------------------------------------------
# dtype -> whether the numba kernels compiled (or loaded from cache) for it; filled lazily so
# importing skmamba never compiles anything.
_FUSED_OK = {}


def _fused_kernels():
    from . import _cpu_fused

    return _cpu_fused


def fused_available(dtype=torch.float32):
    """Whether the fused numba kernels can run the scan for inputs of ``dtype``.

    The first call per compute dtype (float32 for float32/float16/bfloat16 input, float64 for
    float64) imports numba and compiles the kernels, or loads them from numba's on-disk
    cache. A failure is reported once as a warning and the torch implementation is used.
    """
    ct = compute_dtype(dtype)
    if ct not in _FUSED_OK:
        try:
            ok = _fused_kernels().warm_up(str(ct).replace("torch.", ""))
            if not ok:
                raise RuntimeError("the compiled kernels returned non-finite values")
        except Exception as exc:  # any import or compile failure means: use torch
            warnings.warn(
                f"skmamba: the numba selective-scan kernels are unavailable ({exc!r}); "
                "using the slower pure-torch chunked scan",
                RuntimeWarning,
                stacklevel=2,
            )
            ok = False
        _FUSED_OK[ct] = ok
    return _FUSED_OK[ct]


def _array(t):
    """Detached C-contiguous tensor; no copy when ``t`` already is one."""
    return t.detach().contiguous()


class _FusedScan(torch.autograd.Function):
    """Core scan on the numba kernels.

    ``u``, ``delta`` (b, dim, L); ``A`` (dim, N); ``B``, ``C`` fixed (dim, N) or grouped
    (b, G, N, L) with one G; ``h0`` (b, dim, N). These are the kernels' own layouts, so
    contiguous inputs are used in place.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0, chunk, threads):
        k = _fused_kernels()
        saved = tuple(_array(t) for t in (u, delta, A, B, C))
        # Inference needs no checkpoints (one sequence tensor's worth of memory at N = 16).
        grad = any(ctx.needs_input_grad[:6])
        y, ckpt, hlast = k.fused_forward(*(t.numpy() for t in saved), _array(h0).numpy(),
                                         chunk=chunk, threads=threads, save=grad)
        if grad:
            # save_for_backward, not plain attributes: autograd's version counters then
            # catch in-place changes to the inputs, which ``saved`` usually aliases.
            ctx.save_for_backward(*saved, torch.from_numpy(ckpt))
        ctx.chunk, ctx.threads = chunk, threads
        return torch.from_numpy(y), torch.from_numpy(hlast)

    @staticmethod
    def backward(ctx, grad_y, grad_h):
        k = _fused_kernels()
        u, delta, A, B, C, ckpt = ctx.saved_tensors
        dy = torch.zeros_like(u) if grad_y is None else _array(grad_y.to(u.dtype))
        dlast = (u.new_zeros(u.shape[0], u.shape[1], A.shape[1]) if grad_h is None
                 else _array(grad_h.to(u.dtype)))
        grads = k.fused_backward(
            *(t.numpy() for t in (u, delta, A, B, C, ckpt, dy, dlast)), chunk=ctx.chunk,
            threads=ctx.threads,
        )
        return (*(torch.from_numpy(g) for g in grads), None, None)


def _grouped_bc(M, groups, dim):
    """B or C in the grouped layout: fixed (dim, N) -> (G, H, N); variable -> (b, G, N, L)."""
    if M.dim() == 2:
        return M.reshape(groups, dim // groups, M.shape[-1])
    if M.dim() == 3:
        M = M.unsqueeze(1)
    # channel d reads group d // (dim / g); with G = g * r groups that is group (d // H) // r
    return M.repeat_interleave(groups // M.shape[1], dim=1)


def _n_groups(B, C):
    groups = 1
    for M in (B, C):
        if M.dim() == 4:
            groups = math.lcm(groups, M.shape[1])
    return groups


def _prepare(u, delta, A, delta_bias, delta_softplus, initial_state):
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
    return ct, u.to(ct), delta, A.to(ct), h0


def _finish(y, u, D, z, dtype_in, h, return_last_state):
    if D is not None:
        y = y + u * D.to(y.dtype)[:, None]
    if z is not None:
        y = y * F.silu(z.to(y.dtype))
    out = y.to(dtype_in)
    return (out, h) if return_last_state else out


def selective_scan_chunked(
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
    fused=None,
):
    """Selective scan that stores only chunk-boundary states and recomputes chunks in backward.

    Same arguments and results as :func:`skmamba._kernels.selective_scan` (inputs assumed
    validated), plus two internal switches. Deterministic: every gradient is a fixed-order
    sum, so repeated runs are bit-identical.

    Parameters
    ----------
    chunk : int, optional
        Steps per chunk. Defaults to :data:`CHUNK` for the torch implementation and to the
        fused kernels' own default.
    fused : bool, optional
        ``None`` runs the numba kernels when they are available and the tensors are on the
        CPU, else the torch implementation; ``True`` insists on the kernels (RuntimeError if
        they cannot run); ``False`` forces the torch implementation.
    """
    dtype_in = u.dtype
    usable = fused is not False and u.device.type == "cpu" and fused_available(u.dtype)
    if fused and not usable:
        raise RuntimeError(
            "selective_scan_chunked: fused=True needs CPU tensors and working numba kernels"
        )
    _, u_c, delta_c, A_c, h0 = _prepare(u, delta, A, delta_bias, delta_softplus, initial_state)
    batch, dim, L = u.shape
    N = A.shape[1]
    G = _n_groups(B, C)
    H = dim // G
    ct = u_c.dtype
    if usable:
        B_k, C_k = ((M.to(ct) if M.dim() == 2 else _grouped_bc(M.to(ct), G, dim))
                    for M in (B, C))
        chunk = int(chunk) if chunk is not None else _fused_kernels().CHUNK
        y, h = _FusedScan.apply(u_c, delta_c, A_c, B_k, C_k, h0, chunk,
                                torch.get_num_threads())
        return _finish(y, u_c, D, z, dtype_in, h, return_last_state)
    y, h = _ChunkedScan.apply(
        u_c.reshape(batch, G, H, L),
        delta_c.reshape(batch, G, H, L),
        A_c.reshape(G, H, N),
        _grouped_bc(B.to(ct), G, dim),
        _grouped_bc(C.to(ct), G, dim),
        h0.reshape(batch, G, H, N),
        int(chunk) if chunk is not None else CHUNK,
    )
    return _finish(y.reshape(batch, dim, L), u_c, D, z, dtype_in, h.reshape(batch, dim, N),
                   return_last_state)
