"""Calibration of skmamba's prediction intervals and quantiles on ETTh1.

The standard long-term forecasting protocol of ``benchmarks/ltsf.py`` (lookback 96,
horizon 96, all 7 columns, a StandardScaler fitted on the training rows [0, 8640) and
applied to every row, so every number here is in standardised units), with three ways of
getting intervals from MAT (``MATForecaster.paper_params("ETTh1")``):

(a) ``loss="studentt"``: the network outputs a Student-t distribution per step and column;
(b) the paper's point loss (``"mse+mae"``): split-conformal intervals from the absolute
    errors of the validation windows, which ``fit`` keeps (``calibration_residuals_``);
(c) sktime's ``ConformalIntervals`` (``sktime.forecasting.conformal``) wrapped around the
    forecaster of (b), ``method="conformal"`` (absolute residuals, as (b)). It computes its
    residuals by *refitting* a clone of the wrapped forecaster at sampled cutoffs and
    forecasting the rest of the series from each, so each residual sample costs a full
    training run. Affordable configuration: ``initial_window`` = the training rows, so the
    cutoffs are drawn from the validation block [8640, 11520) as in (b), and
    ``sample_frac`` such that ``--conformal-refits`` (8) cutoffs are drawn (numpy's global
    seed fixed), giving at most 8 residuals per horizon step. ``ConformalIntervals`` is
    univariate (sktime fits one copy per column), so it is run on ``--conformal-columns``
    (the target column OT) only, and the wrapped MAT sees that one column; (a) and (b) are
    also scored on OT alone for the comparison.

Every fit is capped at ``--max-epochs`` (3) epochs (CPU budget; the paper trains up to 10)
and gets the validation rows as ``validation_size``. The fit rows are [0, 11520) (training
plus validation, as in the harness). Scored over every ``--step``-th (8th) stride-1 test
window: 349 origins, the first cutoff at row 11519, the last window ending at row 14399. At
each origin: ``update(the 8 new rows, update_params=False)``, then
``predict_interval(fh=range(1, 97), coverage=[0.5, 0.8, 0.95])`` and
``predict_quantiles(fh=range(1, 97), alpha=[0.5])``. The quantiles at ``LEVELS`` are the
bounds of those intervals and the median, which is what sktime's ``predict_quantiles``
returns for these levels (checked at the first origin against one call with all the levels,
``quantile_check_gap``): asking for the seven levels directly costs (c) seven interval
computations per origin, 1.3 s, where this costs it two. The predict time is the sum of the
three calls over all origins. Metrics, averaged over origins, steps and columns: empirical
coverage and mean width of the 80% and 95% intervals, the mean pinball loss over
``LEVELS`` and the MAE of the median (the 0.5 quantile). For (c), sktime's 0.5 quantile is
the point forecast plus the smallest absolute residual (``ConformalIntervals`` builds it as
the upper end of a 0% interval); the report also gives its pinball loss with the point
forecast as median (the midpoint of every interval here, as all are symmetric).

Diagnostics that use no test rows for any choice: the same loop over every 8th window of the
validation block (moving a copy of the fitted forecaster's cutoff back with ``update``), the
conformal half-widths of (b) against the quantiles of (b)'s absolute test errors, per step
block, and the spread of each block of the data.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/calibration.py --data-dir ../shared/data \\
        --out benchmarks/results/calibration.md

Writes the markdown report (``--out``) and every metric in long form next to it (same name,
``.csv``).
"""

import argparse
import copy
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

#: Quantile levels of the pinball loss (the bounds of the 95%, 80% and 50% intervals, median).
LEVELS = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
COVERAGES = (0.8, 0.95)
#: Coverages asked of predict_interval: their bounds are the levels other than the median.
INTERVALS = (0.5, 0.8, 0.95)


def step_blocks(horizon):
    """The horizon's quarters, reported separately: (1, 24), ..., (73, 96) for 96 steps."""
    edges = np.linspace(0, horizon, 5).round().astype(int)
    return tuple((int(a) + 1, int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a)


def load_data(args):
    """The scaled series and the borders: ETTh1 (standard protocol) or synthetic rows."""
    return load_protocol_data(args.dataset, args.data_dir, args.seq_len, args.synthetic)


def origins(first_cutoff, last_target, horizon, step):
    """Cutoff rows ``first_cutoff + step * k`` whose ``horizon`` targets end by ``last_target``."""
    return np.arange(first_cutoff, last_target - horizon + 1, step)


def as_arrays(intervals, median, columns):
    """(H, C, coverage, 2) interval bounds and (H, C, level) quantiles from sktime frames.

    The quantiles at ``LEVELS`` are the bounds of the intervals at ``INTERVALS`` and the
    median: what sktime's ``predict_quantiles`` returns for these levels.
    """
    def bound(c, cov, side):
        return intervals.loc[:, (c, cov, side)].to_numpy(dtype=float)

    lo_hi = np.stack([
        np.stack([np.stack([bound(c, cov, "lower"), bound(c, cov, "upper")], axis=-1)
                  for cov in COVERAGES], axis=1)
        for c in columns
    ], axis=1)
    q = np.stack([
        np.stack([
            median.loc[:, (c, 0.5)].to_numpy(dtype=float) if a == 0.5
            else bound(c, round(abs(1 - 2 * a), 6), "lower" if a < 0.5 else "upper")
            for a in LEVELS
        ], axis=-1)
        for c in columns
    ], axis=1)
    return lo_hi, q


def rolling_forecasts(forecaster, data, cutoffs, horizon, step, columns):
    """Intervals and quantiles at each cutoff, moving the cutoff with ``update``.

    At each cutoff: ``update`` with the rows since the last one (``update_params=False``),
    ``predict_interval`` at ``INTERVALS`` (the 80% and 95% intervals, and the 50% one whose
    bounds are the 0.25 and 0.75 quantiles) and ``predict_quantiles`` at 0.5; at the first
    cutoff also ``predict_quantiles`` at every level (untimed), to check that the quantiles
    assembled from the intervals are the ones it returns. The forecaster's cutoff must
    already be ``cutoffs[0]`` or later (then the first update moves it back).

    Returns (n, H, C, coverage, 2) bounds, (n, H, C, level) quantiles, the seconds spent and
    the largest difference found by the check.
    """
    fh = list(range(1, horizon + 1))
    current = data.index.get_loc(forecaster.cutoff[0])
    bounds, quants = [], []
    seconds, gap = 0.0, None
    for cut in cutoffs:
        t0 = time.perf_counter()
        if cut != current:
            new = data.iloc[max(cut - step + 1, current + 1 if cut > current else 0): cut + 1]
            forecaster.update(new[columns], update_params=False)
            current = cut
        intervals = forecaster.predict_interval(fh=fh, coverage=list(INTERVALS))
        median = forecaster.predict_quantiles(fh=fh, alpha=[0.5])
        seconds += time.perf_counter() - t0
        b, q = as_arrays(intervals, median, columns)
        if gap is None:
            full = forecaster.predict_quantiles(fh=fh, alpha=list(LEVELS))
            direct = np.stack([full.loc[:, [(c, a) for a in LEVELS]].to_numpy(dtype=float)
                               for c in columns], axis=1)
            gap = float(np.abs(direct - q).max())
        bounds.append(b)
        quants.append(q)
    return np.stack(bounds), np.stack(quants), seconds, gap


def targets_at(data, cutoffs, horizon, columns):
    """(n, H, C) observed values after each cutoff."""
    values = data[columns].to_numpy(dtype=np.float64)
    idx = np.asarray(cutoffs)[:, None] + 1 + np.arange(horizon)[None, :]
    return values[idx]


def pinball(q, y):
    """Mean pinball loss over levels, windows, steps and columns; q (..., level), y (...)."""
    diff = y[..., None] - q
    levels = np.asarray(LEVELS)
    return float(np.mean(np.maximum(levels * diff, (levels - 1) * diff)))


def metrics(bounds, quants, y):
    """Coverage and width per coverage, mean pinball loss and MAE of the median."""
    out = {}
    for i, cov in enumerate(COVERAGES):
        lo, hi = bounds[..., i, 0], bounds[..., i, 1]
        out[f"coverage{round(cov * 100)}"] = float(np.mean((y >= lo) & (y <= hi)))
        out[f"width{round(cov * 100)}"] = float(np.mean(hi - lo))
    out["pinball"] = pinball(quants, y)
    out["mae_median"] = float(np.mean(np.abs(y - quants[..., LEVELS.index(0.5)])))
    # Every interval here is symmetric about the point forecast: the 80% interval's midpoint.
    point = bounds[..., 0, :].mean(axis=-1)
    out["mae_point"] = float(np.mean(np.abs(y - point)))
    with_point = quants.copy()
    with_point[..., LEVELS.index(0.5)] = point
    out["pinball_point_median"] = pinball(with_point, y)
    return out


def conformal_check(forecaster, quants_test, y_test):
    """(b)'s conformal half-widths (validation errors) against its test errors, per step block.

    Both are the 80% / 95% quantiles of absolute errors (validation: as the forecaster
    computes them; test: of the median forecast), averaged over the steps and columns.
    """
    res = np.asarray(forecaster.calibration_residuals_, dtype=np.float64)  # (n, H, C)
    n = res.shape[0]
    err = np.abs(y_test - quants_test[..., LEVELS.index(0.5)])
    rows = []
    for lo, hi in ((1, res.shape[1]),) + step_blocks(res.shape[1]):
        steps = slice(lo - 1, hi)
        row = {"steps": f"{lo}-{hi}"}
        for cov in COVERAGES:
            level = min(1.0, np.ceil((n + 1) * cov) / n)
            val = np.quantile(res[:, steps], level, axis=0, method="higher").mean()
            test = np.quantile(err[:, steps], cov, axis=0).mean()
            row[f"val_q{round(cov * 100)}"] = float(val)
            row[f"test_q{round(cov * 100)}"] = float(test)
        rows.append(row)
    return rows, n


def run(args):
    import torch
    from sktime.forecasting.conformal import ConformalIntervals

    from skmamba import MATForecaster

    torch.set_num_threads(args.threads)
    data, borders = load_data(args)
    L, H, step = args.seq_len, args.horizon, args.step
    b_train, b_val = borders["train"][1], borders["val"][1]
    b_end = borders["test"][1]
    n_val = b_val - b_train
    fit_rows = data.iloc[:b_val]
    columns = list(data.columns)
    sub = [c for c in args.conformal_columns if c in columns] or columns[-1:]
    test_cutoffs = origins(b_val - 1, b_end - 1, H, step)
    val_cutoffs = origins(b_train - 1, b_val - 1, H, step)
    fh = np.arange(1, H + 1)

    base = dict(MATForecaster.paper_params(args.dataset), seq_len=L, pred_len=H,
                validation_size=n_val, random_state=args.seed, max_epochs=args.max_epochs)
    base.update(args.set)
    point_loss = base["loss"]
    specs = {
        "(a) MAT, loss=studentt": dict(base, loss="studentt"),
        f"(b) MAT, loss={point_loss}, split-conformal": dict(base),
    }

    results, rows, details = {}, [], {}
    for name, params in specs.items():
        f = MATForecaster(**params)
        t0 = time.perf_counter()
        f.fit(fit_rows, fh=fh)
        fit_s = time.perf_counter() - t0
        print(f"{name}: fitted in {fit_s:.1f} s ({f.n_epochs_} epochs)", flush=True)
        f_val = copy.deepcopy(f)
        bounds, quants, pred_s, gap = rolling_forecasts(f, data, test_cutoffs, H, step,
                                                        columns)
        y = targets_at(data, test_cutoffs, H, columns)
        vb, vq, _, _ = rolling_forecasts(f_val, data, val_cutoffs, H, step, columns)
        vy = targets_at(data, val_cutoffs, H, columns)
        results[name] = dict(fit_s=fit_s, predict_s=pred_s, n_epochs=int(f.n_epochs_),
                             quantile_check_gap=gap)
        details[name] = dict(bounds=bounds, quants=quants, y=y, vb=vb, vq=vq, vy=vy,
                             forecaster=f)
        print(f"{name}: {len(test_cutoffs)} origins in {pred_s:.1f} s", flush=True)

    conformal_name = None
    if args.conformal_refits > 0:
        conformal_name = (f"(c) sktime ConformalIntervals(method='conformal') around (b), "
                          f"{args.conformal_refits} refits, {'+'.join(sub)} only")
        wrapped = MATForecaster(**specs[f"(b) MAT, loss={point_loss}, split-conformal"])
        n_pool = b_val - b_train
        np.random.seed(args.seed)  # ConformalIntervals draws its cutoffs from numpy's RNG
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            # sktime's own estimators announce the future default of remember_data
            warnings.filterwarnings("ignore", message=".*remember_data", category=FutureWarning)
            conformal = ConformalIntervals(
                wrapped, method="conformal", initial_window=b_train,
                sample_frac=args.conformal_refits / n_pool,
            )
            conformal.fit(fit_rows[sub], fh=fh)
        fit_s = time.perf_counter() - t0
        print(f"{conformal_name}: fitted in {fit_s:.1f} s", flush=True)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*remember_data", category=FutureWarning)
            bounds, quants, pred_s, gap = rolling_forecasts(conformal, data, test_cutoffs, H,
                                                            step, sub)
        y = targets_at(data, test_cutoffs, H, sub)
        copies = (conformal.forecasters_.iloc[0].tolist()
                  if getattr(conformal, "_is_vectorized", False) else [conformal])
        # rows of the residual matrix that hold residuals: the refit cutoffs, per column
        n_refits = [int(c.residuals_matrix_.notna().any(axis=1).sum()) for c in copies]
        results[conformal_name] = dict(fit_s=fit_s, predict_s=pred_s, n_refits=n_refits,
                                       quantile_check_gap=gap)
        details[conformal_name] = dict(bounds=bounds, quants=quants, y=y)
        print(f"{conformal_name}: {len(test_cutoffs)} origins in {pred_s:.1f} s "
              f"({n_refits} refit cutoffs)", flush=True)

    # ------------------------------------------------------------------ metrics
    all_cols = "all 7" if len(columns) == 7 else f"all {len(columns)}"
    sub_idx = [columns.index(c) for c in sub]
    for name, d in details.items():
        is_sub = name == conformal_name
        scopes = [("+".join(sub), "subset", slice(None))] if is_sub else [
            (all_cols, "all", slice(None)), ("+".join(sub), "subset", sub_idx)]
        splits = [("test", d["bounds"], d["quants"], d["y"])]
        if not is_sub:
            splits.append(("validation", d["vb"], d["vq"], d["vy"]))
        for split, b, q, y in splits:
            for label, kind, cols in scopes:
                for lo, hi in ((1, H),) + step_blocks(H):
                    s = slice(lo - 1, hi)
                    m = metrics(b[:, s][:, :, cols], q[:, s][:, :, cols], y[:, s][:, :, cols])
                    rows.append(dict(method=name, split=split, columns=label, scope=kind,
                                     steps=f"{lo}-{hi}", n_origins=len(y), **m,
                                     fit_s=results[name]["fit_s"],
                                     predict_s=results[name]["predict_s"]))
        if not is_sub:
            for ci, col in enumerate(columns):
                m = metrics(d["bounds"][:, :, [ci]], d["quants"][:, :, [ci]], d["y"][:, :, [ci]])
                rows.append(dict(method=name, split="test", columns=col, scope="column",
                                 steps=f"1-{H}",
                                 n_origins=len(d["y"]), **m, fit_s=results[name]["fit_s"],
                                 predict_s=results[name]["predict_s"]))
    b_name = f"(b) MAT, loss={point_loss}, split-conformal"
    check, n_cal = conformal_check(details[b_name]["forecaster"], details[b_name]["quants"],
                                   details[b_name]["y"])
    spread = pd.DataFrame({
        block: data.iloc[lo:hi].std().round(3)
        for block, (lo, hi) in (("train", (0, b_train)), ("validation", (b_train, b_val)),
                                ("test", (b_val, b_end)))
    })
    return dict(rows=pd.DataFrame(rows), results=results, check=check, n_cal=n_cal,
                spread=spread, n_test=len(test_cutoffs), n_val=len(val_cutoffs),
                conformal_name=conformal_name, b_name=b_name, sub="+".join(sub),
                all_cols=all_cols, H=H, fit_rows=b_val)


def fmt_row(r, extra=""):
    return (f"{r.coverage80:.3f} | {r.coverage95:.3f} | {r.width80:.3f} | {r.width95:.3f} | "
            f"{r.pinball:.4f} | {r.mae_median:.3f}{extra}")


def report(r, args, command):
    rows, H = r["rows"], r["H"]
    full = f"1-{H}"
    lines = [
        f"# Calibration of prediction intervals, {args.dataset if not args.synthetic else 'synthetic'} "
        f"(lookback {args.seq_len}, horizon {H})",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine_description('cpu')}; torch threads: {args.threads}. Every fit "
        f"capped at {args.max_epochs} epochs, seed {args.seed}; fit rows [0, {r['fit_rows']}) "
        f"with the validation rows as `validation_size`. Test: every {args.step}th stride-1 "
        f"window ({r['n_test']} origins), `update(new rows, update_params=False)` + "
        "`predict_interval` + `predict_quantiles` per origin. Units: standardised (the "
        "harness's scaler). Pinball: mean over levels " + ", ".join(map(str, LEVELS)) + ".",
        "",
        "## Test windows",
        "",
        "| method | columns | coverage 80 | coverage 95 | width 80 | width 95 | pinball | "
        "MAE of median | fit s | predict s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    main = rows[(rows.split == "test") & (rows.steps == full) & (rows.scope != "column")]
    order = {r["all_cols"]: 0, r["sub"]: 1}
    main = main.assign(o=main["columns"].map(order)).sort_values(["o", "method"])
    for row in main.itertuples():
        lines.append(f"| {row.method} | {row.columns} | " + fmt_row(row)
                     + f" | {row.fit_s:.0f} | {row.predict_s:.1f} |")
    lines += ["", "Targets: coverage within 5 points of nominal for (a) and (b); pinball of "
              "(a) and (b) no worse than (c) (on the columns (c) was run on).", ""]
    for name in r["results"]:
        if name == r["conformal_name"]:
            continue
        m = main[(main.method == name) & (main["columns"] == r["all_cols"])].iloc[0]
        ok = abs(m.coverage80 - 0.8) <= 0.05 and abs(m.coverage95 - 0.95) <= 0.05
        lines.append(f"- {name}: coverage {m.coverage80:.3f} / {m.coverage95:.3f} -> "
                     f"{'met' if ok else 'NOT met'}")
    if r["conformal_name"]:
        c = main[main.method == r["conformal_name"]].iloc[0]
        for name in r["results"]:
            if name == r["conformal_name"]:
                continue
            m = main[(main.method == name) & (main["columns"] == r["sub"])].iloc[0]
            lines.append(f"- {name} on {r['sub']}: pinball {m.pinball:.4f} vs (c) "
                         f"{c.pinball:.4f} -> {'met' if m.pinball <= c.pinball else 'NOT met'}")
    if r["conformal_name"]:
        lines.append(f"- (c) with its point forecast as the median (instead of sktime's 0.5 "
                     f"quantile): pinball {c.pinball_point_median:.4f}, MAE {c.mae_point:.3f}")
    lines += ["", "Other numbers of the runs:", ""]
    for name, res in r["results"].items():
        extra = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in res.items())
        lines.append(f"- {name}: {extra}")
    lines += [
        "",
        "## By step of the horizon (test, all columns; (c): its columns)",
        "",
        "| method | steps | coverage 80 | coverage 95 | width 80 | width 95 | pinball | "
        "MAE of median |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    blocks = rows[(rows.split == "test") & (rows.steps != full) & (rows.scope != "column")]
    for row in blocks.itertuples():
        if row.scope == "subset" and row.method != r["conformal_name"]:
            continue
        lines.append(f"| {row.method} | {row.steps} | " + fmt_row(row) + " |")
    lines += [
        "",
        "## Validation windows against test windows (no test rows used for any choice)",
        "",
        f"The same loop over every {args.step}th window of the validation block "
        f"({r['n_val']} origins; a copy of each fitted forecaster, its cutoff moved back with "
        "`update`). (b)'s conformal residuals come from these windows (in-sample for its "
        "intervals); (a) used them for early stopping only.",
        "",
        "| method | split | coverage 80 | coverage 95 | width 80 | width 95 | pinball | "
        "MAE of median |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    vt = rows[(rows.steps == full) & (rows.scope == "all")]
    for row in vt.sort_values(["method", "split"], ascending=[True, False]).itertuples():
        lines.append(f"| {row.method} | {row.split} | " + fmt_row(row) + " |")
    lines += [
        "",
        f"(b): conformal half-widths from the {r['n_cal']} validation windows against the same "
        "quantiles of its absolute test errors (mean over steps and columns):",
        "",
        "| steps | validation q80 | test q80 | ratio | validation q95 | test q95 | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in r["check"]:
        lines.append(
            f"| {c['steps']} | {c['val_q80']:.3f} | {c['test_q80']:.3f} | "
            f"{c['test_q80'] / c['val_q80']:.2f} | {c['val_q95']:.3f} | {c['test_q95']:.3f} | "
            f"{c['test_q95'] / c['val_q95']:.2f} |"
        )
    lines += [
        "",
        "Coverage per column (test):",
        "",
        "| method | " + " | ".join(r["spread"].index) + " |",
        "|---|" + "---:|" * len(r["spread"].index),
    ]
    per_col = rows[(rows.split == "test") & (rows.scope == "column")]
    for name, g in per_col.groupby("method", sort=True):
        if name == r["conformal_name"]:
            continue
        g = g.set_index("columns")
        lines.append(f"| {name} | " + " | ".join(
            f"{g.loc[c, 'coverage80']:.2f} / {g.loc[c, 'coverage95']:.2f}"
            for c in r["spread"].index) + " |")
    lines += [
        "",
        "Standard deviation of each column (standardised units) in each block:",
        "",
        "| block | " + " | ".join(r["spread"].index) + " |",
        "|---|" + "---:|" * len(r["spread"].index),
    ]
    for block in r["spread"].columns:
        lines.append(f"| {block} | " + " | ".join(
            f"{v:.3f}" for v in r["spread"][block]) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--step", type=int, default=8, help="rows between scored origins")
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conformal-refits", type=int, default=8,
                        help="cutoffs ConformalIntervals refits MAT at (0: skip (c))")
    parser.add_argument("--conformal-columns", nargs="+", default=["OT"],
                        help="columns (c) is run on (one ConformalIntervals copy, and one "
                        "MAT per refit, per column)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                        help="MAT parameter overrides (e.g. n1=8), for smoke runs")
    parser.add_argument("--out", default=None, help="markdown report; long-form csv beside it")
    parser.add_argument("--synthetic", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.set = parse_set(args.set)
    command = "python benchmarks/calibration.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    r = run(args)
    text = report(r, args, command.strip())
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        r["rows"].round(5).to_csv(out.with_suffix(".csv"), index=False)
    return r


if __name__ == "__main__":
    main()
