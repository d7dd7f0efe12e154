"""Triton selective scan against the sequential reference.

Without CUDA the kernels run in Triton's CPU interpreter (``TRITON_INTERPRET=1``), which is
slow (~0.1 ms per scanned element), so the interpreter grid uses tiny shapes chosen to cover
every feature: ragged and single-step L, several chunks, padded N and dim, fixed, variable,
grouped and mixed B/C, optional D, z, delta_bias, softplus, initial_state, gradients through
last_state, extreme decay, determinism and every input dtype. The ``gpu`` tests repeat the
comparisons at real shapes and only run on a CUDA device.
"""

import contextlib
import os
import subprocess
import sys

import pytest
import torch

_CUDA = torch.cuda.is_available()
if not _CUDA:
    # Must precede the first import of triton: @triton.jit reads it at decoration time.
    os.environ.setdefault("TRITON_INTERPRET", "1")

triton = pytest.importorskip("triton")

from conftest import (  # noqa: E402  (tests/kernels/conftest.py: shared scan test inputs)
    assert_close as _assert_close, leaves as _leaves, make_case, run_scan as _run,
)
from skmamba._kernels import resolve_backend, scan_backend, selective_scan  # noqa: E402
from skmamba._kernels import _triton_kernels as _k  # noqa: E402
from skmamba._kernels.reference import selective_scan_ref  # noqa: E402
from skmamba._kernels.triton_scan import pick_config, selective_scan_triton  # noqa: E402

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"
DEVICE = "cpu" if INTERPRET else "cuda"

_INTERPRETED = isinstance(_k._fwd_kernel, triton.runtime.interpreter.InterpretedFunction)
if DEVICE == "cpu" and not _INTERPRETED:
    pytest.skip(
        "the Triton kernels were compiled before TRITON_INTERPRET=1 was set; run this "
        "module with TRITON_INTERPRET=1 exported",
        allow_module_level=True,
    )


# --------------------------------------------------------------------------------------
# Interpreter speed-up
# --------------------------------------------------------------------------------------
def _vector_scan(self, inputs):
    """The interpreter's sequential scan, vectorised over the non-scanned axes.

    The interpreter evaluates a custom-combine ``associative_scan`` one element at a time
    in Python. For the kernels' linear-recurrence combine this replacement performs the
    same float32 operations in the same order, one numpy call per step, so results are
    bit-identical (``test_vector_scan_is_bit_identical`` checks it) at ~50x the speed.
    Every other combine function goes to the original implementation.
    """
    import numpy as np

    if self.combine_fn is not _k._combine:
        return _ORIGINAL_SCAN(self, inputs)
    a = np.moveaxis(inputs[0].handle.data, self.axis, 0)
    b = np.moveaxis(inputs[1].handle.data, self.axis, 0)
    ca, cb = np.empty_like(a), np.empty_like(b)
    ca[0], cb[0] = a[0], b[0]
    for t in range(1, a.shape[0]):
        ca[t] = ca[t - 1] * a[t]
        cb[t] = cb[t - 1] * a[t] + b[t]
    return [
        self.to_tensor(np.ascontiguousarray(np.moveaxis(out, 0, self.axis)), inp.dtype)
        for out, inp in zip((ca, cb), inputs)
    ]


if INTERPRET:
    from triton.runtime import interpreter as _interp

    _ORIGINAL_SCAN = _interp.ScanOps.generic_scan


@contextlib.contextmanager
def _fast_scan(enabled=True):
    if not INTERPRET or not enabled:
        yield
        return
    _interp.ScanOps.generic_scan = _vector_scan
    try:
        yield
    finally:
        _interp.ScanOps.generic_scan = _ORIGINAL_SCAN


@pytest.fixture(autouse=True, scope="module")
def _vectorised_interpreter_scan():
    with _fast_scan():
        yield


# --------------------------------------------------------------------------------------
# Inputs and comparison
# --------------------------------------------------------------------------------------
def check_against_reference(case, config=None, *, rtol=1e-4, atol=2e-5, grad_out=True,
                            grad_last=True):
    """Compare output, last state and every gradient with the float64 reference.

    The reference sees the kernel's inputs (already rounded to their dtype) in float64, so
    the only differences are the kernel's float32 arithmetic and its output rounding.
    """
    out, last, grads = _run(selective_scan_triton, case, _leaves(case), grad_out=grad_out,
                            grad_last=grad_last, config=config)
    ref_leaves = _leaves(case, torch.float64)
    ref_out, ref_last, ref_grads = _run(selective_scan_ref, case, ref_leaves,
                                        grad_out=grad_out, grad_last=grad_last)
    assert out.dtype == case["u"].dtype and out.device == case["u"].device
    assert last.dtype == (torch.float64 if case["u"].dtype == torch.float64 else torch.float32)
    _assert_close("out", out, ref_out, rtol, atol)
    _assert_close("last_state", last, ref_last, rtol, atol)
    for name, g in grads.items():
        assert g.dtype == case[name].dtype, name
        _assert_close(f"d{name}", g, ref_grads[name], rtol, atol)
    return out, last, grads


# --------------------------------------------------------------------------------------
# Interpreter-sized grid (also runs on CUDA when present and not interpreting)
# --------------------------------------------------------------------------------------
# (id, make_case kwargs, config override, grad_out, grad_last)
CASES = [
    ("L1-all-options", dict(batch=2, dim=4, L=1, N=4), None, True, True),
    ("ragged-fixed-BC", dict(batch=2, dim=4, L=13, N=4, B_form="fixed", C_form="fixed",
                             with_z=False, with_bias=False, softplus=False,
                             with_initial_state=False), dict(block_l=4), True, True),
    ("grouped-G2", dict(batch=2, dim=4, L=10, N=4, B_form="grouped", C_form="grouped",
                        groups=2), dict(block_l=4, block_d=2, block_d_bwd=1), True, True),
    ("grouped-G1-default-config", dict(batch=1, dim=8, L=20, N=4, B_form="grouped",
                                       C_form="grouped", groups=1), None, True, True),
    ("mixed-fixedB-groupedC", dict(batch=2, dim=8, L=9, N=8, B_form="fixed",
                                   C_form="grouped", groups=2, with_initial_state=False),
     dict(block_l=4, block_d=4, block_d_bwd=2), True, False),
    ("mixed-variableB-fixedC", dict(batch=1, dim=4, L=6, N=4, C_form="fixed", with_D=False),
     dict(block_l=4), True, True),
    ("padded-N-and-dim", dict(batch=1, dim=6, L=7, N=5, B_form="fixed", C_form="fixed"),
     dict(block_l=4, block_d=4, block_d_bwd=4), True, True),
    ("padded-N-variable", dict(batch=2, dim=2, L=5, N=3), dict(block_l=2), True, True),
    ("plain", dict(batch=2, dim=4, L=16, N=4, with_D=False, with_z=False, with_bias=False,
                   softplus=False, with_initial_state=False), dict(block_l=8), True, False),
    ("softplus-no-bias-no-h0", dict(batch=1, dim=4, L=12, N=4, with_bias=False,
                                    with_initial_state=False), dict(block_l=4), True, True),
    ("bias-without-softplus", dict(batch=1, dim=2, L=5, N=4, softplus=False),
     dict(block_l=4), True, True),
    ("only-last-state-grad", dict(batch=1, dim=4, L=7, N=4), dict(block_l=4), False, True),
    ("N256", dict(batch=1, dim=2, L=3, N=256), None, True, True),
    ("groupedB-G2-variableC", dict(batch=2, dim=4, L=6, N=4, B_form="grouped", groups=2),
     dict(block_l=4, block_d=2, block_d_bwd=2), True, True),
    ("medium-default-config", dict(batch=2, dim=16, L=40, N=16, B_form="grouped",
                                   C_form="grouped", groups=2), None, True, True),
]


@pytest.mark.parametrize("kwargs, config, grad_out, grad_last",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_reference(kwargs, config, grad_out, grad_last):
    check_against_reference(make_case(**kwargs), config, grad_out=grad_out,
                            grad_last=grad_last)


def test_non_contiguous_inputs():
    # Mamba layers hand over transposed views: u and z from (batch, L, dim), B and C
    # from (batch, L, N).
    case = make_case(2, 4, 7, 4, seed=2)
    for name in ("u", "delta", "z", "B", "C"):
        case[name] = case[name].transpose(-1, -2).contiguous().transpose(-1, -2)
        assert not case[name].is_contiguous()
    check_against_reference(case, dict(block_l=4))


def test_large_decay_is_finite_and_exact():
    # delta * A reaches -2000: exp underflows to 0 and must neither produce NaN (no
    # division by a, no log-space cumsum) nor break the chunk chaining.
    case = make_case(2, 4, 11, 4, delta_range=(0.0, 20.0), A_min=-100.0, softplus=False,
                     seed=3)
    out, last, grads = check_against_reference(case, dict(block_l=4))
    for t in (out, last, *grads.values()):
        assert torch.isfinite(t).all()


def test_softplus_tails():
    # Raw delta spans both tails: exp underflow (log1p precision) and the threshold 20.
    case = make_case(1, 4, 12, 4, delta_range=(-40.0, 30.0), softplus=True, seed=4)
    check_against_reference(case, dict(block_l=4))


def test_backward_is_deterministic():
    case = make_case(3, 8, 11, 4, B_form="grouped", C_form="variable", groups=2, seed=5)
    cfg = dict(block_l=4, block_d=2, block_d_bwd=1)
    first = _run(selective_scan_triton, case, _leaves(case), config=cfg)
    second = _run(selective_scan_triton, case, _leaves(case), config=cfg)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    for name in first[2]:
        assert torch.equal(first[2][name], second[2][name]), name


def test_block_sizes_do_not_change_results():
    # Different chunkings of one problem agree to rounding, and padded N never leaks.
    case = make_case(1, 4, 9, 4, B_form="grouped", C_form="grouped", groups=2, seed=6)
    base = _run(selective_scan_triton, case, _leaves(case), config=dict(block_l=2))
    other = _run(selective_scan_triton, case, _leaves(case),
                 config=dict(block_l=16, block_d=2, block_d_bwd=2, block_n=8))
    for a, b in zip((base[0], base[1], *base[2].values()), (other[0], other[1],
                                                            *other[2].values())):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs(dtype):
    # The reference sees the same rounded inputs; differences are the output rounding.
    case = make_case(2, 4, 9, 4, dtype=dtype, seed=7)
    tol = dict(rtol=3e-3, atol=5e-3) if dtype == torch.float16 else dict(rtol=3e-2, atol=5e-2)
    check_against_reference(case, dict(block_l=4), **tol)


def test_float64_is_computed_in_float32():
    case = make_case(1, 4, 6, 4, dtype=torch.float64, seed=8)
    for name in ("A", "D", "delta_bias", "initial_state"):
        case[name] = case[name].double()
    out, last, grads = check_against_reference(case, dict(block_l=4), rtol=1e-4, atol=2e-5)
    assert out.dtype == last.dtype == torch.float64


def test_dispatch_through_interface():
    case = make_case(1, 4, 5, 4, seed=9)
    args = [case[n] for n in ("u", "delta", "A", "B", "C")]
    kw = dict(D=case["D"], z=case["z"], delta_bias=case["delta_bias"], delta_softplus=True)
    got = selective_scan(*args, backend="triton", **kw)
    want = selective_scan_ref(*args, **kw)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    with scan_backend("triton"):
        assert resolve_backend(device=DEVICE) == "triton"
        assert torch.equal(selective_scan(*args, **kw), got)
    # "auto" takes Triton on CUDA only; CPU tensors (the interpreter) go to numba or torch.
    assert (resolve_backend("auto", DEVICE) == "triton") == (DEVICE == "cuda")


def test_bad_config_is_rejected():
    case = make_case(1, 4, 5, 4, B_form="grouped", C_form="grouped", groups=2)
    args = [case[n] for n in ("u", "delta", "A", "B", "C")]
    with pytest.raises(ValueError, match="must divide"):
        selective_scan_triton(*args, config=dict(block_d=4))
    with pytest.raises(ValueError, match="power of two"):
        selective_scan_triton(*args, config=dict(block_l=3))


@pytest.mark.parametrize("dim, N, L, d_align", [(4, 4, 1, None), (256, 16, 2048, 256),
                                                (96, 256, 336, 48), (100, 64, 96, 50),
                                                (8, 5, 13, None)])
def test_pick_config(dim, N, L, d_align):
    for interpret in (False, True):
        cfg = pick_config(dim, N, L, d_align, interpret=interpret)
        assert cfg["block_n"] >= N
        for key in ("block_l", "block_n", "block_d", "block_d_bwd"):
            assert cfg[key] & (cfg[key] - 1) == 0, key
        if d_align is not None:
            assert d_align % cfg["block_d"] == 0 and d_align % cfg["block_d_bwd"] == 0
        tile = cfg["block_n"] * cfg["block_l"]
        assert cfg["block_d"] == 1 or cfg["block_d"] * tile <= 4096
        assert cfg["block_d_bwd"] == 1 or cfg["block_d_bwd"] * tile <= 4096
        assert cfg["block_d_bwd"] <= cfg["block_d"]
        if interpret:
            assert cfg["block_l"] <= 16


@pytest.mark.skipif(not INTERPRET, reason="checks the interpreter-only test speed-up")
def test_vector_scan_is_bit_identical():
    case = make_case(2, 2, 6, 2, B_form="grouped", C_form="fixed", groups=2, seed=10)
    cfg = dict(block_l=4, block_d=1, block_d_bwd=1)
    fast = _run(selective_scan_triton, case, _leaves(case), config=cfg)
    _interp.ScanOps.generic_scan = _ORIGINAL_SCAN
    try:
        slow = _run(selective_scan_triton, case, _leaves(case), config=cfg)
    finally:
        _interp.ScanOps.generic_scan = _vector_scan
    for a, b in zip((fast[0], fast[1], *fast[2].values()), (slow[0], slow[1],
                                                          *slow[2].values())):
        assert torch.equal(a, b)


_COMPILE_SCRIPT = r"""
import os, re, shutil, subprocess, sys, tempfile
try:
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
except ImportError as exc:
    print("SKIP", exc); sys.exit(0)
from skmamba._kernels import _triton_kernels as k
from skmamba._kernels.triton_scan import pick_config

LOW = ("U", "DT", "Z", "OUT", "DU", "DDT", "DZ", "DOUT")
SCALARS = ("batch", "dim", "L", "N", "nchunks", "G_B", "d_per_gB", "G_C", "d_per_gC")
def compile_one(fn, consts, num_warps, dtype):
    sig = {}
    for name in fn.arg_names:
        if name in consts:
            sig[name] = "constexpr"
        elif name in SCALARS:
            sig[name] = "i32"
        else:
            sig[name] = ("*" + dtype) if name in LOW else "*fp32"
    src = ASTSource(fn=fn, signature=sig,
                    constexprs={(fn.arg_names.index(c),): v for c, v in consts.items()})
    return triton.compile(src, target=GPUTarget("cuda", 90, 32),
                          options=dict(num_warps=num_warps))

tool = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
on = dict(HAS_D=True, HAS_Z=True, HAS_BIAS=True, SOFTPLUS=True, HAS_H0=True, B_VAR=True,
          C_VAR=True)
off = {key: False for key in on}
for N, flags, dtype in ((16, on, "bf16"), (256, off, "fp32")):
    cfg = pick_config(256, N, 2048, 256, interpret=False)
    for fn, extra, bd, nw in ((k._fwd_kernel, {}, cfg["block_d"], cfg["num_warps"]),
                              (k._bwd_kernel, dict(HAS_DLAST=True), cfg["block_d_bwd"],
                               cfg["num_warps_bwd"])):
        consts = dict(flags, **extra, BLOCK_D=bd, BLOCK_N=cfg["block_n"],
                      BLOCK_L=cfg["block_l"])
        cc = compile_one(fn, consts, nw, dtype)
        assert cc.asm["cubin"], "no cubin"
        if os.path.exists(tool):
            with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as f:
                f.write(cc.asm["cubin"])
            out = subprocess.run([tool, "-res-usage", f.name], capture_output=True,
                                 text=True).stdout
            os.unlink(f.name)
            regs, stack = re.search(r"REG:(\d+) STACK:(\d+)", out).groups()
            print(fn.__name__, N, dtype, "registers", regs, "stack", stack)
            assert int(stack) == 0, f"register spills in {fn.__name__} (N={N})"
print("OK")
"""


def test_kernels_compile_for_sm90_without_spills():
    # The interpreter does not run Triton's compiler, so it cannot catch code that only the
    # compiler rejects (non-constexpr globals, type mismatches in loops). Compiling for
    # sm_90 needs no GPU; ptxas's resource report also checks the block-size table.
    env = {key: v for key, v in os.environ.items() if key != "TRITON_INTERPRET"}
    env.update(OMP_NUM_THREADS="1", TRITON_DEFAULT_FP_FUSION="1")
    res = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT], capture_output=True,
                         text=True, env=env, timeout=300)
    if res.stdout.startswith("SKIP"):
        pytest.skip(res.stdout.strip())
    assert res.returncode == 0 and res.stdout.strip().endswith("OK"), res.stderr[-3000:]


def test_package_imports_without_triton():
    code = (
        "import sys; sys.modules['triton'] = None\n"
        "import skmamba, skmamba._kernels as k\n"
        "assert 'skmamba._kernels.triton_scan' not in sys.modules\n"
        "assert not k.triton_available()\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr


# --------------------------------------------------------------------------------------
# Real shapes, CUDA only
# --------------------------------------------------------------------------------------
_GPU = pytest.mark.skipif(not _CUDA or INTERPRET,
                          reason="needs a CUDA device with TRITON_INTERPRET unset")
# mamba-ssm's tolerances (tests/ops/test_selective_scan.py); fp16 as in its fp16 runs.
GPU_TOL = {
    torch.float32: dict(rtol=6e-4, atol=2e-3),
    torch.float16: dict(rtol=3e-3, atol=5e-3),
    torch.bfloat16: dict(rtol=3e-2, atol=5e-2),
}
GPU_SHAPES = [
    # (batch, dim, L, N, B_form, C_form, groups)
    (2, 64, 96, 16, "variable", "variable", 1),
    (4, 128, 336, 16, "grouped", "grouped", 2),
    (8, 256, 720, 16, "variable", "fixed", 1),
    (2, 64, 2048, 16, "fixed", "variable", 1),
]


@pytest.mark.gpu
@_GPU
@pytest.mark.parametrize("dtype", list(GPU_TOL), ids=["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("shape", GPU_SHAPES,
                         ids=lambda s: "x".join(map(str, s[:4])) + "-" + s[4][0] + s[5][0])
def test_gpu_matches_reference(shape, dtype):
    batch, dim, L, N, B_form, C_form, groups = shape
    case = make_case(batch, dim, L, N, B_form=B_form, C_form=C_form, groups=groups,
                     dtype=dtype, seed=11, device="cuda")
    check_against_reference(case, **GPU_TOL[dtype])


@pytest.mark.gpu
@_GPU
def test_gpu_large_n_and_decay():
    case = make_case(2, 32, 256, 256, delta_range=(0.0, 20.0), A_min=-100.0,
                     softplus=False, seed=12, device="cuda")
    check_against_reference(case, **GPU_TOL[torch.float32])


@pytest.mark.gpu
@_GPU
def test_gpu_deterministic_and_memory_light():
    batch, dim, L, N, groups = 8, 256, 2048, 16, 2
    case = make_case(batch, dim, L, N, B_form="grouped", C_form="grouped", groups=groups,
                     seed=13, device="cuda")
    row = batch * dim * L * 4  # one (batch, dim, L) fp32 tensor
    full = row * N  # one (batch, dim, L, N) fp32 tensor: 268 MB here

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    with torch.no_grad():
        selective_scan_triton(*(case[n] for n in ("u", "delta", "A", "B", "C")),
                              D=case["D"], z=case["z"], delta_bias=case["delta_bias"],
                              delta_softplus=True, initial_state=case["initial_state"])
    torch.cuda.synchronize()
    # Output, chunk-end states (N / BLOCK_L of a row) and nothing else.
    assert torch.cuda.max_memory_allocated() - base < 2 * row

    leaves = _leaves(case)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    first = _run(selective_scan_triton, case, leaves)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    # The largest backward buffers are the per-channel-block dB/dC partials, a fraction
    # 1/block_d_bwd of a full state tensor each; everything else is a few rows.
    assert peak < full, (peak, full)
    second = _run(selective_scan_triton, case, _leaves(case))
    for a, b in zip((first[0], first[1], *first[2].values()), (second[0], second[1],
                                                             *second[2].values())):
        assert torch.equal(a, b)
