"""Triton backend of the selective scan: a fused chunked scan with a recomputing backward.

Imported lazily by :func:`skmamba._kernels.selective_scan` when ``backend="triton"`` (or
``"auto"`` on CUDA), so importing skmamba never needs triton. Runs on CUDA tensors, and on
CPU tensors under the Triton interpreter (``TRITON_INTERPRET=1``), which is how CI tests it.

Design
------
* Grid ``(batch, cdiv(dim, BLOCK_D))``; each program keeps a (BLOCK_D, BLOCK_N) fp32 state
  in registers and walks L in chunks of ``BLOCK_L``, scanning (exp(delta A), delta u B)
  pairs with ``tl.associative_scan`` inside a chunk.
* Memory: besides the output, the forward writes only the state at the end of every chunk,
  (batch, dim, cdiv(L, BLOCK_L), N) fp32, about N / BLOCK_L floats per position. No
  (batch, dim, L, N) tensor exists in either direction.
* Backward walks the chunks in reverse, recomputes the chunk's states from the saved state
  entering it, and runs the adjoint recurrence as a reverse scan. Gradients of parameters
  shared across programs (A, D, delta_bias, fixed B/C, and variable B/C shared by the
  channels of a group) are written as per-program partial sums and reduced here, on the
  host, in a fixed order: results are bit-for-bit reproducible (no atomics). The price is
  memory: variable B and C each need a (dim / BLOCK_D_bwd, batch, N, L) fp32 buffer
  during the backward, 1/BLOCK_D_bwd of a (batch, dim, L, N) tensor (1/8 at N = 16).
* Block sizes come from a small table keyed on N (:func:`pick_config`) instead of
  ``triton.autotune``: BLOCK_L is baked into the saved chunk states and BLOCK_D_bwd into
  the partial buffers, so neither can be tuned per launch.
* The gradient of ``last_state`` flows back (mamba-ssm drops it), and ``initial_state``
  receives a gradient.
"""

import contextlib
import math
import os

import torch

from . import _triton_kernels as _k
from ._common import bc_layout

__all__ = ["selective_scan_triton", "pick_config"]

# Per padded N: (BLOCK_L, largest forward tile, largest backward tile), tiles counted in fp32
# elements BLOCK_D * BLOCK_N * BLOCK_L at 8 warps. Chosen by compiling both kernels for
# sm_90 (Triton 3.9, all options on) and reading ptxas' register use: these are the
# largest tiles with no register spills (the forward stays near 100-160 registers, the
# backward near 180-230). Not yet timed on a GPU.
_TILE_TABLE = {
    2: (32, 4096, 2048),
    4: (32, 4096, 2048),
    8: (32, 4096, 2048),
    16: (32, 4096, 4096),
    32: (32, 4096, 4096),
    64: (16, 4096, 2048),
    128: (16, 4096, 2048),
    256: (8, 4096, 2048),
}
# The interpreter spends ~0.1 ms per scanned element, so cap the chunk there: small chunks
# waste less padding on tiny test shapes and give short sequences several chunks.
_INTERPRET_MAX_BLOCK_L = 16


def _interpreting():
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _next_pow2(n):
    return 1 << max(int(n) - 1, 0).bit_length()


def _warps(tile):
    # About 8-16 elements of each live tile per thread; tiny test shapes get fewer warps.
    return int(min(8, max(1, tile // 256)))


def pick_config(dim, N, L, d_align=None, interpret=None):
    """Block sizes and warp counts for one problem shape.

    Parameters
    ----------
    dim, N, L : int
        Channels, state size and sequence length.
    d_align : int, optional
        ``BLOCK_D`` must divide this (``gcd`` of ``dim // G`` over the variable B and C),
        so that a program reads a single group; ``None`` when B and C are both fixed.
    interpret : bool, optional
        Whether the Triton interpreter runs the kernels; read from ``TRITON_INTERPRET``
        when omitted.

    Returns
    -------
    dict
        ``block_l`` (chunk length, shared by both kernels since the backward restarts from
        the forward's chunk-end states), ``block_n`` (N padded to a power of two),
        ``block_d`` / ``block_d_bwd`` (channels per program) and ``num_warps`` /
        ``num_warps_bwd``.

    Examples
    --------
    >>> from skmamba._kernels.triton_scan import pick_config
    >>> pick_config(256, 16, 720, interpret=False)["block_n"]
    16
    """
    if interpret is None:
        interpret = _interpreting()
    block_n = max(2, _next_pow2(N))
    # Beyond 256 (mamba-ssm's limit too) keep the 256 row: tiles grow and may spill.
    block_l, fwd_tile, bwd_tile = _TILE_TABLE[min(block_n, 256)]
    if interpret:
        block_l = min(block_l, _INTERPRET_MAX_BLOCK_L)
    block_l = max(2, min(block_l, _next_pow2(L)))
    d_cap = min(16, _next_pow2(dim))
    if d_align is not None:
        d_cap = min(d_cap, d_align & -d_align)  # largest power of two dividing d_align
    block_d = max(1, min(d_cap, fwd_tile // (block_n * block_l)))
    block_d_bwd = max(1, min(d_cap, bwd_tile // (block_n * block_l)))
    return dict(
        block_l=block_l,
        block_n=block_n,
        block_d=block_d,
        block_d_bwd=block_d_bwd,
        num_warps=_warps(block_d * block_n * block_l),
        num_warps_bwd=_warps(block_d_bwd * block_n * block_l),
    )


def _bc_layout(M, dim):
    """Contiguous kernel layout of B or C: (M, variable, groups, channels per group)."""
    M = bc_layout(M, dim).contiguous()
    if M.dim() == 2:
        return M, False, 1, dim
    return M, True, M.shape[1], dim // M.shape[1]


def _check_config(cfg, dim, d_align):
    for key in ("block_l", "block_n", "block_d", "block_d_bwd"):
        v = cfg[key]
        if v < 1 or v & (v - 1):
            raise ValueError(f"selective_scan_triton: {key}={v} must be a power of two")
    for key in ("block_d", "block_d_bwd"):
        if d_align is not None and d_align % cfg[key]:
            raise ValueError(
                f"selective_scan_triton: {key}={cfg[key]} must divide dim // G = {d_align} "
                "for variable or grouped B/C"
            )


class _SelectiveScanTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, initial_state, softplus, config):
        batch, dim, L = u.shape
        N = A.shape[1]
        u = u.contiguous()
        delta = delta.contiguous()
        A_c = A.contiguous()
        B_c, b_var, G_B, dpg_B = _bc_layout(B, dim)
        C_c, c_var, G_C, dpg_C = _bc_layout(C, dim)
        D_c = D.contiguous() if D is not None else None
        z_c = z.contiguous() if z is not None else None
        bias_c = delta_bias.contiguous() if delta_bias is not None else None
        h0_c = initial_state.contiguous() if initial_state is not None else None

        aligns = [d for d, var in ((dpg_B, b_var), (dpg_C, c_var)) if var]
        d_align = math.gcd(*aligns) if aligns else None
        cfg = pick_config(dim, N, L, d_align)
        if config:
            cfg.update(config)
        cfg["block_n"] = max(cfg["block_n"], _next_pow2(N))
        _check_config(cfg, dim, d_align)
        nchunks = _cdiv(L, cfg["block_l"])

        out = torch.empty_like(u)
        states = torch.empty(batch, dim, nchunks, N, device=u.device, dtype=torch.float32)
        if out.numel():
            grid = (batch, _cdiv(dim, cfg["block_d"]))
            with _on_device(u):
                _k._fwd_kernel[grid](
                    u, delta, A_c, B_c, C_c, _or(D_c, u), _or(z_c, u), _or(bias_c, u),
                    _or(h0_c, u), out, states,
                    dim, L, N, nchunks, G_B, dpg_B, G_C, dpg_C,
                    HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=delta_bias is not None,
                    SOFTPLUS=softplus, HAS_H0=initial_state is not None,
                    B_VAR=b_var, C_VAR=c_var,
                    BLOCK_D=cfg["block_d"], BLOCK_N=cfg["block_n"], BLOCK_L=cfg["block_l"],
                    num_warps=cfg["num_warps"],
                )
        if L:
            last_state = states[:, :, -1].clone()
        else:
            last_state = (h0_c.float().clone() if h0_c is not None
                          else states.new_zeros(batch, dim, N))
        if u.dtype == torch.float64:
            last_state = last_state.double()

        ctx.save_for_backward(u, delta, A_c, B_c, C_c, D_c, z_c, bias_c, h0_c, states)
        ctx.meta = dict(
            softplus=softplus, cfg=cfg, b_var=b_var, c_var=c_var, G_B=G_B, G_C=G_C,
            dpg_B=dpg_B, dpg_C=dpg_C, nchunks=nchunks, B_shape=B.shape, C_shape=C.shape,
            dtypes=(A.dtype, B.dtype, C.dtype, None if D is None else D.dtype,
                    None if delta_bias is None else delta_bias.dtype,
                    None if initial_state is None else initial_state.dtype),
        )
        ctx.set_materialize_grads(False)
        return out, last_state

    @staticmethod
    def backward(ctx, dout, dlast):
        u, delta, A, B, C, D, z, bias, h0, states = ctx.saved_tensors
        m = ctx.meta
        cfg = m["cfg"]
        batch, dim, L = u.shape
        N = A.shape[1]
        dev = u.device
        f32 = torch.float32
        if dout is None:
            dout = torch.zeros_like(u)
        dout = dout.contiguous()
        if dlast is not None:
            dlast = dlast.contiguous()

        du = torch.empty_like(u)
        ddelta = torch.empty_like(delta)
        dz = torch.empty_like(z) if z is not None else None
        block_d = cfg["block_d_bwd"]
        ndblk = _cdiv(dim, block_d)
        dA_p = torch.empty(batch, dim, N, device=dev, dtype=f32)
        if m["b_var"]:
            dB_p = torch.empty(m["dpg_B"] // block_d, batch, m["G_B"], N, L, device=dev,
                               dtype=f32)
        else:
            dB_p = torch.empty(batch, dim, N, device=dev, dtype=f32)
        if m["c_var"]:
            dC_p = torch.empty(m["dpg_C"] // block_d, batch, m["G_C"], N, L, device=dev,
                               dtype=f32)
        else:
            dC_p = torch.empty(batch, dim, N, device=dev, dtype=f32)
        dD_p = torch.empty(batch, dim, device=dev, dtype=f32) if D is not None else None
        dbias_p = torch.empty(batch, dim, device=dev, dtype=f32) if bias is not None else None
        dh0 = torch.empty(batch, dim, N, device=dev, dtype=f32) if h0 is not None else None

        if u.numel():
            with _on_device(u):
                _k._bwd_kernel[(batch, ndblk)](
                    u, delta, A, B, C, _or(D, u), _or(z, u), _or(bias, u), _or(h0, u), states,
                    dout, _or(dlast, u),
                    du, ddelta, _or(dz, u), dA_p, dB_p, dC_p, _or(dD_p, dA_p),
                    _or(dbias_p, dA_p), _or(dh0, dA_p),
                    batch, dim, L, N, m["nchunks"], m["G_B"], m["dpg_B"], m["G_C"], m["dpg_C"],
                    HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=bias is not None,
                    SOFTPLUS=m["softplus"], HAS_H0=h0 is not None, HAS_DLAST=dlast is not None,
                    B_VAR=m["b_var"], C_VAR=m["c_var"],
                    BLOCK_D=block_d, BLOCK_N=cfg["block_n"], BLOCK_L=cfg["block_l"],
                    num_warps=cfg["num_warps_bwd"],
                )
        else:
            for t in (du, ddelta, dz, dA_p, dB_p, dC_p, dD_p, dbias_p, dh0):
                if t is not None:
                    t.zero_()
            if dh0 is not None and dlast is not None:
                dh0.copy_(dlast)

        A_dt, B_dt, C_dt, D_dt, bias_dt, h0_dt = m["dtypes"]
        # Fixed-order sums over batch rows and channel blocks: deterministic.
        dA = dA_p.sum(0).to(A_dt)
        dB = dB_p.sum(0).reshape(m["B_shape"]).to(B_dt)
        dC = dC_p.sum(0).reshape(m["C_shape"]).to(C_dt)
        dD = dD_p.sum(0).to(D_dt) if D is not None else None
        dbias = dbias_p.sum(0).to(bias_dt) if bias is not None else None
        dh0 = dh0.to(h0_dt) if h0 is not None else None
        return du, ddelta, dA, dB, dC, dD, dz, dbias, dh0, None, None


def _on_device(t):
    # Triton launches on the current CUDA device, not on the tensors' one.
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


def _or(t, fallback):
    # Triton needs a pointer for every tensor argument; absent optional inputs get a
    # dummy that the constexpr flags keep the kernel from touching.
    return fallback if t is None else t


def _cdiv(a, b):
    return -(-a // b)


def selective_scan_triton(
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
    config=None,
):
    """Selective scan with fused Triton kernels (forward and recomputing backward).

    Same semantics as :func:`skmamba._kernels.selective_scan`, whose argument checks are
    assumed done. Inputs may be float32, float16 or bfloat16: the state and every
    accumulation run in float32 and ``out`` has the input dtype. float64 input is accepted
    but computed in float32 (outputs and gradients are cast back to float64), so it has
    float32 accuracy; use ``backend="reference"`` for float64 checks such as gradcheck.

    Parameters
    ----------
    u, delta : torch.Tensor
        (batch, dim, L), one dtype.
    A : torch.Tensor
        (dim, N), N <= 256 recommended (the state tile is padded to a power of two).
    B, C : torch.Tensor
        Fixed (dim, N), variable (batch, N, L) or grouped (batch, G, N, L).
    D, delta_bias : torch.Tensor, optional
        (dim,).
    z : torch.Tensor, optional
        (batch, dim, L) gate: ``out = y * silu(z)``.
    delta_softplus : bool, default=False
        Softplus with threshold 20 after adding ``delta_bias``.
    return_last_state : bool, default=False
        Also return the final state (batch, dim, N), float32 (float64 for float64 input);
        gradients flowing into it are propagated.
    initial_state : torch.Tensor, optional
        (batch, dim, N) starting state, receives a gradient.
    config : dict, optional
        Overrides of :func:`pick_config`'s choice (``block_l``, ``block_d``,
        ``block_d_bwd``, ``num_warps``, ``num_warps_bwd``), for tests and tuning.

    Returns
    -------
    out : torch.Tensor
        (batch, dim, L), dtype of ``u``.
    last_state : torch.Tensor
        Only with ``return_last_state=True``.

    Examples
    --------
    Runs where :func:`~skmamba._kernels.triton_available` says so (CUDA, or the CPU under
    ``TRITON_INTERPRET=1``):

    >>> import torch
    >>> from skmamba._kernels import triton_available
    >>> device = "cuda" if torch.cuda.is_available() else "cpu"
    >>> if triton_available(device):
    ...     from skmamba._kernels.triton_scan import selective_scan_triton
    ...     u, delta = torch.randn(2, 4, 10, device=device), torch.rand(2, 4, 10, device=device)
    ...     A, B = -torch.rand(4, 8, device=device), torch.randn(2, 8, 10, device=device)
    ...     assert selective_scan_triton(u, delta, A, B, B).shape == (2, 4, 10)
    """
    out, last_state = _SelectiveScanTriton.apply(
        u, delta, A, B, C, D, z, delta_bias, initial_state, bool(delta_softplus), config
    )
    return (out, last_state) if return_last_state else out
