"""Public entry point of the selective scan: argument checks and backend dispatch."""

import os

import torch

from .reference import selective_scan_ref

__all__ = ["selective_scan", "triton_available", "BACKENDS"]

BACKENDS = ("auto", "reference", "chunked", "triton")
_FLOAT_INPUTS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def triton_available(device=None):
    """Whether the Triton backend can run tensors on ``device``.

    True for CUDA devices when ``triton`` imports, and for CPU tensors when the Triton
    interpreter is switched on with ``TRITON_INTERPRET=1`` (how CI tests the kernels).
    """
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    if device is not None and torch.device(device).type == "cuda":
        return True
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _check_shape(name, t, shape):
    if tuple(t.shape) != tuple(shape):
        raise ValueError(
            f"selective_scan: `{name}` must have shape {tuple(shape)}, got {tuple(t.shape)}"
        )


def _check_bc(name, M, batch, dim, N, L):
    if M.dim() == 2:
        _check_shape(name, M, (dim, N))
    elif M.dim() == 3:
        _check_shape(name, M, (batch, N, L))
    elif M.dim() == 4:
        groups = M.shape[1]
        if groups < 1 or dim % groups:
            raise ValueError(
                f"selective_scan: grouped `{name}` has G={groups} groups, which must divide "
                f"dim={dim}"
            )
        _check_shape(name, M, (batch, groups, N, L))
    else:
        raise ValueError(
            f"selective_scan: `{name}` must be fixed (dim, N)=({dim}, {N}), variable "
            f"(batch, N, L)=({batch}, {N}, {L}) or grouped (batch, G, N, L); got "
            f"{M.dim()} dimensions {tuple(M.shape)}"
        )
    if not M.is_floating_point():
        raise TypeError(f"selective_scan: `{name}` must be a float tensor, got {M.dtype}")


def _validate(u, delta, A, B, C, D, z, delta_bias, initial_state):
    for name, t in (("u", u), ("delta", delta), ("A", A), ("B", B), ("C", C)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"selective_scan: `{name}` must be a torch.Tensor, got {type(t)}")
    if u.dim() != 3:
        raise ValueError(
            f"selective_scan: `u` must have shape (batch, dim, L), got {tuple(u.shape)}"
        )
    if u.dtype not in _FLOAT_INPUTS:
        raise TypeError(
            f"selective_scan: `u` must be float32, float16, bfloat16 or float64, got {u.dtype}"
        )
    batch, dim, L = u.shape
    _check_shape("delta", delta, (batch, dim, L))
    if delta.dtype != u.dtype:
        raise TypeError(
            f"selective_scan: `delta` must have the dtype of `u` ({u.dtype}), got {delta.dtype}"
        )
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(
            f"selective_scan: `A` must have shape (dim, N) with dim={dim}, got {tuple(A.shape)}"
        )
    if A.is_complex() or not A.is_floating_point():
        raise TypeError(f"selective_scan: `A` must be a real float tensor, got {A.dtype}")
    N = A.shape[1]
    _check_bc("B", B, batch, dim, N, L)
    _check_bc("C", C, batch, dim, N, L)
    named = {"D": D, "delta_bias": delta_bias}
    for name, t in named.items():
        if t is not None:
            _check_shape(name, t, (dim,))
    if z is not None:
        _check_shape("z", z, (batch, dim, L))
    if initial_state is not None:
        _check_shape("initial_state", initial_state, (batch, dim, N))
    tensors = {"u": u, "delta": delta, "A": A, "B": B, "C": C, "D": D, "z": z,
               "delta_bias": delta_bias, "initial_state": initial_state}
    for name, t in tensors.items():
        if t is not None and t.device != u.device:
            raise ValueError(
                f"selective_scan: `{name}` is on {t.device} but `u` is on {u.device}; "
                "move every input to one device"
            )


def _resolve_backend(backend, device):
    if backend not in BACKENDS:
        raise ValueError(f"selective_scan: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "triton" if device.type == "cuda" and triton_available(device) else (
            "chunked" if device.type == "cpu" else "reference"
        )
    if backend == "triton" and not triton_available(device):
        raise RuntimeError(
            "selective_scan: backend='triton' needs the `triton` package and a CUDA tensor "
            f"(got a tensor on {device}); install skmamba[gpu] and move the inputs to CUDA, "
            "set TRITON_INTERPRET=1 to run the kernel in Triton's CPU interpreter, or use "
            "backend='auto'"
        )
    return backend


def selective_scan(
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
    backend="auto",
):
    r"""Mamba's selective scan (S6) with the semantics of mamba-ssm's ``selective_scan_fn``.

    For every batch row ``b`` and channel ``d`` a state :math:`h \in \mathbb{R}^N` runs

    .. math::

        \delta_t = \mathrm{softplus}(\delta^{raw}_t + \text{delta\_bias}), \quad
        h_t = e^{\delta_t A} \odot h_{t-1} + \delta_t u_t B_t, \quad
        y_t = C_t \cdot h_t + D u_t,

    and the output is ``y * silu(z)`` when ``z`` is given. The state and every accumulation
    are float32 whatever the input dtype (float64 input stays float64).

    Parameters
    ----------
    u, delta : torch.Tensor
        Input and raw step size, shape (batch, dim, L), one float dtype (float32, float16,
        bfloat16 or float64).
    A : torch.Tensor
        State matrix, shape (dim, N), real and normally negative.
    B, C : torch.Tensor
        Input and output matrices: fixed (dim, N), variable (batch, N, L), or grouped
        (batch, G, N, L) where channel ``d`` uses group ``d // (dim // G)``.
    D : torch.Tensor, optional
        Skip connection, shape (dim,).
    z : torch.Tensor, optional
        Gate, shape (batch, dim, L).
    delta_bias : torch.Tensor, optional
        Added to ``delta`` before the softplus, shape (dim,).
    delta_softplus : bool, default=False
        Apply softplus (threshold 20) to ``delta + delta_bias``.
    return_last_state : bool, default=False
        Also return the final state (batch, dim, N). Unlike mamba-ssm, a gradient flowing
        into the last state is propagated.
    initial_state : torch.Tensor, optional
        Starting state (batch, dim, N); zeros when omitted. Receives a gradient.
    backend : {"auto", "reference", "chunked", "triton"}, default="auto"
        ``"auto"`` runs the Triton kernel on CUDA tensors and the chunked implementation on
        CPU; ``"reference"`` is the plain sequential loop used as the test oracle.

    Returns
    -------
    out : torch.Tensor
        Shape (batch, dim, L) in the dtype of ``u``.
    last_state : torch.Tensor
        Only with ``return_last_state=True``: shape (batch, dim, N), float32 (float64 for
        float64 input).

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels import selective_scan
    >>> u, delta = torch.randn(2, 4, 10), torch.rand(2, 4, 10)
    >>> A = -torch.rand(4, 8)
    >>> B, C = torch.randn(2, 8, 10), torch.randn(2, 8, 10)
    >>> selective_scan(u, delta, A, B, C, delta_softplus=True).shape
    torch.Size([2, 4, 10])
    """
    _validate(u, delta, A, B, C, D, z, delta_bias, initial_state)
    name = _resolve_backend(backend, u.device)
    kwargs = dict(
        D=D, z=z, delta_bias=delta_bias, delta_softplus=bool(delta_softplus),
        return_last_state=bool(return_last_state), initial_state=initial_state,
    )
    if name == "reference":
        return selective_scan_ref(u, delta, A, B, C, **kwargs)
    if name == "chunked":
        from .chunked import selective_scan_chunked

        return selective_scan_chunked(u, delta, A, B, C, **kwargs)
    from .triton_scan import selective_scan_triton

    return selective_scan_triton(u, delta, A, B, C, **kwargs)
