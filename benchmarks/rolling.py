"""The cost of rolling forecasts: ``update(new rows, update_params=False)`` + ``predict``.

Backtesting moves a fitted forecaster's cutoff over a test block: at every origin it appends
the rows observed since the last origin and forecasts the next ``H`` steps. This script
measures what one such origin costs against the network's own forward pass, on ETTh1 with
the harness's data preparation (``benchmarks/ltsf.py``: a StandardScaler fitted on the
training rows, applied to all rows):

* MAT with ``MATForecaster.paper_params("ETTh1")`` but ``max_epochs=1`` (the weights do not
  matter for timing), lookback 96, horizon 96, fitted on the training rows [0, 8640);
* the test block [11520 - 96, 14400) with an origin every 8 rows: 349 origins, the first at
  row 11520 (the same windows as every 8th stride-1 test window of the harness).

Measured in one run, the measurements of one origin interleaved so that load from other
jobs on the machine falls on all of them alike:

(a) one raw forward pass of the fitted network on one window: ``network_.eval()`` under
    ``torch.no_grad()`` on a (1, 96, 7) tensor (with the (1, 96, 4) calendar features the
    forecaster feeds it, since it was fitted on a datetime index); once per origin inside
    the loop, and ``--raw-repeats`` times back to back before it;
(b) ``update(8 new rows, update_params=False)`` then ``predict(fh=range(1, 97))`` per origin,
    with the history of the full protocol (11,520 rows before the first origin); median per
    origin and its ratio to (a);
(c) the same loop on a forecaster fitted on only the ``--short-rows`` (1,000) rows before the
    first update, so its history is 1,008 rows at the first origin: the per-origin cost must
    not depend on the history; also the first against the last 50 origins of loop (b);
(d) for reference, ``predict_windows`` over the whole stride-1 test block in one batched
    call (2,785 windows, every 8th of which are (b)'s forecasts: checked equal), and sktime's
    ``NaiveForecaster(strategy="last")`` doing the same update + predict: on the column OT
    alone (one sktime forecaster: sktime's own per-call cost, and its ``update`` stores the
    history again) with the long and the short history, and on all 7 columns (NaiveForecaster
    is univariate, so sktime vectorises it: one copy per column, each updated and asked; timed
    at the first ``--naive-all-origins`` (50) origins only, at some 0.4 s each).

Then loop (b) runs once more under ``cProfile`` from a copy of the forecaster taken before the
loop, and the time is split between the network, sktime's ``BaseForecaster.update`` /
``predict`` machinery, and skmamba's own code.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/rolling.py --out benchmarks/results/rolling.md

Writes the markdown report (``--out``) and the per-origin times next to it (same name,
``.csv``).
"""

import argparse
import copy
import cProfile
import gc
import os
import pstats
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from ltsf import (  # noqa: E402
    add_data_arguments,
    load_protocol_data,
    machine_description,
    parse_set,
)

FIRST_LAST = 50  # origins compared at the start and the end of the long loop


def load_data(args):
    """The scaled series and the borders: ETTh1 (standard protocol) or synthetic rows."""
    return load_protocol_data(args.dataset, args.data_dir, args.seq_len, args.synthetic)


def ms(seconds):
    return 1e3 * float(seconds)


def profile_breakdown(stats, n_origins):
    """Per-origin milliseconds: network, sktime machinery, skmamba's code; plus callee tables."""

    def find(path_end, name):
        keys = [k for k in stats.stats if k[0].replace("\\", "/").endswith(path_end)
                and k[2] == name]
        return keys[0] if keys else None

    def cum(key):
        return stats.stats[key][3] if key else 0.0

    sk_update = find("sktime/forecasting/base/_base.py", "update")
    sk_predict = find("sktime/forecasting/base/_base.py", "predict")
    our_update = find("skmamba/estimators/_base.py", "_update")
    our_predict = find("skmamba/estimators/_base.py", "_predict")
    network = find("skmamba/_nn/training.py", "_forward")
    checks = find("skmamba/estimators/_validation.py", "check_values")
    total = cum(sk_update) + cum(sk_predict)
    ours = cum(our_update) + cum(our_predict) - cum(network) + cum(checks)
    sktime = total - cum(our_update) - cum(our_predict) - cum(checks)
    parts = {
        "network forward (torch)": cum(network),
        "skmamba's own code (_update, _predict without the network; value checks)": ours,
        "sktime's BaseForecaster.update/predict (checks, conversions, cutoff, fh)": sktime,
        "total update + predict": total,
    }
    parts = {k: ms(v) / n_origins for k, v in parts.items()}

    def callees(parent):
        rows = []
        for key, entry in stats.stats.items():
            edge = entry[4].get(parent)
            if edge is not None:
                rows.append((key, ms(edge[3]) / n_origins))
        return sorted(rows, key=lambda r: -r[1])

    ours_at = "skmamba/estimators/_base.py"
    tables = {
        "sktime BaseForecaster.update": callees(sk_update),
        "sktime BaseForecaster.predict": callees(sk_predict),
        "sktime BaseForecaster._update_y_X": callees(
            find("sktime/forecasting/base/_base.py", "_update_y_X")),
        "skmamba _check_X_y (its value checks, then sktime's)": callees(
            find(ours_at, "_check_X_y")),
        "skmamba _forecast_at_cutoff": callees(find(ours_at, "_forecast_at_cutoff")),
        "skmamba _network_forecast": callees(find(ours_at, "_network_forecast")),
    }
    return parts, tables


def short_name(key):
    """``package/module.py:function`` for a pstats key."""
    path, _, name = key
    path = path.replace("\\", "/")
    for root in ("site-packages/", str(HERE.parent).replace("\\", "/") + "/"):
        if root in path:
            path = path.split(root, 1)[1]
    if path == "~":
        return name
    return f"{path}:{name}"


def run(args):
    import torch
    from sktime.forecasting.naive import NaiveForecaster

    from skmamba import MATForecaster

    torch.set_num_threads(args.threads)
    data, borders = load_data(args)
    L, H, step = args.seq_len, args.horizon, args.step
    b_train = borders["train"][1]
    b_val = borders["test"][0] + L  # first origin: the cutoff is the row before it
    b_end = borders["test"][1]
    n_windows = b_end - b_val - H + 1
    starts = np.arange(0, n_windows, step)
    n_origins = len(starts)
    start_row = b_val - step  # the loop's first update brings the cutoff to b_val - 1
    fh = range(1, H + 1)

    params = dict(MATForecaster.paper_params(args.dataset), seq_len=L, pred_len=H,
                  validation_size=0, random_state=0, max_epochs=args.max_epochs)
    params.update(args.set)
    t0 = time.perf_counter()
    f_long = MATForecaster(**params).fit(data.iloc[:b_train], fh=fh)
    fit_long = time.perf_counter() - t0
    f_long.update(data.iloc[b_train:start_row], update_params=False)
    short_from = max(0, start_row - args.short_rows)
    t0 = time.perf_counter()
    f_short = MATForecaster(**params).fit(data.iloc[short_from:start_row], fh=fh)
    fit_short = time.perf_counter() - t0
    f_prof = copy.deepcopy(f_long)  # loop (b) again under the profiler, from the same state

    # NaiveForecaster is univariate: on one column it is one sktime forecaster, on all
    # columns sktime vectorises it (one fitted copy per column, each updated and asked).
    target = data.columns[-1]
    # Its config "warnings" is off (in the class, so that the copies sktime makes inherit it):
    # sktime warns about the future default of remember_data whenever it constructs one.
    class QuietNaive(NaiveForecaster):
        _config = {"warnings": "off"}

    naive_long = QuietNaive(strategy="last").fit(data[[target]].iloc[:start_row], fh=fh)
    naive_short = QuietNaive(strategy="last").fit(data[[target]].iloc[short_from:start_row],
                                                  fh=fh)
    naive_all = QuietNaive(strategy="last").fit(data.iloc[:start_row], fh=fh)


    network = f_long.network_.eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, L, data.shape[1], generator=gen)
    x_mark = torch.randn(1, L, f_long.n_mark_, generator=gen) if f_long.n_mark_ else None

    def raw():
        with torch.no_grad():
            t = time.perf_counter()
            network(x, x_mark=x_mark, exog=None)
            return time.perf_counter() - t

    # Warm-up (untimed): first calls allocate and build caches.
    for _ in range(10):
        raw()
    for f in (copy.deepcopy(f_long), copy.deepcopy(f_short)):
        for k in range(3):
            f.update(data.iloc[start_row + k * step: start_row + (k + 1) * step],
                     update_params=False)
            f.predict(fh=fh)
    gc.collect()
    raw_block = np.array([raw() for _ in range(args.raw_repeats)])

    # The interleaved loop.
    rec = {k: np.empty(n_origins) for k in (
        "raw", "long_update", "long_predict", "short", "naive_long", "naive_short", "naive_all")}
    forecasts = np.empty((n_origins, H, data.shape[1]))
    history = np.empty(n_origins, dtype=int)
    gc.collect()
    t_loop = time.perf_counter()
    for k, s in enumerate(starts):
        new = data.iloc[b_val + s - step: b_val + s]
        rec["raw"][k] = raw()
        t0 = time.perf_counter()
        f_long.update(new, update_params=False)
        t1 = time.perf_counter()
        forecasts[k] = f_long.predict(fh=fh).to_numpy()
        t2 = time.perf_counter()
        rec["long_update"][k], rec["long_predict"][k] = t1 - t0, t2 - t1
        t0 = time.perf_counter()
        f_short.update(new, update_params=False)
        f_short.predict(fh=fh)
        rec["short"][k] = time.perf_counter() - t0
        for name, naive, cols in (("naive_long", naive_long, [target]),
                                  ("naive_short", naive_short, [target]),
                                  ("naive_all", naive_all, data.columns)):
            if name == "naive_all" and k >= args.naive_all_origins:
                rec[name][k] = np.nan  # slow (a copy per column): the first origins only
                continue
            t0 = time.perf_counter()
            naive.update(new[cols], update_params=False)
            naive.predict(fh=fh)
            rec[name][k] = time.perf_counter() - t0
        history[k] = b_val + s
    t_loop = time.perf_counter() - t_loop
    rec["long"] = rec["long_update"] + rec["long_predict"]

    # (d) predict_windows over the whole stride-1 test block.
    test_rows = data.iloc[borders["test"][0]:b_end]
    pw_times = []
    for _ in range(args.pw_repeats):
        t0 = time.perf_counter()
        batched = f_long.predict_windows(test_rows)
        pw_times.append(time.perf_counter() - t0)
    max_diff = float(np.max(np.abs(batched[starts] - forecasts)))

    # Profile loop (b) again from the same starting state.
    gc.collect()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for s in starts:
        f_prof.update(data.iloc[b_val + s - step: b_val + s], update_params=False)
        f_prof.predict(fh=fh)
    prof.disable()
    t_prof = time.perf_counter() - t0
    parts, tables = profile_breakdown(pstats.Stats(prof), n_origins)

    med = {k: ms(np.nanmedian(v)) for k, v in rec.items()}
    n_fl = min(FIRST_LAST, n_origins // 2)
    first = ms(np.median(rec["long"][:n_fl]))
    last = ms(np.median(rec["long"][-n_fl:]))
    return dict(
        rec=rec, med=med, raw_block=ms(np.median(raw_block)), first=first, last=last, n_fl=n_fl,
        n_origins=n_origins, n_windows=n_windows, starts=starts, history=history,
        hist_long=(b_val, int(history[-1])),
        hist_short=(b_val - short_from, b_val - short_from + int(starts[-1])),
        pw_seconds=float(np.median(pw_times)), max_diff=max_diff, t_loop=t_loop,
        t_prof=t_prof, parts=parts, tables=tables, fit_long=fit_long, fit_short=fit_short,
        params=params, b_train=b_train, b_val=b_val, b_end=b_end, target=target,
        n_columns=data.shape[1],
    )


def report(r, args, command):
    med = r["med"]
    raw = med["raw"]
    L, H, step = args.seq_len, args.horizon, args.step
    rows = [
        ("(a) raw forward pass, 1 window (interleaved, one per origin)", med["raw"]),
        (f"(a) raw forward pass, 1 window ({args.raw_repeats} back to back before the loop)",
         r["raw_block"]),
        (f"(b) update({step} rows) + predict({H} steps), history {r['hist_long'][0]:,} to "
         f"{r['hist_long'][1]:,} rows", med["long"]),
        ("(b) of which update", med["long_update"]),
        ("(b) of which predict", med["long_predict"]),
        (f"(c) the same, history {r['hist_short'][0]:,} to {r['hist_short'][1]:,} rows",
         med["short"]),
        (f"(c) loop (b), first {r['n_fl']} origins", r["first"]),
        (f"(c) loop (b), last {r['n_fl']} origins", r["last"]),
        (f"(d) sktime NaiveForecaster, column {r['target']} only, update + predict, history "
         f"{r['hist_long'][0]:,}+ rows", med["naive_long"]),
        (f"(d) sktime NaiveForecaster, column {r['target']} only, update + predict, history "
         f"{r['hist_short'][0]:,}+ rows", med["naive_short"]),
        (f"(d) sktime NaiveForecaster, all {r['n_columns']} columns (vectorised by sktime), "
         f"history {r['hist_long'][0]:,}+ rows, first {min(args.naive_all_origins, r['n_origins'])}"
         " origins", med["naive_all"]),
    ]
    pw = r["pw_seconds"]
    lines = [
        "# Rolling forecasts: update + predict per origin",
        "",
        f"Machine: {machine_description('cpu')}; {args.threads} torch thread(s), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}.",
        f"Command: `{command}`",
        "",
        f"Data: {'synthetic rows' if args.synthetic else args.dataset}, scaled with the "
        f"training rows' statistics like `benchmarks/ltsf.py`. MAT, `paper_params` with "
        f"max_epochs={r['params']['max_epochs']}, lookback {L}, horizon {H}, fitted on rows "
        f"[0, {r['b_train']}) in {r['fit_long']:.0f} s (the {args.short_rows:,}-row forecaster "
        f"of (c) in {r['fit_short']:.0f} s). {r['n_origins']} origins, one every {step} rows, "
        f"the first at row {r['b_val']}; each origin appends the {step} rows since the last "
        "one. Medians "
        "over the origins; each origin's measurements interleaved.",
        "",
        "| measurement | median per origin | / (a) interleaved | / (a) back to back |",
        "|---|---:|---:|---:|",
    ]
    for name, value in rows:
        lines.append(f"| {name} | {value:.2f} ms | {value / raw:.2f}x | "
                     f"{value / r['raw_block']:.2f}x |")
    lines += [
        "",
        f"- Ratio (b) / (a): **{med['long'] / raw:.2f}x** against the forward pass timed between "
        f"the origins, {med['long'] / r['raw_block']:.2f}x against back-to-back passes (warm "
        "caches; target: at most 3x).",
        f"- History does not matter: (c) / (b) = {med['short'] / med['long']:.3f} "
        f"(history {r['hist_short'][0]:,} vs {r['hist_long'][0]:,} rows); last / first "
        f"{r['n_fl']} origins of (b) = {r['last'] / r['first']:.3f}.",
        f"- (d) `predict_windows` over the {r['n_windows']:,} stride-1 test windows in one "
        f"batched call: {pw:.2f} s (median of {args.pw_repeats}; "
        f"{ms(pw) / r['n_windows']:.2f} ms per window; its every {step}th window equals (b)'s "
        f"forecast to {r['max_diff']:.1e}). Loop (b) took "
        f"{r['rec']['long'].sum():.2f} s for its {r['n_origins']} forecasts.",
        f"- Whole interleaved loop: {r['t_loop']:.1f} s.",
        "",
        f"## Where the time of one origin goes (cProfile of loop (b), {r['n_origins']} origins)",
        "",
        f"Profiled loop: {r['t_prof']:.1f} s wall ({ms(r['t_prof']) / r['n_origins']:.1f} ms per "
        "origin; the profiler slows Python code, not torch's kernels). Per origin:",
        "",
        "| part | ms per origin | share |",
        "|---|---:|---:|",
    ]
    total = r["parts"]["total update + predict"]
    for name, value in r["parts"].items():
        lines.append(f"| {name} | {value:.2f} | {100 * value / total:.0f}% |")
    for title, rows_ in r["tables"].items():
        lines += ["", f"Direct callees of {title} (cumulative ms per origin, top 6):", "",
                  "| function | ms |", "|---|---:|"]
        for key, value in rows_[:6]:
            lines.append(f"| `{short_name(key)}` | {value:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--step", type=int, default=8, help="rows between origins")
    parser.add_argument("--short-rows", type=int, default=1000,
                        help="rows the short-history forecaster of (c) is fitted on")
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--raw-repeats", type=int, default=200)
    parser.add_argument("--pw-repeats", type=int, default=3)
    parser.add_argument("--naive-all-origins", type=int, default=50,
                        help="origins at which the 7-column NaiveForecaster is timed (the first)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                        help="MAT parameter overrides (e.g. n1=8), for smoke runs")
    parser.add_argument("--out", default=None, help="markdown report; per-origin csv beside it")
    parser.add_argument("--synthetic", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.set = parse_set(args.set)
    command = "python benchmarks/rolling.py " + " ".join(argv if argv is not None
                                                          else sys.argv[1:])
    r = run(args)
    text = report(r, args, command.strip())
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        per_origin = pd.DataFrame({
            "origin_row": r["history"], "window_start": r["starts"],
            **{f"{k}_ms": 1e3 * v for k, v in r["rec"].items()},
        })
        per_origin.round(3).to_csv(out.with_suffix(".csv"), index=False)
    return r


if __name__ == "__main__":
    main()
