"""Selective-scan benchmark: time and peak memory of every backend at Mamba-like shapes.

For each sequence length L the script measures, for each backend, the forward pass (under
``torch.no_grad``) and the forward + backward pass (gradients of every input), as the median
of several runs after a warm-up, and the peak memory of one run. The table gives each
backend's speed-up over the sequential reference and over mamba.py's parallel scan measured
in the same run.

Inputs follow a Mamba layer at initialisation: float32, ``delta_softplus`` with the standard
dt bias (inverse softplus of a log-uniform step in [1e-3, 0.1]), raw delta ~ N(0, 0.5^2),
``A = -[1..N]`` for every channel, variable B and C (batch, N, L), ``D`` on, no ``z`` (mamba.py
has no gate).

Backends (the names of ``skmamba._kernels.selective_scan(backend=...)``, plus mambapy):

- ``reference``: the sequential test oracle.
- ``torch``: the chunked scan on torch operations (the fallback when numba cannot be used).
- ``numba``: the same chunked scan on fused numba kernels (what ``"auto"`` runs on the CPU).
- ``mambapy``: ``mambapy.pscan.pscan`` applied to ``exp(delta A)`` and ``delta B u`` as
  mamba.py's ``selective_scan`` does, in its native (batch, L, dim) layout; skipped when
  mambapy is not installed.
- ``triton``: skmamba's Triton kernel (what ``"auto"`` runs on CUDA); only on a CUDA device.

CPU: every (backend, L, pass) runs in a fresh subprocess with ``torch.set_num_threads``
threads. Peak memory is the growth of the process's peak resident set size
(``resource.getrusage(...).ru_maxrss``) during the first full-size run, measured after the
inputs exist and after a small warm-up problem has loaded every kernel (numba's cache, torch's
operators), so it counts what the pass itself allocates. CUDA: timing by CUDA events, memory
by ``torch.cuda.max_memory_allocated`` beyond the inputs, and the achieved bandwidth of the
Triton kernel (the bytes it must move at least, over its time) against the device's measured
copy bandwidth.

Run ``python benchmarks/scan.py --help`` for the options; ``--quick`` is a tiny smoke run.
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("reference", "torch", "numba", "mambapy", "triton")
PASSES = ("fwd", "fwd+bwd")


# --------------------------------------------------------------------------------------
# Worker: one backend, one L, one pass, in its own process
# --------------------------------------------------------------------------------------
def _inputs(torch, batch, dim, L, N, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    dt = torch.exp(torch.rand(dim, generator=gen) * (math.log(0.1) - math.log(1e-3))
                   + math.log(1e-3))
    return dict(
        u=torch.randn(batch, dim, L, generator=gen),
        delta=0.5 * torch.randn(batch, dim, L, generator=gen),
        A=-torch.arange(1, N + 1, dtype=torch.float32).repeat(dim, 1),
        B=torch.randn(batch, N, L, generator=gen),
        C=torch.randn(batch, N, L, generator=gen),
        D=torch.ones(dim),
        delta_bias=dt + torch.log(-torch.expm1(-dt)),
    ), device


def _mambapy_fn(torch):
    import torch.nn.functional as F
    from mambapy.pscan import pscan

    def run(u, delta, A, B, C, D, delta_bias):
        # mamba.py's selective_scan, with the softplus and bias of its Mamba block.
        delta = F.softplus(delta + delta_bias)
        delta_a = torch.exp(delta.unsqueeze(-1) * A)
        bx = delta.unsqueeze(-1) * B.unsqueeze(2) * u.unsqueeze(-1)
        hs = pscan(delta_a, bx)
        return (hs @ C.unsqueeze(-1)).squeeze(3) + D * u

    return run


def _prepare(torch, backend, case, device, grad):
    """Leaf tensors in the backend's native layout and a closure running one pass."""
    if backend == "mambapy":
        fn = _mambapy_fn(torch)
        native = dict(case)
        # mamba.py works in (batch, L, dim) and (batch, L, N).
        for name in ("u", "delta", "B", "C"):
            native[name] = case[name].transpose(1, 2).contiguous()
        order = ("u", "delta", "A", "B", "C", "D", "delta_bias")
        leaves = {k: native[k].to(device).requires_grad_(grad) for k in order}

        def call():
            return fn(*(leaves[k] for k in order))
    else:
        from skmamba._kernels import BACKENDS as SCAN_BACKENDS
        from skmamba._kernels import selective_scan

        if backend not in SCAN_BACKENDS:
            raise ValueError(backend)
        leaves = {k: v.to(device).requires_grad_(grad) for k, v in case.items()}
        kw = dict(D=leaves["D"], delta_bias=leaves["delta_bias"], delta_softplus=True)
        args = [leaves[k] for k in ("u", "delta", "A", "B", "C")]

        def call():
            return selective_scan(*args, backend=backend, **kw)
    return leaves, call


def _one_pass(torch, call, leaves, grad, grad_out):
    if not grad:
        with torch.no_grad():
            call()
        return
    out = call()
    torch.autograd.backward(out, grad_out)
    for t in leaves.values():
        t.grad = None


def _rss_now_kb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _copy_bandwidth(torch):
    """Device-to-device copy bandwidth in GB/s (read + write) of a 1 GiB buffer."""
    x = torch.empty(1 << 28, device="cuda")
    y = torch.empty_like(x)
    for _ in range(3):
        y.copy_(x)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        y.copy_(x)
    end.record()
    torch.cuda.synchronize()
    return 2 * x.numel() * 4 * 10 / (start.elapsed_time(end) / 1e3) / 1e9


def _min_bytes(batch, dim, L, N, grad):
    """Bytes the scan must move at least: its inputs and outputs once, float32."""
    row, bc = batch * dim * L * 4, batch * N * L * 4
    fwd = 3 * row + 2 * bc  # u, delta in; y out; B, C in
    if not grad:
        return fwd
    # backward reads u, delta, B, C, dy and writes du, ddelta, dB, dC
    return fwd + 5 * row + 4 * bc - row


def worker(spec):
    """Measure one (backend, L, pass); returns a dict with times (s) and peak bytes."""
    import torch

    torch.set_num_threads(spec["threads"])
    cuda = spec["device"] == "cuda"
    grad = spec["pass"] == "fwd+bwd"
    backend = spec["backend"]
    batch, dim, L, N = spec["batch"], spec["dim"], spec["L"], spec["N"]

    # A small problem first, so the measured run neither compiles nor loads anything.
    small, _ = _inputs(torch, 2, 8, 8, N, spec["device"], seed=1)
    leaves, call = _prepare(torch, backend, small, spec["device"], grad)
    grad_out = call() if grad else None
    _one_pass(torch, call, leaves, grad, torch.ones_like(grad_out) if grad else None)

    case, device = _inputs(torch, batch, dim, L, N, spec["device"])
    leaves, call = _prepare(torch, backend, case, device, grad)
    grad_out = None
    if grad:
        gen = torch.Generator().manual_seed(2)
        shape = (batch, L, dim) if backend == "mambapy" else (batch, dim, L)
        grad_out = torch.randn(shape, generator=gen).to(device)

    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _one_pass(torch, call, leaves, grad, grad_out)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        before = _rss_now_kb()
        t0 = time.perf_counter()
        _one_pass(torch, call, leaves, grad, grad_out)
        first = time.perf_counter() - t0
        peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024

    repeats = spec["repeats"]
    if not cuda and first * repeats > spec["budget"]:
        # Slow backends (the reference at long L) get fewer runs; at least one.
        repeats = max(1, int(spec["budget"] // max(first, 1e-9)))
    times = []
    for _ in range(repeats):
        if cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            _one_pass(torch, call, leaves, grad, grad_out)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            _one_pass(torch, call, leaves, grad, grad_out)
            times.append(time.perf_counter() - t0)
    result = dict(spec, time=statistics.median(times), runs=len(times), peak=peak)
    if cuda and backend == "triton":
        result["bandwidth"] = _min_bytes(batch, dim, L, N, grad) / result["time"] / 1e9
        result["copy_bandwidth"] = _copy_bandwidth(torch)
    return result


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------
def _available(backend, device):
    if backend == "mambapy":
        try:
            import mambapy.pscan  # noqa: F401
        except ImportError:
            return False
        return True
    if backend == "triton":
        return device == "cuda"
    if backend == "numba":
        return device == "cpu"
    return True


def _run_worker(spec, timeout):
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]),
               MKL_NUM_THREADS=str(spec["threads"]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        res = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                             capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(spec, error=f"timed out after {timeout} s")
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["exit code %d" % res.returncode])[-1]
        if res.returncode < 0:
            tail = f"killed by signal {-res.returncode} (out of memory?)"
        return dict(spec, error=tail)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fmt_time(s):
    return f"{s * 1e3:.1f}" if s < 10 else f"{s * 1e3:.0f}"


def _table(results, passes, lengths, backends, device):
    lines = []
    for p in passes:
        lines.append(f"\n{p} ({device})\n")
        head = ["L", "backend", "time (ms)", "runs", "peak (MB)", "speed-up vs reference",
                "speed-up vs mambapy", "memory / reference"]
        if device == "cuda":
            head += ["GB/s (min. bytes)", "of copy GB/s"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
        for L in lengths:
            row = {r["backend"]: r for r in results if r["L"] == L and r["pass"] == p}
            ref, mpy = row.get("reference"), row.get("mambapy")
            for b in backends:
                r = row.get(b)
                if r is None:
                    continue
                if "error" in r:
                    cells = [str(L), b, "n/a: " + r["error"][:80]] + ["-"] * (len(head) - 3)
                    lines.append("| " + " | ".join(cells) + " |")
                    continue

                def ratio(other, key, inverse=False):
                    if other is None or "error" in other or not r[key] or not other[key]:
                        return "-"
                    v = other[key] / r[key] if not inverse else r[key] / other[key]
                    return f"{v:.2f}x" if not inverse else f"{v:.3f}"

                cells = [str(L), b, _fmt_time(r["time"]), str(r["runs"]),
                         f"{r['peak'] / 2**20:.0f}", ratio(ref, "time"), ratio(mpy, "time"),
                         ratio(ref, "peak", inverse=True)]
                if device == "cuda":
                    bw = r.get("bandwidth")
                    cells += [f"{bw:.0f}" if bw else "-",
                              f"{bw / r['copy_bandwidth']:.0%}" if bw else "-"]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--L", type=int, nargs="+", default=[96, 336, 720, 2048],
                        help="sequence lengths (default: 96 336 720 2048)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS,
                        help="backends to run (unavailable ones are skipped)")
    parser.add_argument("--passes", nargs="+", default=list(PASSES), choices=PASSES)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--N", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed runs after the warm-up; the median is reported")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds of timed runs per measurement on CPU; slow backends get "
                             "fewer repeats (at least one)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds before one measurement is abandoned")
    parser.add_argument("--skip", nargs="*", default=[], metavar="BACKEND:L",
                        help="measurements to leave out, e.g. reference:2048")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke run: batch 2, dim 16, L 32 and 50, 2 repeats")
    parser.add_argument("--out", type=Path, help="also write the tables as markdown here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    if args.quick:
        args.batch, args.dim, args.L, args.repeats = 2, 16, [32, 50], 2
    device = args.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    backends = [b for b in args.backends if _available(b, device)]
    skipped = [b for b in args.backends if b not in backends]
    header = (f"selective scan, batch {args.batch}, dim {args.dim}, N {args.N}, float32, "
              f"{device}, {args.threads} thread(s), median of up to {args.repeats} runs")
    print(header)
    if skipped:
        print("unavailable here:", ", ".join(skipped))
    results = []
    for L in args.L:
        for p in args.passes:
            for b in backends:
                if f"{b}:{L}" in args.skip:
                    continue
                spec = dict(backend=b, L=L, batch=args.batch, dim=args.dim, N=args.N,
                            threads=args.threads, repeats=args.repeats, budget=args.budget,
                            device=device, **{"pass": p})
                t0 = time.perf_counter()
                r = _run_worker(spec, args.timeout)
                results.append(r)
                msg = r.get("error") or (f"{r['time'] * 1e3:.1f} ms, "
                                         f"{r['peak'] / 2**20:.0f} MB, {r['runs']} runs")
                print(f"  L={L:5d} {p:8s} {b:14s} {msg}  [{time.perf_counter() - t0:.0f} s]",
                      flush=True)
    table = _table(results, args.passes, args.L, backends, device)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        skip_note = f"\nleft out: {', '.join(args.skip)}\n" if args.skip else ""
        args.out.write_text(f"{header}\n{skip_note}{table}\n")


if __name__ == "__main__":
    main()
