"""Numba selective scan: the ``"numba"`` backend, fused compiled kernels for CPU tensors.

Same design as the ``"torch"`` backend (:mod:`skmamba._kernels.torch_scan`): only the state
entering every chunk is stored and the backward recomputes one chunk at a time, but the core
recurrence and its adjoint run in the kernels of :mod:`skmamba._kernels._numba_kernels`,
several times faster than anything built from torch operations. Bias, softplus, the ``D``
skip and the ``silu(z)`` gate stay in torch autograd.

numba is a dependency of skmamba but is imported only when this backend first runs: the first
call per compute dtype imports numba and compiles the kernels (or loads them from numba's
on-disk cache). If that fails, :func:`numba_available` is False and ``backend="auto"`` falls
back to the ``"torch"`` backend with a warning.
"""

import warnings

import torch

from ._common import bc_layout, compute_dtype, finish, n_groups, prepare

__all__ = ["selective_scan_numba", "numba_available"]

# compute dtype -> None when the kernels compiled (or loaded from cache) for it, else the
# reason they cannot run; filled lazily so importing skmamba never imports numba.
_STATUS = {}
# compute dtypes whose fallback to the torch backend has been reported.
_WARNED = set()


def _kernels():
    from . import _numba_kernels

    return _numba_kernels


def unavailable_reason(dtype=torch.float32):
    """None when the kernels run for inputs of ``dtype``, else why not (cached per dtype)."""
    ct = compute_dtype(dtype)
    if ct not in _STATUS:
        try:
            ok = _kernels().warm_up(str(ct).replace("torch.", ""))
            reason = None if ok else "the compiled kernels returned non-finite values"
        except Exception as exc:  # any import or compile failure means: cannot use numba
            reason = repr(exc)
        _STATUS[ct] = reason
    return _STATUS[ct]


def numba_available(dtype=torch.float32):
    """Whether the ``"numba"`` backend can run CPU inputs of ``dtype``.

    The first call per compute dtype (float32 for float32, float16 and bfloat16 input,
    float64 for float64) imports numba and compiles the kernels or loads them from numba's
    cache; the answer is then remembered.

    Parameters
    ----------
    dtype : torch.dtype, default=torch.float32
        Input dtype.

    Returns
    -------
    bool

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels import numba_available
    >>> isinstance(numba_available(torch.float32), bool)
    True
    """
    return unavailable_reason(dtype) is None


def warn_fallback(dtype, stacklevel=2):
    """Report once per compute dtype that ``"auto"`` runs the torch backend instead."""
    ct = compute_dtype(dtype)
    if ct not in _WARNED:
        _WARNED.add(ct)
        warnings.warn(
            f"skmamba: the numba selective-scan kernels are unavailable "
            f"({unavailable_reason(dtype)}); using the slower pure-torch scan",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )


def check_usable(device, dtype):
    """Raise RuntimeError naming the reason when the numba backend cannot run these inputs."""
    device = torch.device(device)
    if device.type != "cpu":
        raise RuntimeError(
            f"selective_scan: backend='numba' runs CPU tensors only, got a tensor on {device}; "
            "use backend='triton' or 'torch' there, or backend='auto'"
        )
    reason = unavailable_reason(dtype)
    if reason is not None:
        raise RuntimeError(
            f"selective_scan: backend='numba' is unavailable ({reason}); use "
            "backend='torch', or backend='auto', which falls back to it"
        )


def _array(t):
    """Detached C-contiguous tensor; no copy when ``t`` already is one."""
    return t.detach().contiguous()


class _NumbaScan(torch.autograd.Function):
    """Core scan on the numba kernels.

    ``u``, ``delta`` (b, dim, L); ``A`` (dim, N); ``B``, ``C`` fixed (dim, N) or grouped
    (b, G, N, L) with one G; ``h0`` (b, dim, N). These are the kernels' own layouts, so
    contiguous inputs are used in place.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0, chunk, threads):
        k = _kernels()
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
        k = _kernels()
        u, delta, A, B, C, ckpt = ctx.saved_tensors
        dy = torch.zeros_like(u) if grad_y is None else _array(grad_y.to(u.dtype))
        dlast = (u.new_zeros(u.shape[0], u.shape[1], A.shape[1]) if grad_h is None
                 else _array(grad_h.to(u.dtype)))
        grads = k.fused_backward(
            *(t.numpy() for t in (u, delta, A, B, C, ckpt, dy, dlast)), chunk=ctx.chunk,
            threads=ctx.threads,
        )
        return (*(torch.from_numpy(g) for g in grads), None, None)


def selective_scan_numba(
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
    """Selective scan on the fused numba kernels, for CPU tensors.

    The ``"numba"`` backend of :func:`skmamba._kernels.selective_scan`, with the same
    arguments and results; inputs are assumed validated. The batch is split over
    ``torch.get_num_threads()`` Python threads. Deterministic: gradients are fixed-order
    sums, bit-identical across runs and thread counts.

    Parameters
    ----------
    u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state, initial_state
        As in :func:`skmamba._kernels.selective_scan`.
    chunk : int, optional
        Steps between stored states; the kernels' own default when omitted.

    Returns
    -------
    out : torch.Tensor
        (batch, dim, L) in the dtype of ``u``.
    last_state : torch.Tensor
        Only with ``return_last_state=True``: (batch, dim, N).

    Raises
    ------
    RuntimeError
        For tensors off the CPU, or when numba cannot be imported or compiled.

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels import numba_available
    >>> from skmamba._kernels.numba_scan import selective_scan_numba
    >>> u, delta = torch.randn(2, 4, 10), torch.rand(2, 4, 10)
    >>> A, B, C = -torch.rand(4, 8), torch.randn(2, 8, 10), torch.randn(2, 8, 10)
    >>> if numba_available():
    ...     assert selective_scan_numba(u, delta, A, B, C).shape == (2, 4, 10)
    """
    check_usable(u.device, u.dtype)
    dtype_in = u.dtype
    u_c, delta_c, A_c, h0 = prepare(u, delta, A, delta_bias, delta_softplus, initial_state)
    dim = u.shape[1]
    G = n_groups(B, C)
    ct = u_c.dtype
    B_k, C_k = bc_layout(B, dim, G, ct), bc_layout(C, dim, G, ct)
    chunk = int(chunk) if chunk is not None else _kernels().CHUNK
    y, h = _NumbaScan.apply(u_c, delta_c, A_c, B_k, C_k, h0, chunk, torch.get_num_threads())
    return finish(y, u_c, D, z, dtype_in, h, return_last_state)
