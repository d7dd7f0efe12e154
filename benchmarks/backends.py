"""Wall time of a ForecastingGridSearchCV on sktime's parallel backends.

One search, 4 candidates x 3 folds = 12 fits of a small ``SMambaForecaster`` on the airline
series, run

* serially (``backend=None``),
* on joblib's ``"loky"`` backend (``n_jobs=2``),
* on ``"dask"`` with a ``distributed.LocalCluster`` of 2 single-threaded worker processes,
  once as dask starts its workers (``OMP_NUM_THREADS=MKL_NUM_THREADS=1``: one torch thread
  each) and once with ``env={"OMP_NUM_THREADS": cores, "MKL_NUM_THREADS": cores}`` (every
  worker uses every core: oversubscribed),
* on ``"ray"`` with a local instance of ``num_cpus=2`` (ray starts its workers with
  ``OMP_NUM_THREADS=1``).

All of them are started first and run side by side; each runs one search to warm up (its
workers import torch, sktime and skmamba and load the numba kernels), then ``--repeats``
rounds run one search on every backend in turn, so that load from other programs on the
machine hits them alike. Reported: the start-up of each cluster, the first search, the
median and the fastest of the later searches, the torch threads each worker runs, and
whether the cross-validation scores equal the serial ones (they must: the same seeds on
one thread).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/backends.py --out benchmarks/results/backends.md

Needs the ``dask`` and ``ray`` extras (``pip install -e ".[dask,ray]"``); a backend whose
package is missing is left out of the table.
"""

import argparse
import contextlib
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

GRID = {"lr": [1e-3, 3e-3], "d_model": [32, 64]}
SETTINGS = dict(seq_len=24, pred_len=12, d_ff=32, d_state=4, e_layers=1, max_epochs=20,
                batch_size=16, random_state=0)
FH = list(range(1, 13))
SCORE = "mean_test_MeanAbsoluteError"


def torch_threads(_=None):
    import torch

    return torch.get_num_threads()


def make_search(backend, backend_params):
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.performance_metrics.forecasting import MeanAbsoluteError
    from sktime.split import SlidingWindowSplitter

    from skmamba import SMambaForecaster

    cv = SlidingWindowSplitter(fh=FH, window_length=96, step_length=12)  # 3 folds on 132
    return ForecastingGridSearchCV(SMambaForecaster(**SETTINGS), cv, GRID,
                                   scoring=MeanAbsoluteError(), refit=False,
                                   backend=backend, backend_params=backend_params)


def scores(search):
    results = search.cv_results_.sort_values("params", key=lambda p: p.map(str))
    return results[SCORE].to_numpy()


class Backend:
    """One way of running the search: how to start it, its sktime backend, how to stop it."""

    def __init__(self, name, backend=None, params=None, start=None, threads=None, stop=None,
                 context=contextlib.nullcontext):
        self.name, self.backend, self.params = name, backend, params
        self._start, self._threads, self._stop = start, threads, stop
        self.context = context
        self.startup = self.first = None
        self.times = []
        self.scores = None

    def start(self):
        if self._start is not None:
            t0 = time.perf_counter()
            self._start()
            self.startup = time.perf_counter() - t0

    def search(self, y):
        with self.context():
            t0 = time.perf_counter()
            search = make_search(self.backend, self.params).fit(y, fh=FH)
            seconds = time.perf_counter() - t0
        self.scores = scores(search)
        return seconds

    def threads(self):
        return ", ".join(str(n) for n in sorted(set(self._threads())))

    def stop(self):
        if self._stop is not None:
            self._stop()


def available_backends(workers, cores):
    """Serial, loky, dask (1 and ``cores`` torch threads per worker) and ray, if installed."""
    from joblib import Parallel, delayed

    backends = [
        Backend("serial", threads=lambda: [torch_threads()]),
        Backend(f"loky (n_jobs={workers})", "loky", {"n_jobs": workers},
                threads=lambda: Parallel(n_jobs=workers, backend="loky")(
                    delayed(torch_threads)() for _ in range(workers))),
    ]
    try:
        import distributed
    except ImportError:
        distributed = None
    if distributed is not None:
        # dask's default: its nanny starts each worker with OMP_NUM_THREADS=MKL_NUM_THREADS=1
        # (torch takes MKL_NUM_THREADS over OMP_NUM_THREADS, so set both to change it).
        for label, env in (("", None),
                           (f", {cores} torch threads each", {"OMP_NUM_THREADS": str(cores),
                                                              "MKL_NUM_THREADS": str(cores)})):
            holder = {}

            def start(env=env, holder=holder):
                holder["cluster"] = distributed.LocalCluster(
                    n_workers=workers, processes=True, threads_per_worker=1,
                    dashboard_address=None, env=env, host="127.0.0.1")
                holder["client"] = distributed.Client(holder["cluster"], set_as_default=False)

            def stop(holder=holder):
                holder["client"].close()
                holder["cluster"].close()

            backends.append(Backend(
                f"dask ({workers} workers{label})", "dask", {}, start=start, stop=stop,
                threads=lambda holder=holder: holder["client"].run(torch_threads).values(),
                context=lambda holder=holder: holder["client"].as_current()))
    try:
        import ray
    except ImportError:
        ray = None
    if ray is not None:
        remote = ray.remote(torch_threads)
        backends.append(Backend(
            f"ray (num_cpus={workers})", "ray", {"shutdown_ray": False},
            start=lambda: ray.init(num_cpus=workers, include_dashboard=False,
                                   log_to_driver=False, _node_ip_address="127.0.0.1"),
            threads=lambda: ray.get([remote.remote(i) for i in range(workers)]),
            stop=ray.shutdown))
    return backends


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None, help="markdown file for the table")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*remember_data")

    import torch
    from sktime.datasets import load_airline

    torch.set_num_threads(1)
    y = load_airline().iloc[:132]
    cores = os.cpu_count()
    backends = available_backends(args.workers, cores)
    try:
        for backend in backends:  # every cluster runs for the whole benchmark
            backend.start()
            backend.first = backend.search(y)
            print(f"{backend.name}: start-up {backend.startup}, first search "
                  f"{backend.first:.1f} s", flush=True)
        # rounds interleave the backends, so that load from elsewhere hits them alike
        for round_ in range(args.repeats):
            for backend in backends:
                backend.times.append(backend.search(y))
            print(f"round {round_ + 1}: "
                  + ", ".join(f"{b.name} {b.times[-1]:.1f} s" for b in backends), flush=True)
        threads = [backend.threads() for backend in backends]
    finally:
        for backend in backends:
            backend.stop()

    def fmt(value):
        return "" if value is None else f"{value:.1f}"

    serial = backends[0]
    serial_median = statistics.median(serial.times)
    lines = [
        "Command: `OMP_NUM_THREADS=1 python benchmarks/backends.py"
        + (f" --out {args.out}`" if args.out else "`"),
        "",
        f"Machine: {cores} cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}; load average (1, 5, 15 min) "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} at the end of the run.",
        "",
        "ForecastingGridSearchCV of SMambaForecaster("
        + ", ".join(f"{k}={v}" for k, v in SETTINGS.items())
        + f") over {GRID} on the first 132 months of airline, SlidingWindowSplitter("
        "fh=1..12, window_length=96, step_length=12): 4 candidates x 3 folds = 12 fits, no "
        f"refit. Seconds. All clusters run side by side for the whole benchmark; after each "
        f"backend's first search, {args.repeats} rounds run one search on every backend in "
        "turn; 'median' and 'fastest' are over those rounds.",
        "",
        "| backend | start-up (s) | first search (s) | search, median (s) | search, fastest (s) "
        "| speed-up vs serial (median) | torch threads per worker | scores equal serial |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for backend, n_threads in zip(backends, threads):
        median = statistics.median(backend.times)
        if backend is serial:
            same = ""
        else:
            diff = np.max(np.abs(backend.scores - serial.scores))
            same = "yes" if diff == 0 else f"no (max difference {diff:.2e})"
        lines.append(
            f"| {backend.name} | {fmt(backend.startup)} | {fmt(backend.first)} | "
            f"{fmt(median)} | {fmt(min(backend.times))} | {serial_median / median:.2f}x | "
            f"{n_threads} | {same} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
