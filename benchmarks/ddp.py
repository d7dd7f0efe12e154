"""Wall time of one training epoch: data-parallel processes against threads.

One epoch of ``SMambaForecaster`` in its published ETTh1 setting (lookback 96, horizon 96,
d_model 256, batch 32) on the 8,640 training rows of the ETTh1 protocol, no validation, in
three configurations:

* 1 process, 1 torch thread;
* 1 process, 2 torch threads (PyTorch's intra-op pool and the scan's thread split);
* 2 processes of 1 thread each (``n_processes=2``: DDP over gloo, each process computes
  half of every batch of 32 and the gradients are all-reduced after every step).

Each fit is timed twice: the epoch alone (``history_[0]["seconds"]``, rank 0's clock) and the
whole ``fit`` (for 2 processes that includes spawning them, importing torch and skmamba in
each, and the rendezvous). The configurations take turns for ``--repeats`` rounds, so load
from other programs hits them alike; the median is reported. A last measurement times a
gloo all-reduce of the gradient's size between 2 processes, the communication DDP adds to
every step.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/ddp.py --out benchmarks/results/ddp.md

The data are the ETTh1 file when ``--data-dir`` (default ``../shared/data``) holds it, else
(or with ``--synthetic ROWS``) the ETT-like synthetic frame of ``ltsf.synthetic_frame``.
``--steps`` times that many optimiser steps instead of a whole epoch (smoke runs).
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ltsf  # noqa: E402  (the benchmarks' shared data helpers)

CONFIGS = (("1 process, 1 thread", 1, 1), ("1 process, 2 threads", 1, 2),
           ("2 processes, 1 thread each", 2, 2))


def training_rows(args):
    if args.synthetic or args.data_dir is None:
        return ltsf.synthetic_frame(args.synthetic or 8640), "synthetic ETT-like frame"
    frame, borders = ltsf.load_protocol_data(args.dataset, args.data_dir, 96)
    start, stop = borders["train"]
    return frame.iloc[start:stop], f"{args.dataset} training rows (scaled)"


def fit_once(y, n_processes, threads, steps):
    from skmamba.estimators import SMambaForecaster

    params = {**SMambaForecaster.paper_params("ETTh1"), "patience": None}
    if steps:
        params["max_steps"] = steps
    else:
        params["max_epochs"] = 1
    torch.set_num_threads(threads)  # spawned processes get threads // n_processes each
    f = SMambaForecaster(**params, validation_size=0, random_state=0,
                         n_processes=n_processes)
    tic = time.perf_counter()
    f.fit(y, fh=range(1, 97))
    wall = time.perf_counter() - tic
    n_params = sum(p.numel() for p in f.network_.parameters())
    return f.history_[0]["seconds"], wall, f.history_[0]["train_loss"], \
        f.history_[0]["batches"], n_params


def _allreduce_rank(rank, port, numel, repeats, out):
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    buf = torch.ones(numel)
    for _ in range(5):
        dist.all_reduce(buf)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        dist.all_reduce(buf)
        times.append(time.perf_counter() - tic)
    if rank == 0:
        np.save(out, np.array(times))
    dist.destroy_process_group()


def allreduce_seconds(numel, repeats=50):
    import tempfile

    import torch.multiprocessing as mp

    from skmamba._nn.distributed import free_port

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "t.npy")
        mp.spawn(_allreduce_rank, args=(free_port(), numel, repeats, out), nprocs=2)
        return float(np.median(np.load(out)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ltsf.add_data_arguments(parser)
    parser.add_argument("--synthetic", type=int, default=0,
                        help="use this many rows of the synthetic frame instead of ETTh1")
    parser.add_argument("--steps", type=int, default=0,
                        help="time this many optimiser steps instead of one epoch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the Markdown report here")
    args = parser.parse_args()
    y, source = training_rows(args)

    runs = {name: [] for name, _, _ in CONFIGS}
    for round_ in range(args.repeats):
        for name, n, threads in CONFIGS:
            runs[name].append(fit_once(y, n, threads, args.steps))
            epoch, wall = runs[name][-1][:2]
            print(f"round {round_ + 1}: {name}: epoch {epoch:.1f} s, fit {wall:.1f} s",
                  flush=True)
    n_params, batches = runs[CONFIGS[0][0]][0][4], runs[CONFIGS[0][0]][0][3]
    comm = allreduce_seconds(n_params + 1)

    base = statistics.median(r[0] for r in runs[CONFIGS[0][0]])
    ref_loss = runs[CONFIGS[0][0]][0][2]
    rows = []
    for name, _, _ in CONFIGS:
        epoch = statistics.median(r[0] for r in runs[name])
        wall = statistics.median(r[1] for r in runs[name])
        loss_diff = abs(runs[name][0][2] / ref_loss - 1)
        rounds = ", ".join(f"{r[0]:.1f}" for r in runs[name])
        rows.append(f"| {name} | {epoch:.1f} | {rounds} | {wall:.1f} | "
                    f"{1000 * epoch / batches:.0f} | {base / epoch:.2f}x | {loss_diff:.1e} |")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    command = "OMP_NUM_THREADS=1 python benchmarks/ddp.py" + "".join(
        f" {a}" for a in sys.argv[1:])
    report = "\n".join([
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} cores (shared with other jobs), Python "
        f"{platform.python_version()}, torch {torch.__version__}; load average "
        f"(1, 5, 15 min) {load} at the end of the run.",
        "",
        f"SMambaForecaster.paper_params('ETTh1') ({n_params:,} parameters), horizon 96, "
        f"{'%d steps' % args.steps if args.steps else 'one epoch'} of {batches} batches of "
        f"32 windows on the {source} ({len(y)} rows), no validation. Seconds, median of "
        f"{args.repeats} rounds in which the configurations take turns.",
        "",
        "| configuration | epoch (s) | epoch, each round (s) | whole fit (s) | ms per step | "
        "epoch speed-up vs 1 thread | train loss vs 1 thread (relative) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"gloo all-reduce of the gradient ({4 * (n_params + 1) / 1e6:.2f} MB float32) "
        f"between 2 processes on this machine: {1000 * comm:.2f} ms (median of 50).",
        "",
    ])
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
