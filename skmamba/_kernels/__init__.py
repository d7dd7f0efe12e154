"""The selective scan and its backends.

One entry point, :func:`selective_scan`, runs one of four implementations, named after what
they are built on:

``"reference"`` (:mod:`.reference`)
    The plain sequential loop, the test oracle.
``"torch"`` (:mod:`.torch_scan`)
    The chunked scan on torch operations, any device.
``"numba"`` (:mod:`.numba_scan`, kernels in :mod:`._numba_kernels`)
    The same design in fused compiled kernels, CPU only.
``"triton"`` (:mod:`.triton_scan`, kernels in :mod:`._triton_kernels`)
    Fused Triton kernels, CUDA (or the CPU under ``TRITON_INTERPRET=1``).

``"auto"`` (the default) picks numba on the CPU, triton on CUDA and torch elsewhere. The
backend is chosen per call (``backend=``), per block (``with scan_backend(name):``) or per
process (:func:`set_scan_backend`). Importing this package imports neither numba nor
triton; each is imported when its backend first runs.

Examples
--------
>>> import torch
>>> from skmamba._kernels import scan_backend, selective_scan
>>> u, delta = torch.randn(1, 4, 6), torch.rand(1, 4, 6)
>>> A, B = -torch.rand(4, 3), torch.randn(1, 3, 6)
>>> with scan_backend("torch"):
...     selective_scan(u, delta, A, B, B).shape
torch.Size([1, 4, 6])
"""

from .interface import (
    BACKENDS,
    get_scan_backend,
    resolve_backend,
    scan_backend,
    selective_scan,
    set_scan_backend,
    triton_available,
)
from .numba_scan import numba_available
from .reference import selective_scan_ref

__all__ = [
    "BACKENDS",
    "get_scan_backend",
    "numba_available",
    "resolve_backend",
    "scan_backend",
    "selective_scan",
    "selective_scan_ref",
    "set_scan_backend",
    "triton_available",
]
