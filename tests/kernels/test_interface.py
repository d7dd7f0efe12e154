"""Backend names, backend selection (argument, context manager, default), dispatch, fallback,
argument checks, lazy imports and the docstring examples of :mod:`skmamba._kernels`."""

import doctest
import functools
import importlib
import os
import subprocess
import sys
import threading
import warnings

import pytest
import torch
from conftest import make_case

import skmamba._kernels as kernels
from skmamba._kernels import (
    BACKENDS,
    get_scan_backend,
    interface,
    numba_available,
    numba_scan,
    resolve_backend,
    scan_backend,
    selective_scan,
    set_scan_backend,
)
from skmamba._kernels.reference import selective_scan_ref
from skmamba._kernels.torch_scan import selective_scan_torch

make_case = functools.partial(make_case, device="cpu")

NUMBA = numba_available(torch.float32)
needs_numba = pytest.mark.skipif(not NUMBA, reason="numba kernels unavailable")


@pytest.fixture(autouse=True)
def _restore_default_backend(monkeypatch):
    # Every test starts from, and restores, the process default "auto".
    monkeypatch.setattr(interface, "_DEFAULT_BACKEND", "auto")


def _args(case):
    return [case[n] for n in ("u", "delta", "A", "B", "C")]


def _kw(case):
    return dict(D=case["D"], z=case["z"], delta_bias=case["delta_bias"], delta_softplus=True,
                initial_state=case["initial_state"])


def _spy(monkeypatch, name):
    """Replace ``interface.<name>`` by a wrapper that counts its calls."""
    calls = []
    original = getattr(interface, name)

    def wrapper(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(interface, name, wrapper)
    return calls


# --------------------------------------------------------------------------------------
# Names and dispatch
# --------------------------------------------------------------------------------------
def test_backend_names():
    assert BACKENDS == ("auto", "reference", "torch", "numba", "triton")
    assert get_scan_backend() == "auto"


@pytest.mark.parametrize("backend", ["auto", "reference", "torch",
                                     pytest.param("numba", marks=needs_numba)])
def test_every_cpu_backend_matches_the_reference(backend):
    case = make_case(2, 4, 9, 4, B_form="grouped", C_form="fixed", groups=2, seed=1)
    out, last = selective_scan(*_args(case), **_kw(case), return_last_state=True,
                               backend=backend)
    ref_out, ref_last = selective_scan_ref(*_args(case), **_kw(case), return_last_state=True)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(last, ref_last, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend, function", [
    ("reference", "selective_scan_ref"),
    ("torch", "selective_scan_torch"),
    pytest.param("numba", "selective_scan_numba", marks=needs_numba),
])
def test_dispatch_runs_the_named_implementation(monkeypatch, backend, function):
    if function == "selective_scan_numba":
        calls = []
        original = numba_scan.selective_scan_numba
        monkeypatch.setattr(numba_scan, "selective_scan_numba",
                            lambda *a, **k: calls.append(function) or original(*a, **k))
    else:
        calls = _spy(monkeypatch, function)
    case = make_case(1, 4, 5, 4, seed=2)
    selective_scan(*_args(case), backend=backend)
    assert calls == [function]


@needs_numba
def test_auto_on_cpu_resolves_to_numba():
    assert resolve_backend("auto", "cpu") == "numba"
    assert resolve_backend() == "numba"
    case = make_case(2, 4, 9, 4, seed=9)
    with torch.no_grad():
        auto = selective_scan(*_args(case), **_kw(case))
        numba = selective_scan(*_args(case), **_kw(case), backend="numba")
    assert torch.equal(auto, numba)


@pytest.mark.parametrize("triton_ok", [True, False])
def test_auto_off_the_cpu_is_triton_or_torch_never_the_reference(monkeypatch, triton_ok):
    monkeypatch.setattr(interface, "triton_available", lambda device=None: triton_ok)
    assert resolve_backend("auto", "cuda") == ("triton" if triton_ok else "torch")
    assert resolve_backend("auto", "meta") == "torch"
    # The explicit names resolve to themselves on any device.
    assert resolve_backend("reference", "cuda") == "reference"
    assert resolve_backend("torch", "cuda") == "torch"


def test_torch_backend_runs_on_other_devices():
    # The meta device stands in for a non-CPU device without CUDA: "auto" runs torch there.
    case = make_case(1, 4, 5, 4, seed=3)
    meta = [t.to("meta") for t in _args(case)]
    out = selective_scan(*meta, delta_softplus=True)
    assert out.device.type == "meta" and out.shape == (1, 4, 5)


# --------------------------------------------------------------------------------------
# Deprecated "chunked"
# --------------------------------------------------------------------------------------
@needs_numba
def test_chunked_warns_and_equals_numba():
    case = make_case(2, 4, 9, 4, seed=4)
    with torch.no_grad():
        want = selective_scan(*_args(case), **_kw(case), backend="numba")
        with pytest.warns(FutureWarning, match='deprecated.*use "numba"'):
            got = selective_scan(*_args(case), **_kw(case), backend="chunked")
    assert torch.equal(got, want)


def test_chunked_as_a_setting_warns_once_when_set(monkeypatch):
    with pytest.warns(FutureWarning, match="'chunked' is deprecated"):
        with scan_backend("chunked"):
            assert get_scan_backend() == "chunked"
            with warnings.catch_warnings():
                warnings.simplefilter("error", FutureWarning)  # no further warning per call
                assert resolve_backend() == ("numba" if NUMBA else "torch")
    with pytest.warns(FutureWarning, match="'chunked' is deprecated"):
        set_scan_backend("chunked")
    # As before: "chunked" never picked Triton.
    monkeypatch.setattr(interface, "triton_available", lambda device=None: True)
    with pytest.warns(FutureWarning):
        assert resolve_backend("chunked", "cuda") == "torch"


# --------------------------------------------------------------------------------------
# Context manager and process default
# --------------------------------------------------------------------------------------
def test_context_manager_sets_and_restores_nested(monkeypatch):
    ref_calls = _spy(monkeypatch, "selective_scan_ref")
    torch_calls = _spy(monkeypatch, "selective_scan_torch")
    case = make_case(1, 4, 5, 4, seed=5)
    assert get_scan_backend() == "auto"
    with scan_backend("reference") as name:
        assert name == "reference" and get_scan_backend() == "reference"
        selective_scan(*_args(case))
        with scan_backend("torch"):
            assert get_scan_backend() == "torch"
            selective_scan(*_args(case))
            # An explicit argument wins over the setting.
            selective_scan(*_args(case), backend="reference")
        assert get_scan_backend() == "reference"
    assert get_scan_backend() == "auto"
    assert ref_calls == ["selective_scan_ref"] * 2 and torch_calls == ["selective_scan_torch"]


def test_context_manager_restores_after_an_exception():
    with pytest.raises(KeyError):
        with scan_backend("torch"):
            raise KeyError("boom")
    assert get_scan_backend() == "auto"


def test_layers_follow_the_context_manager(monkeypatch):
    from skmamba._nn.layers import Mamba, MambaExpert

    calls = _spy(monkeypatch, "selective_scan_ref")
    torch.manual_seed(0)
    m, expert = Mamba(8, d_state=4), MambaExpert(8, d_state=4)
    x = torch.randn(2, 5, 8)
    with scan_backend("reference"):
        ref = m(x)
        expert(x)
    assert calls == ["selective_scan_ref"] * 2
    with scan_backend("torch"):
        torch.testing.assert_close(m(x), ref, rtol=1e-5, atol=1e-6)


def test_set_scan_backend_is_the_default_of_every_thread():
    seen = {}

    def record(key):
        seen[key] = get_scan_backend()

    previous = set_scan_backend("torch")
    assert previous == "auto" and get_scan_backend() == "torch"
    with scan_backend("reference"):  # the block overrides the default, in this thread only
        assert get_scan_backend() == "reference"
        worker = threading.Thread(target=record, args=("thread",))
        worker.start()
        worker.join()
    assert seen["thread"] == "torch"
    assert get_scan_backend() == "torch"
    assert set_scan_backend(previous) == "torch" and get_scan_backend() == "auto"


def test_context_manager_is_local_to_its_thread():
    # Two threads hold different blocks at once; each sees only its own.
    barrier = threading.Barrier(2)
    seen = {}

    def run(name):
        with scan_backend(name):
            barrier.wait()
            seen[name] = get_scan_backend()
            barrier.wait()

    threads = [threading.Thread(target=run, args=(n,)) for n in ("reference", "torch")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"reference": "reference", "torch": "torch"}
    assert get_scan_backend() == "auto"


# --------------------------------------------------------------------------------------
# Errors and fallback
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["cuda", "Numba", "", None, 3, ["torch"]])
def test_unknown_backend_is_rejected_everywhere(bad):
    case = make_case(1, 4, 5, 4, seed=14)
    if bad is not None:  # None is "use the current setting" for selective_scan
        with pytest.raises(ValueError, match="backend must be one of"):
            selective_scan(*_args(case), backend=bad)
        with pytest.raises(ValueError, match="backend must be one of"):
            resolve_backend(bad)
    with pytest.raises(ValueError, match="backend must be one of"):
        with scan_backend(bad):
            pass
    with pytest.raises(ValueError, match="backend must be one of"):
        set_scan_backend(bad)
    assert get_scan_backend() == "auto"


def test_numba_on_tensors_off_the_cpu_is_an_error():
    with pytest.raises(RuntimeError, match="backend='numba' runs CPU tensors only"):
        resolve_backend("numba", "cuda")
    case = make_case(1, 4, 5, 4, seed=15)
    with pytest.raises(RuntimeError, match="CPU tensors only"):
        selective_scan(*(t.to("meta") for t in _args(case)), backend="numba")


def test_unavailable_triton_is_an_error(monkeypatch):
    case = make_case(1, 4, 5, 4, seed=16)
    # Without the interpreter switch, Triton cannot run CPU tensors.
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert not kernels.triton_available("cpu") and not kernels.triton_available()
    with pytest.raises(RuntimeError, match="backend='triton' needs"):
        selective_scan(*_args(case), backend="triton")
    with pytest.raises(RuntimeError, match="backend='triton' needs"):
        with scan_backend("triton"):
            selective_scan(*_args(case))


def test_numba_failure_falls_back_to_torch(monkeypatch):
    def broken():
        raise ImportError("no numba here")

    monkeypatch.setattr(numba_scan, "_kernels", broken)
    monkeypatch.setattr(numba_scan, "_STATUS", {})
    monkeypatch.setattr(numba_scan, "_WARNED", set())
    case = make_case(1, 4, 6, 4, seed=11)
    assert not numba_available()
    # Explicitly asking for numba names the reason and the way out.
    with pytest.raises(RuntimeError, match="backend='numba' is unavailable.*no numba here"):
        selective_scan(*_args(case), backend="numba", delta_softplus=True)
    # "auto" falls back to torch, reporting it once.
    with pytest.warns(RuntimeWarning, match="numba selective-scan kernels are unavailable"):
        got = selective_scan(*_args(case), delta_softplus=True)
    want = selective_scan_torch(*_args(case), delta_softplus=True)
    assert torch.equal(got, want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_backend("auto") == "torch"
    with pytest.raises(RuntimeError, match="unavailable"):
        numba_scan.selective_scan_numba(*_args(case))


def _run_python(code, env=None):
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_package_works_without_numba():
    _run_python(
        "import sys, warnings; sys.modules['numba'] = None\n"
        "import torch\n"
        "from skmamba._kernels import resolve_backend, selective_scan\n"
        "u = torch.randn(1, 2, 5)\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    y = selective_scan(u, u.abs(), -torch.ones(2, 3), torch.randn(1, 3, 5),\n"
        "                       torch.randn(1, 3, 5))\n"
        "assert y.shape == (1, 2, 5) and torch.isfinite(y).all()\n"
        "assert any('unavailable' in str(x.message) for x in w)\n"
        "assert resolve_backend('auto') == 'torch'\n"
        "try:\n"
        "    resolve_backend('numba')\n"
        "except RuntimeError as exc:\n"
        "    assert 'unavailable' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('numba without numba')\n"
    )


def test_import_skmamba_imports_neither_numba_nor_triton():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = _run_python(
        "import sys, skmamba, skmamba._kernels as k, skmamba._nn.layers\n"
        "assert not k.triton_available('cpu')\n"
        "print('numba' in sys.modules, 'triton' in sys.modules)\n",
        env,
    )
    assert out.split() == ["False", "False"]


# --------------------------------------------------------------------------------------
# Docstring examples
# --------------------------------------------------------------------------------------
_DOC_MODULES = [
    "skmamba._kernels",
    "skmamba._kernels.interface",
    "skmamba._kernels._common",
    "skmamba._kernels.reference",
    "skmamba._kernels.torch_scan",
    "skmamba._kernels.numba_scan",
    "skmamba._nn.layers.mamba",
    "skmamba._nn.layers.moe",
]
# Importing the Triton module compiles its kernels for the current mode, so only do it where
# the Triton tests would run them the same way (a GPU, or the interpreter switched on).
_TRITON_DOCS = os.environ.get("TRITON_INTERPRET") == "1" or torch.cuda.is_available()


@pytest.mark.parametrize("module", _DOC_MODULES + [pytest.param(
    "skmamba._kernels.triton_scan",
    marks=pytest.mark.skipif(not _TRITON_DOCS, reason="needs CUDA or TRITON_INTERPRET=1"),
)])
def test_docstring_examples(module):
    if module.endswith("triton_scan"):
        pytest.importorskip("triton")
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
