"""CPU backends of the selective scan, ``"torch"`` and ``"numba"``, against the reference.

Each backend is compared with the float64 reference, output, last state and every gradient,
over a grid of small cases that covers ragged and single-step L, several chunks, fixed,
variable, grouped and mixed B/C, and every optional input; gradcheck runs in float64 for the
reference and both backends. Backend selection and dispatch are tested in
``test_interface.py``.
"""

import functools

import numpy as np
import pytest
import torch
from conftest import assert_close, leaves, make_case, run_scan

from skmamba._kernels import numba_available, selective_scan
from skmamba._kernels.numba_scan import selective_scan_numba
from skmamba._kernels.reference import selective_scan_ref
from skmamba._kernels.torch_scan import selective_scan_torch

make_case = functools.partial(make_case, device="cpu")

NUMBA = numba_available(torch.float32) and numba_available(torch.float64)
needs_numba = pytest.mark.skipif(not NUMBA, reason="numba kernels unavailable")

# chunk=4 gives several chunks, and a ragged last one, at test sizes.
PATHS = {
    "torch": functools.partial(selective_scan_torch, chunk=4),
    "numba": functools.partial(selective_scan_numba, chunk=4),
}
PATH_PARAMS = [pytest.param("torch"), pytest.param("numba", marks=needs_numba)]

# float32 against float64: the differences are float32 rounding (observed <= 3e-6).
TOL = dict(rtol=1e-4, atol=2e-5)


def check(path, case, *, grad_out=True, grad_last=True, rtol=TOL["rtol"], atol=TOL["atol"],
          fn=None):
    """Output, last state and every gradient of ``path`` against the float64 reference."""
    fn = fn or PATHS[path]
    out, last, grads = run_scan(fn, case, leaves(case), grad_out=grad_out,
                                grad_last=grad_last)
    ref_out, ref_last, ref_grads = run_scan(selective_scan_ref, case,
                                            leaves(case, torch.float64), grad_out=grad_out,
                                            grad_last=grad_last)
    assert out.dtype == case["u"].dtype
    assert last.dtype == (torch.float64 if case["u"].dtype == torch.float64 else torch.float32)
    assert_close("out", out, ref_out, rtol, atol)
    assert_close("last_state", last, ref_last, rtol, atol)
    assert set(grads) == set(ref_grads)
    for name, g in grads.items():
        assert g.dtype == case[name].dtype, name
        assert_close(f"d{name}", g, ref_grads[name], rtol, atol)
    return out, last, grads


# (id, make_case kwargs, grad_out, grad_last)
CASES = [
    ("L1-all-options", dict(batch=2, dim=4, L=1, N=4), True, True),
    ("ragged-fixed-BC-plain", dict(batch=2, dim=4, L=13, N=4, B_form="fixed", C_form="fixed",
                                   with_z=False, with_bias=False, softplus=False,
                                   with_initial_state=False), True, False),
    ("variable-all-options", dict(batch=2, dim=6, L=13, N=5), True, True),
    ("grouped-G2", dict(batch=2, dim=4, L=10, N=4, B_form="grouped", C_form="grouped",
                        groups=2), True, True),
    ("grouped-G1", dict(batch=1, dim=8, L=9, N=4, B_form="grouped", C_form="grouped"),
     True, True),
    ("fixedB-groupedC-G2-no-h0", dict(batch=2, dim=8, L=9, N=8, B_form="fixed",
                                      C_form="grouped", groups=2, with_initial_state=False),
     True, False),
    ("variableB-fixedC-no-D", dict(batch=1, dim=4, L=6, N=4, C_form="fixed", with_D=False),
     True, True),
    ("groupedB-G2-variableC", dict(batch=2, dim=4, L=7, N=4, B_form="grouped", groups=2),
     True, True),
    ("plain", dict(batch=2, dim=4, L=16, N=4, with_D=False, with_z=False, with_bias=False,
                   softplus=False, with_initial_state=False), True, False),
    ("softplus-no-bias-no-h0", dict(batch=1, dim=4, L=12, N=4, with_bias=False,
                                    with_initial_state=False), True, True),
    ("bias-without-softplus", dict(batch=1, dim=2, L=5, N=4, softplus=False), True, True),
    ("only-last-state-grad", dict(batch=1, dim=4, L=7, N=4), False, True),
    ("odd-sizes", dict(batch=3, dim=12, L=17, N=33, B_form="grouped", C_form="fixed",
                       groups=3), True, True),
    # A row stride of 1 KiB makes the fused kernels copy tiles 8 channels at a time; 20
    # channels leave a partial block.
    ("row-stride-1KiB", dict(batch=1, dim=20, L=256, N=4, B_form="grouped", groups=2),
     True, True),
]


@pytest.mark.parametrize("path", PATH_PARAMS)
@pytest.mark.parametrize("kwargs, grad_out, grad_last", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_matches_reference(path, kwargs, grad_out, grad_last):
    check(path, make_case(**kwargs), grad_out=grad_out, grad_last=grad_last)


@pytest.mark.parametrize("path", PATH_PARAMS)
def test_default_chunk_through_the_interface(path):
    # L spans several default-sized chunks (64 torch, 16 numba) with a ragged end.
    fn = functools.partial(selective_scan, backend=path)
    check(path, make_case(1, 4, 150, 4, B_form="grouped", C_form="grouped", groups=2,
                          seed=1), fn=fn)


@pytest.mark.parametrize("path", PATH_PARAMS)
def test_non_contiguous_inputs(path):
    # Mamba layers hand over transposed views: u and z from (batch, L, dim), B and C from
    # (batch, L, N).
    case = make_case(2, 4, 7, 4, seed=2)
    for name in ("u", "delta", "z", "B", "C"):
        case[name] = case[name].transpose(-1, -2).contiguous().transpose(-1, -2)
        assert not case[name].is_contiguous()
    check(path, case)


# --------------------------------------------------------------------------------------
# gradcheck in float64
# --------------------------------------------------------------------------------------
GRADCHECK_FNS = {
    "reference": selective_scan_ref,
    "torch": PATHS["torch"],
    "numba": PATHS["numba"],
}


@pytest.mark.parametrize("name", ["reference", "torch",
                                  pytest.param("numba", marks=needs_numba)])
@pytest.mark.parametrize("forms", [("grouped", "grouped", 2), ("fixed", "variable", 1)],
                         ids=["grouped-G2", "fixedB-variableC"])
def test_gradcheck_float64(name, forms):
    B_form, C_form, groups = forms
    case = make_case(2, 4, 6, 3, B_form=B_form, C_form=C_form, groups=groups,
                     dtype=torch.float64, seed=3)
    names = [n for n in ("u", "delta", "A", "B", "C", "D", "z", "delta_bias",
                         "initial_state")]
    inputs = [case[n].detach().double().requires_grad_() for n in names]
    fn = GRADCHECK_FNS[name]

    def f(*xs):
        kw = dict(zip(names, xs))
        return fn(kw.pop("u"), kw.pop("delta"), kw.pop("A"), kw.pop("B"), kw.pop("C"),
                  delta_softplus=True, return_last_state=True, **kw)

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


# --------------------------------------------------------------------------------------
# dtypes, extreme values, determinism
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATH_PARAMS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_half_precision_inputs(path, dtype):
    # The reference sees the same rounded inputs in float64; the state stays float32, so the
    # differences are the output's rounding to the input dtype.
    case = make_case(2, 4, 9, 4, dtype=dtype, seed=7)
    tol = dict(rtol=3e-3, atol=5e-3) if dtype == torch.float16 else dict(rtol=3e-2, atol=5e-2)
    out, last, grads = check(path, case, **tol)
    assert out.dtype == dtype and last.dtype == torch.float32


@pytest.mark.parametrize("path", PATH_PARAMS)
def test_float64_stays_float64(path):
    case = make_case(1, 4, 6, 4, dtype=torch.float64, seed=8)
    for name in ("A", "D", "delta_bias", "initial_state"):
        case[name] = case[name].double()
    out, last, _ = check(path, case, rtol=1e-10, atol=1e-12)
    assert out.dtype == last.dtype == torch.float64


@pytest.mark.parametrize("path", PATH_PARAMS)
def test_large_decay_is_finite_and_exact(path):
    # delta * A reaches -2000: exp underflows to 0 and must neither produce NaN (no division
    # by a decay, no positive exponent) nor break the chunk chaining.
    case = make_case(2, 4, 11, 4, delta_range=(0.0, 20.0), A_min=-100.0, softplus=False,
                     seed=3)
    out, last, grads = check(path, case)
    for t in (out, last, *grads.values()):
        assert torch.isfinite(t).all()


@pytest.mark.parametrize("path", PATH_PARAMS)
def test_softplus_tails(path):
    # Raw delta spans both tails: exp underflow (log1p precision) and the threshold 20.
    check(path, make_case(1, 4, 12, 4, delta_range=(-40.0, 30.0), softplus=True, seed=4))


@needs_numba
def test_float32_decay_accuracy():
    # u = 0, h0 = 1, N = 1, L = 1: the last state is exp(delta * A) alone, over the whole
    # range the kernels' own exp2 must cover, [-130, 0] nats and a bit of positive.
    from skmamba._kernels import _numba_kernels

    z = np.concatenate([-np.geomspace(1e-6, 130.0, 4000), [0.0, 1e-3, 0.5, 5.0]])
    dim = z.size
    dl = np.full((1, dim, 1), 0.5, np.float32)
    A = (2.0 * z).astype(np.float32).reshape(dim, 1)
    ones = np.ones((1, dim, 1), np.float32)
    _, _, h = _numba_kernels.fused_forward(np.zeros_like(dl), dl, A, ones.reshape(dim, 1),
                                           ones.reshape(dim, 1), ones.reshape(1, dim, 1))
    got = h.reshape(-1).astype(np.float64)
    want = np.exp(dl.reshape(-1).astype(np.float64) * A.reshape(-1).astype(np.float64))
    normal = want > 1.2e-38
    # A few ulp, plus the float32 rounding of the exponent delta * A itself, which any float32
    # exp (torch's included) inherits: relative error |delta * A| * 2^-24 per rounding.
    rel = np.abs(got - want)[normal] / want[normal]
    assert np.all(rel <= 3e-7 + 1.5e-7 * np.abs(np.log(want[normal])))
    assert np.all(got[~normal] <= 1.2e-38) and np.all(got >= 0)


@pytest.mark.parametrize("path", PATH_PARAMS)
def test_backward_is_deterministic(path):
    case = make_case(3, 8, 11, 4, B_form="grouped", C_form="variable", groups=2, seed=5)
    first = run_scan(PATHS[path], case, leaves(case))
    second = run_scan(PATHS[path], case, leaves(case))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    for name in first[2]:
        assert torch.equal(first[2][name], second[2][name]), name


@needs_numba
@pytest.mark.parametrize("forms", [("grouped", "grouped"), ("fixed", "fixed")])
def test_numba_threads_do_not_change_results(forms):
    # The batch is split over Python threads; each row is computed alone and partials are
    # summed in a fixed order, so the thread count cannot change a bit.
    case = make_case(5, 8, 11, 4, B_form=forms[0], C_form=forms[1], groups=2, seed=6)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run_scan(PATHS["numba"], case, leaves(case))
        torch.set_num_threads(2)
        two = run_scan(PATHS["numba"], case, leaves(case))
    finally:
        torch.set_num_threads(before)
    for a, b in zip((one[0], one[1], *one[2].values()), (two[0], two[1], *two[2].values())):
        assert torch.equal(a, b)


@needs_numba
def test_numba_block_and_chunk_sizes_agree():
    # Several channel blocks per group and an uneven chunking against the defaults.
    from skmamba._kernels import _numba_kernels

    rng = np.random.default_rng(0)
    batch, dim, L, N = 2, 10, 13, 3
    u = rng.standard_normal((batch, dim, L))
    dl = rng.uniform(0.05, 0.6, (batch, dim, L))
    A = -rng.uniform(0.5, 2.5, (dim, N))
    B = rng.standard_normal((batch, 2, N, L))
    C = rng.standard_normal((dim, N))
    h0 = rng.standard_normal((batch, dim, N))
    dy = rng.standard_normal((batch, dim, L))
    dlast = rng.standard_normal((batch, dim, N))
    results = []
    for chunk, block in ((16, 256), (5, 3), (1, 1)):
        y, ckpt, hlast = _numba_kernels.fused_forward(u, dl, A, B, C, h0, chunk=chunk,
                                                      block=block)
        grads = _numba_kernels.fused_backward(u, dl, A, B, C, ckpt, dy, dlast, chunk=chunk,
                                              block=block)
        results.append((y, hlast, *grads))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _args(case):
    return [case[n] for n in ("u", "delta", "A", "B", "C")]


@needs_numba
def test_numba_inference_skips_checkpoints_bit_identically():
    case = make_case(2, 4, 9, 4, seed=9)
    kw = dict(D=case["D"], z=case["z"], delta_bias=case["delta_bias"], delta_softplus=True)
    with torch.no_grad():
        numba_out = selective_scan_numba(*_args(case), **kw)
    assert numba_out.is_contiguous()
    # Inference skips the checkpoints; the output must not change by a bit.
    graph = selective_scan_numba(*(t.clone().requires_grad_() for t in _args(case)), **kw)
    assert torch.equal(graph.detach(), numba_out)
    torch.testing.assert_close(numba_out, selective_scan_ref(*_args(case), **kw), rtol=1e-5,
                               atol=1e-5)


@needs_numba
def test_numba_detects_in_place_changes():
    # The kernels keep the inputs (not copies) for backward; autograd must notice edits.
    case = make_case(1, 4, 5, 4, seed=10)
    u = case["u"].clone().requires_grad_()
    x = u * 1.0
    out = selective_scan_numba(x, *_args(case)[1:])
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
