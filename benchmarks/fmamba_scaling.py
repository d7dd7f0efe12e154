"""FMamba's cost in the number of variables: fast (kernelised) against softmax attention.

FMamba makes every variable a token and mixes them with kernelised attention that computes
``K'^T V`` first (``skmamba._nn.layers.FastAttention``), so time and memory grow linearly in
the number of variables ``T``; softmax attention (``skmamba._nn.layers.MultiHeadSelfAttention``)
compares every pair of tokens, ``T**2`` work. This script measures one forward + backward pass
of

* the fast attention layer FMamba uses;
* the softmax attention layer as skmamba runs it (``scaled_dot_product_attention``; on the CPU
  PyTorch dispatches it to a fused kernel that never stores the ``T x T`` weights, so its
  memory stays linear and only its time is quadratic);
* the same softmax layer on PyTorch's "math" backend, which stores the ``T x T`` weights
  (what a plain ``softmax(Q K^T) V`` costs);
* the whole ``FMambaNet``, and the same network with softmax attention in place of the fast
  one,

at several numbers of variables, in one run, and prints the ratios (512/64 by default: 8x
for linear growth, 64x for quadratic growth once the quadratic term dominates).

Time: the fastest of ``--repeats`` timed passes after one warm-up pass (the least disturbed
by other work on the machine), on ``--threads`` threads. Memory: the peak of the bytes
PyTorch's allocator holds during one pass beyond what was held before it (inputs,
weights), counted from the allocation and free events of
``torch.profiler`` with ``profile_memory=True`` (checked at start-up against a known
allocation pattern); gradients are cleared before the pass, so they count. On CUDA
(``--device cuda``) the allocator's own peak statistics are used instead.

Usage::

    python benchmarks/fmamba_scaling.py --out benchmarks/results/fmamba_scaling.md

Defaults: token width 128, one head, batch 16, variables 64 ... 2048 for the layers;
``FMambaNet`` at its estimator defaults (d_model = d_ff = 256, 2 layers, d_state 16,
lookback 96, horizon 96) with 64, 256, 512 and 1024 variables.
"""

import argparse
import contextlib
import inspect
import math
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from skmamba._nn.layers import FastAttention, MultiHeadSelfAttention  # noqa: E402
from skmamba._nn.heads import PointOutput
from skmamba._nn.networks.fmamba import FMambaNet  # noqa: E402
from skmamba.estimators import FMambaForecaster  # noqa: E402

MIB = 2.0**20


# ---------------------------------------------------------------- measuring
def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2: the profiler's C++ side logs every start and stop there."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def _profiled_peak_bytes(fn):
    """Peak of (allocated - freed) bytes on the CPU during ``fn()``, from profiler events.

    Frees of blocks allocated before the profiler started are not reported by it, so they
    are not subtracted: the peak errs high, never low.
    """
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU],
                                  profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    current = peak = 0
    for e in events:
        current += e.nbytes()  # negative for a free
        peak = max(peak, current)
    return peak


def _check_profiler_accounting():
    """Refuse to report memory if the profiler misses a known allocation pattern."""

    def pattern():
        a = torch.empty(1 << 20)  # 4 MiB
        b = torch.empty(1 << 19)  # 2 MiB, live at the peak
        del a
        c = torch.empty(1 << 21)  # 8 MiB: peak 10 MiB
        del b, c

    got = _profiled_peak_bytes(pattern)
    if got != 10 * (1 << 20):
        raise RuntimeError(f"torch.profiler memory accounting is off: peak {got} bytes, "
                           f"expected {10 * (1 << 20)}")


def _peak_bytes(fn, device):
    if device.type == "cuda":
        _sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        fn()
        _sync(device)
        return torch.cuda.max_memory_allocated(device) - start
    return _profiled_peak_bytes(fn)


def measure(module, make_input, repeats, device, context=contextlib.nullcontext):
    """Best-of-``repeats`` seconds and peak bytes of one forward + backward pass."""
    x = make_input()
    params = list(module.parameters())

    def clear():
        x.grad = None
        for p in params:
            p.grad = None

    def step():
        with context():
            out = module(x)
            out = out[0] if isinstance(out, tuple) else out
            out.sum().backward()

    clear()
    step()  # warm-up
    times = []
    for _ in range(repeats):
        clear()
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    clear()
    peak = _peak_bytes(step, device)
    clear()
    return min(times), peak


# ---------------------------------------------------------------- what is measured
def layer_cases(d_model, heads):
    return [
        ("fast attention (FMamba)", lambda: FastAttention(d_model, heads),
         contextlib.nullcontext),
        ("softmax attention (SDPA, fused)", lambda: MultiHeadSelfAttention(d_model, heads),
         contextlib.nullcontext),
        ("softmax attention (SDPA math, T x T stored)",
         lambda: MultiHeadSelfAttention(d_model, heads),
         lambda: sdpa_kernel([SDPBackend.MATH])),
    ]


def fmamba_architecture(args):
    """FMambaForecaster's default architecture, with d_model = d_ff = ``--net-d-model``."""
    defaults = inspect.signature(FMambaForecaster).parameters
    shapes = ("seq_len", "pred_len", "n_channels", "n_mark", "n_exog", "output")
    arch = {name: defaults[name].default for name in inspect.signature(FMambaNet).parameters
            if name not in shapes}
    return {**arch, "d_model": args.net_d_model, "d_ff": args.net_d_model}


def fmamba_net(n_vars, args, softmax=False):
    net = FMambaNet(seq_len=args.seq_len, pred_len=args.pred_len, n_channels=n_vars, n_mark=0,
                    n_exog=0, output=PointOutput(), **fmamba_architecture(args))
    if softmax:
        for layer in net.layers:
            layer.attention = MultiHeadSelfAttention(args.net_d_model, 1)
    return net


def run(args):
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if device.type == "cpu":
        _check_profiler_accounting()
    rows = []

    def record(component, n_vars, seconds, peak):
        rows.append({"component": component, "variables": n_vars,
                     "ms": 1e3 * seconds, "mib": peak / MIB})
        print(f"{component:48s} {n_vars:6d} variables  {1e3 * seconds:10.1f} ms  "
              f"{peak / MIB:9.1f} MiB", flush=True)

    for name, build, context in layer_cases(args.d_model, args.heads):
        if args.skip_math and "math" in name:
            continue
        for n_vars in args.sizes:
            module = build().to(device)

            def make_input(n_vars=n_vars):
                return torch.randn(args.batch, n_vars, args.d_model, device=device,
                                   requires_grad=True)

            record(name, n_vars, *measure(module, make_input, args.repeats, device, context))

    for softmax in (False, True):
        name = "FMambaNet" + (", softmax attention instead" if softmax else "")
        for n_vars in args.net_sizes:
            net = fmamba_net(n_vars, args, softmax).to(device)

            def make_input(n_vars=n_vars):
                return torch.randn(args.batch, args.seq_len, n_vars, device=device)

            record(name, n_vars, *measure(net, make_input, args.net_repeats, device))
    return rows


# ---------------------------------------------------------------- reporting
def ratios(rows):
    """Per component: (small, large, time ratio, memory ratio, time exp., memory exp.).

    Pairs are 64 -> 512 variables and 512 -> the largest size measured, where present. The
    exponent is log(ratio) / log(large / small): 1 for linear growth, 2 for quadratic.
    """
    out = []
    for component in dict.fromkeys(r["component"] for r in rows):
        by_n = {r["variables"]: r for r in rows if r["component"] == component}
        pairs = [(64, 512), (512, max(by_n))]
        for small, large in pairs:
            if small not in by_n or large not in by_n or large <= small:
                continue
            t = by_n[large]["ms"] / by_n[small]["ms"]
            m = by_n[large]["mib"] / by_n[small]["mib"]
            k = math.log(large / small)
            out.append((component, small, large, t, m, math.log(t) / k, math.log(m) / k))
    return out


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s), "
            f"torch {torch.__version__}, Python {platform.python_version()}")


def markdown(rows, args, where):
    arch = fmamba_architecture(args)
    lines = [
        f"Command: `python benchmarks/fmamba_scaling.py {' '.join(args.argv)}`".rstrip(),
        "",
        f"Machine: {where}; device {args.device}.",
        "",
        f"Layers: token width {args.d_model}, {args.heads} head(s), batch {args.batch}. "
        f"FMambaNet: d_model = d_ff = {args.net_d_model}, {arch['e_layers']} layers, "
        f"d_state {arch['d_state']}, lookback "
        f"{args.seq_len}, horizon {args.pred_len}, batch {args.batch}. One forward + "
        f"backward pass; time is the best of {args.repeats} passes "
        f"({args.net_repeats} for the network) after a warm-up, memory the peak allocated "
        "beyond inputs and weights.",
        "",
        "| component | variables | time (ms) | peak memory (MiB) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['component']} | {r['variables']} | {r['ms']:.1f} | {r['mib']:.1f} |")
    lines += [
        "",
        "Ratios (linear growth: 8x from 64 to 512 variables, 4x from 512 to 2048; quadratic: "
        "64x and 16x; exponent = log(ratio) / log(size ratio), 1 linear, 2 quadratic):",
        "",
        "| component | variables | time ratio | memory ratio | time exponent "
        "| memory exponent |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for c, small, large, t, m, te, me in ratios(rows):
        lines.append(f"| {c} | {small} -> {large} | {t:.1f}x | {m:.1f}x | {te:.2f} "
                     f"| {me:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int,
                        default=[64, 128, 256, 512, 1024, 2048],
                        help="numbers of variables (tokens) for the attention layers")
    parser.add_argument("--net-sizes", nargs="+", type=int, default=[64, 256, 512, 1024],
                        help="numbers of variables for the whole FMambaNet")
    parser.add_argument("--d-model", type=int, default=128, help="token width of the layers")
    parser.add_argument("--heads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--net-d-model", type=int, default=256)
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--pred-len", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--net-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--skip-math", action="store_true",
                        help="leave out softmax attention on the math backend")
    parser.add_argument("--out", help="write the tables as markdown to this file")
    args = parser.parse_args(argv)
    args.argv = argv

    where = machine()
    print(where, flush=True)
    rows = run(args)
    print("\nratios (linear: 8x for 64 -> 512, 4x for 512 -> 2048; quadratic: 64x, 16x):")
    for c, small, large, t, m, te, me in ratios(rows):
        print(f"  {c:48s} {small:4d} -> {large:4d}  time {t:6.1f}x (exponent {te:.2f})  "
              f"memory {m:6.1f}x (exponent {me:.2f})")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(markdown(rows, args, where))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
