"""Shared inputs and comparisons for the selective-scan tests (CPU and Triton backends).

Test modules in this directory import these helpers with ``from conftest import ...``; pytest
has put this directory's conftest in ``sys.modules["conftest"]`` by the time they are
collected.
"""

import os

import torch

NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias", "initial_state")


def default_device():
    """Where the Triton tests run: CUDA unless the Triton interpreter is on or CUDA absent."""
    interpret = os.environ.get("TRITON_INTERPRET", "0") == "1"
    return "cpu" if interpret or not torch.cuda.is_available() else "cuda"


def _bc(form, batch, dim, N, L, groups, gen):
    if form == "fixed":
        return torch.randn(dim, N, generator=gen)
    if form == "variable":
        return torch.randn(batch, N, L, generator=gen)
    return torch.randn(batch, groups, N, L, generator=gen)


def make_case(batch, dim, L, N, *, B_form="variable", C_form="variable", groups=1,
              with_D=True, with_z=True, with_bias=True, softplus=True,
              with_initial_state=True, dtype=torch.float32, seed=0, delta_range=None,
              A_min=None, device=None):
    """Random inputs for one case, as a dict of leaf tensors plus ``delta_softplus``.

    Raw delta is N(0, 0.5^2) with softplus (negative values exercise its tail) and
    U(0.05, 0.55) without; A is U(-2.5, -0.5). ``delta_range=(lo, hi)`` and ``A_min``
    override them for the extreme-decay cases. Parameters (A, D, delta_bias, fixed B/C,
    initial_state) stay float32 like mamba-ssm's; u, delta, z and variable B/C take
    ``dtype``. ``device`` defaults to :func:`default_device`. ``groups`` applies to the
    "grouped" forms; "variable" is (batch, N, L).
    """
    device = default_device() if device is None else device
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(batch, dim, L, generator=gen)
    if delta_range is not None:
        lo, hi = delta_range
        delta = lo + (hi - lo) * torch.rand(batch, dim, L, generator=gen)
    elif softplus:
        delta = 0.5 * torch.randn(batch, dim, L, generator=gen)
    else:
        delta = 0.05 + 0.5 * torch.rand(batch, dim, L, generator=gen)
    if A_min is not None:
        A = A_min * torch.rand(dim, N, generator=gen)
    else:
        A = -(0.5 + 2.0 * torch.rand(dim, N, generator=gen))
    B = _bc(B_form, batch, dim, N, L, groups, gen)
    C = _bc(C_form, batch, dim, N, L, groups, gen)
    case = dict(
        u=u, delta=delta, A=A, B=B, C=C,
        D=torch.randn(dim, generator=gen) if with_D else None,
        z=torch.randn(batch, dim, L, generator=gen) if with_z else None,
        delta_bias=0.5 * torch.rand(dim, generator=gen) if with_bias else None,
        initial_state=torch.randn(batch, dim, N, generator=gen) if with_initial_state else None,
    )
    low = ("u", "delta", "z") + tuple(n for n, f in (("B", B_form), ("C", C_form)) if f != "fixed")
    for name, t in case.items():
        if t is not None:
            case[name] = t.to(device=device, dtype=dtype if name in low else torch.float32)
    case["delta_softplus"] = softplus
    return case


def leaves(case, dtype=None):
    """Fresh leaf copies that require grad, optionally cast to ``dtype``."""
    out = {}
    for name in NAMES:
        t = case[name]
        if t is not None:
            t = t.detach().clone() if dtype is None else t.detach().to(dtype)
            t.requires_grad_(True)
        out[name] = t
    return out


def run_scan(fn, case, leaves, *, grad_out=True, grad_last=True, seed=1, **kwargs):
    """Forward and backward through ``fn``; returns (out, last_state, {name: grad})."""
    out, last = fn(
        *(leaves[n] for n in ("u", "delta", "A", "B", "C")),
        D=leaves["D"], z=leaves["z"], delta_bias=leaves["delta_bias"],
        delta_softplus=case["delta_softplus"], return_last_state=True,
        initial_state=leaves["initial_state"], **kwargs,
    )
    gen = torch.Generator().manual_seed(seed)
    loss = 0.0
    if grad_out:
        w = torch.randn(out.shape, generator=gen).to(out.device)
        loss = loss + (out.to(w.dtype) * w).sum()
    if grad_last:
        w = torch.randn(last.shape, generator=gen).to(last.device)
        loss = loss + (last.to(w.dtype) * w).sum()
    wrt = [n for n in NAMES if leaves[n] is not None]
    grads = torch.autograd.grad(loss, [leaves[n] for n in wrt], allow_unused=True)
    grads = {n: (torch.zeros_like(leaves[n]) if g is None else g) for n, g in zip(wrt, grads)}
    return out, last, grads


def errors(actual, expected):
    """Max abs error and max abs error relative to the tensor's largest magnitude."""
    a, e = actual.double().cpu(), expected.double().cpu()
    err = (a - e).abs().max().item() if e.numel() else 0.0
    scale = e.abs().max().item() if e.numel() else 0.0
    return err, err / max(scale, 1e-30)


def assert_close(name, actual, expected, rtol, atol):
    """|actual - expected| <= atol * max(1, max|expected|) + rtol * |expected|, elementwise.

    ``atol`` scales with the tensor's magnitude because parameter gradients are sums over
    batch and time whose size grows with the problem.
    """
    assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
    a, e = actual.double().cpu(), expected.double().cpu()
    assert torch.isfinite(a).all(), f"{name}: non-finite values"
    scale = max(1.0, e.abs().max().item()) if e.numel() else 1.0
    bad = (a - e).abs() > atol * scale + rtol * e.abs()
    err, rel = errors(a, e)
    assert not bad.any(), f"{name}: max abs err {err:.3g} (rel to max {rel:.3g})"
