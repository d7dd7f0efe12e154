"""Public entry point of the selective scan: argument checks, backend choice and dispatch.

Backends are named by their implementation: ``"reference"`` (:mod:`.reference`),
``"torch"`` (:mod:`.torch_scan`), ``"numba"`` (:mod:`.numba_scan`) and ``"triton"``
(:mod:`.triton_scan`); ``"auto"`` picks the fastest one that runs the inputs. numba and triton
are imported only when their backend first runs.
"""

import contextlib
import contextvars
import os
import warnings

import torch

from . import numba_scan
from .reference import selective_scan_ref
from .torch_scan import selective_scan_torch

__all__ = [
    "selective_scan",
    "triton_available",
    "BACKENDS",
    "scan_backend",
    "set_scan_backend",
    "get_scan_backend",
    "resolve_backend",
]

#: Names accepted by ``backend=``, :func:`scan_backend` and :func:`set_scan_backend`:
#: ``"auto"`` and the four implementations. ``"chunked"``, the former name of the CPU
#: backend, is still accepted for one release with a FutureWarning.
BACKENDS = ("auto", "reference", "torch", "numba", "triton")
_DEPRECATED = {"chunked": '"numba" (or "torch", or "auto", which picks numba on the CPU)'}
_FLOAT_INPUTS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)

# The backend used when ``selective_scan`` gets none: a context-local override set by
# ``scan_backend`` (None outside any ``with`` block), else the process-wide default.
_DEFAULT_BACKEND = "auto"
_CONTEXT_BACKEND = contextvars.ContextVar("skmamba_scan_backend", default=None)


def _check_name(name, stacklevel):
    """Validate a backend name; warn about the deprecated alias. Returns the name."""
    if not isinstance(name, str) or (name not in BACKENDS and name not in _DEPRECATED):
        raise ValueError(f"selective_scan: backend must be one of {BACKENDS}, got {name!r}")
    if name in _DEPRECATED:
        warnings.warn(
            f"skmamba: scan backend {name!r} is deprecated and will be removed in the next "
            f"release; use {_DEPRECATED[name]}",
            FutureWarning,
            stacklevel=stacklevel + 1,
        )
    return name


def get_scan_backend():
    """The backend :func:`selective_scan` uses when called without ``backend=``.

    That is the innermost active :func:`scan_backend` block of the current thread (or
    asyncio task), else the process-wide default of :func:`set_scan_backend`, ``"auto"``
    unless changed.

    Returns
    -------
    str
        One of :data:`BACKENDS`.

    Examples
    --------
    >>> from skmamba._kernels import get_scan_backend, scan_backend
    >>> get_scan_backend()
    'auto'
    >>> with scan_backend("reference"):
    ...     get_scan_backend()
    'reference'
    """
    name = _CONTEXT_BACKEND.get()
    return _DEFAULT_BACKEND if name is None else name


def set_scan_backend(name):
    """Set the process-wide default backend of :func:`selective_scan`.

    It applies to every thread, wherever no :func:`scan_backend` block overrides it. Layers
    such as :class:`skmamba._nn.layers.Mamba` take no backend argument: this and
    :func:`scan_backend` are how a backend is chosen for a whole model.

    Parameters
    ----------
    name : str
        One of :data:`BACKENDS`. Availability is checked when a scan runs, since it depends
        on the tensors' device.

    Returns
    -------
    str
        The previous default, so that it can be restored.

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> from skmamba._kernels import get_scan_backend, set_scan_backend
    >>> previous = set_scan_backend("torch")
    >>> get_scan_backend()
    'torch'
    >>> _ = set_scan_backend(previous)
    """
    global _DEFAULT_BACKEND
    name = _check_name(name, stacklevel=2)
    previous, _DEFAULT_BACKEND = _DEFAULT_BACKEND, name
    return previous


@contextlib.contextmanager
def scan_backend(name):
    """Context manager: :func:`selective_scan` calls inside the block use backend ``name``.

    The setting is local to the current thread (and asyncio task), so concurrent code is
    not affected; blocks nest, and leaving one restores the backend that was active before,
    also when the block raises. An explicit ``backend=`` argument still wins.

    Parameters
    ----------
    name : str
        One of :data:`BACKENDS`.

    Raises
    ------
    ValueError
        For an unknown name, on entering the block.

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels import get_scan_backend, scan_backend
    >>> from skmamba._nn.layers import Mamba
    >>> m = Mamba(d_model=8, d_state=4)
    >>> with scan_backend("reference"):
    ...     y = m(torch.randn(2, 5, 8))      # the sequential oracle
    ...     with scan_backend("torch"):
    ...         inner = get_scan_backend()
    ...     outer = get_scan_backend()
    >>> inner, outer, get_scan_backend()
    ('torch', 'reference', 'auto')
    """
    token = _CONTEXT_BACKEND.set(_check_name(name, stacklevel=3))
    try:
        yield name
    finally:
        _CONTEXT_BACKEND.reset(token)


def triton_available(device=None):
    """Whether the ``"triton"`` backend can run tensors on ``device``.

    True for CUDA devices when ``triton`` imports, and for CPU tensors when the Triton
    interpreter is switched on with ``TRITON_INTERPRET=1`` (how CI tests the kernels).
    triton is imported only when the device could use it.

    Parameters
    ----------
    device : str or torch.device, optional
        The tensors' device; ``None`` means the CPU.

    Returns
    -------
    bool

    Examples
    --------
    >>> from skmamba._kernels import triton_available
    >>> isinstance(triton_available("cpu"), bool)
    True
    """
    cuda = device is not None and torch.device(device).type == "cuda"
    if not cuda and os.environ.get("TRITON_INTERPRET", "0") != "1":
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _resolve(name, device, dtype):
    """The implementation that runs backend setting ``name`` (already validated)."""
    if name in ("reference", "torch"):
        return name
    if name == "numba":
        numba_scan.check_usable(device, dtype)
        return name
    if name == "triton":
        if not triton_available(device):
            raise RuntimeError(
                "selective_scan: backend='triton' needs the `triton` package and a CUDA "
                f"tensor (got a tensor on {device}); install skmamba[gpu] and move the inputs "
                "to CUDA, set TRITON_INTERPRET=1 to run the kernel in Triton's CPU "
                "interpreter, or use backend='auto'"
            )
        return name
    # "auto", and the deprecated "chunked", which was "auto" without Triton.
    if device.type == "cpu":
        if numba_scan.unavailable_reason(dtype) is None:
            return "numba"
        # warn_fallback <- _resolve <- selective_scan / resolve_backend <- the caller
        numba_scan.warn_fallback(dtype, stacklevel=3)
        return "torch"
    if name == "auto" and device.type == "cuda" and triton_available(device):
        return "triton"
    return "torch"


def resolve_backend(backend=None, device="cpu", dtype=torch.float32):
    """The implementation :func:`selective_scan` runs for inputs on ``device`` of ``dtype``.

    ``"auto"`` becomes ``"numba"`` on the CPU (``"torch"``, with a warning, when numba cannot
    be imported or compiled), ``"triton"`` on CUDA when triton imports, and ``"torch"``
    otherwise; it never picks the reference.

    Parameters
    ----------
    backend : str, optional
        A name from :data:`BACKENDS`; the current setting (:func:`get_scan_backend`) when
        omitted.
    device : str or torch.device, default="cpu"
    dtype : torch.dtype, default=torch.float32
        Input dtype (the numba kernels compile per compute dtype).

    Returns
    -------
    str
        ``"reference"``, ``"torch"``, ``"numba"`` or ``"triton"``.

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        When the named backend cannot run there (numba off the CPU or not importable,
        triton without CUDA or the interpreter).

    Examples
    --------
    >>> from skmamba._kernels import numba_available, resolve_backend
    >>> resolve_backend("reference")
    'reference'
    >>> resolve_backend("auto", "cpu") == ("numba" if numba_available() else "torch")
    True
    """
    name = get_scan_backend() if backend is None else _check_name(backend, stacklevel=2)
    return _resolve(name, torch.device(device), dtype)


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
    backend=None,
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
    backend : {"auto", "reference", "torch", "numba", "triton"}, optional
        Implementation to run; the current setting of :func:`scan_backend` /
        :func:`set_scan_backend` when omitted (``"auto"`` unless changed). ``"reference"`` is
        the plain sequential loop used as the test oracle; ``"torch"`` the chunked scan on
        torch operations (any device); ``"numba"`` the same design in fused compiled
        kernels (CPU only); ``"triton"`` the fused Triton kernel (CUDA, or the CPU under
        ``TRITON_INTERPRET=1``). ``"auto"`` picks numba on the CPU (torch, with a warning,
        when numba cannot be used), triton on CUDA when it imports, and torch otherwise.
        ``"chunked"`` is a deprecated alias (FutureWarning) of ``"auto"`` without Triton.

    Returns
    -------
    out : torch.Tensor
        Shape (batch, dim, L) in the dtype of ``u``.
    last_state : torch.Tensor
        Only with ``return_last_state=True``: shape (batch, dim, N), float32 (float64 for
        float64 input).

    Raises
    ------
    ValueError, TypeError
        For inputs of the wrong shape, dtype or device, or an unknown backend name.
    RuntimeError
        When the requested backend cannot run the inputs (see :func:`resolve_backend`).

    Examples
    --------
    >>> import torch
    >>> from skmamba._kernels import selective_scan
    >>> u, delta = torch.randn(2, 4, 10), torch.rand(2, 4, 10)
    >>> A = -torch.rand(4, 8)
    >>> B, C = torch.randn(2, 8, 10), torch.randn(2, 8, 10)
    >>> selective_scan(u, delta, A, B, C, delta_softplus=True).shape
    torch.Size([2, 4, 10])
    >>> ref = selective_scan(u, delta, A, B, C, delta_softplus=True, backend="reference")
    >>> torch.allclose(selective_scan(u, delta, A, B, C, delta_softplus=True), ref, atol=1e-5)
    True
    """
    # _check_name <- selective_scan <- the caller
    name = get_scan_backend() if backend is None else _check_name(backend, stacklevel=2)
    _validate(u, delta, A, B, C, D, z, delta_bias, initial_state)
    name = _resolve(name, u.device, u.dtype)
    kwargs = dict(
        D=D, z=z, delta_bias=delta_bias, delta_softplus=bool(delta_softplus),
        return_last_state=bool(return_last_state), initial_state=initial_state,
    )
    if name == "reference":
        return selective_scan_ref(u, delta, A, B, C, **kwargs)
    if name == "numba":
        return numba_scan.selective_scan_numba(u, delta, A, B, C, **kwargs)
    if name == "torch":
        return selective_scan_torch(u, delta, A, B, C, **kwargs)
    from .triton_scan import selective_scan_triton

    return selective_scan_triton(u, delta, A, B, C, **kwargs)
