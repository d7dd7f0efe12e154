"""The accuracy cost of recursive roll-out: a model trained for H against the H=96 model rolled out.

A fitted skmamba forecaster serves any horizon: ``predict(fh)`` beyond its trained
``pred_len_`` appends each forecast block to the lookback and forecasts again. This script
measures what that costs in accuracy on ETTh1, with the standard protocol of
``benchmarks/ltsf.py`` (rows [0, 8640) train, [8640 - 96, 11520) validation, [11520 - 96,
14400) test, a StandardScaler fitted on the training rows, lookback 96, all 7 columns, MSE
and MAE on the scaled data):

* direct: a forecaster fitted with ``fh=range(1, H + 1)`` (``pred_len_ = H``) for every ``H``
  in ``--horizons`` (default 192 and 336), scored with ``predict_windows``;
* rolled out: the forecaster fitted for ``--base-horizon`` (96) asked for ``H`` steps through
  the public API at the same origins: it starts at the end of its fit rows (the first test
  origin), and at each later origin ``update(the rows since the last origin,
  update_params=False)`` then ``predict(fh=range(1, H + 1))``; ``H`` = 336 is two roll-out
  steps after the first block (96 + 96 + 96 + 48), 192 one.

Both are scored on the same test windows: every ``--stride``-th (default 8th) stride-1 test
window, i.e. the windows starting at test rows 0, 8, 16, ... (337 windows for H = 192, 319 for
H = 336; the full protocol scores all 2,689 and 2,545). The direct model is also scored on
every stride-1 window, for comparison with ``results/ltsf.md``. The base model's own
horizon is scored too (direct = rolled out there, a check of the loop).

Each model: its ``paper_params("ETTh1")`` with ``max_epochs`` capped (default 3, like the
LTSF runs), ``validation_size`` = the validation rows (early stopping on them), seed 0.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/rollout.py --models MAT \
        --out benchmarks/results/rollout.md

Writes ``--out`` (markdown) and the same name with ``.csv`` (one row per model and horizon);
``--append`` keeps the rows already in that csv (other models) and rewrites the table.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from ltsf import (  # noqa: E402
    add_data_arguments, machine_description, model_overrides, parse_set, score,
    window_targets,
)
from rolling import load_data  # noqa: E402  (same data preparation, synthetic for smoke runs)


def fit_model(cls, args, data, borders, horizon):
    """A forecaster fitted for ``horizon`` on the training + validation rows; fit seconds."""
    fit_rows = data.iloc[: borders["val"][1]]
    n_val = borders["val"][1] - borders["train"][1]
    params = dict(cls.paper_params(args.dataset), seq_len=args.seq_len, pred_len=horizon,
                  validation_size=n_val, random_state=args.seed, max_epochs=args.max_epochs)
    params.update(args.model_set)
    forecaster = cls(**params)
    t0 = time.perf_counter()
    forecaster.fit(fit_rows, fh=np.arange(1, horizon + 1))
    return forecaster, time.perf_counter() - t0, params


def rolled_out(base, data, borders, seq_len, stride, horizons):
    """Forecasts of the base model rolled out to each horizon, at every ``stride``-th window.

    Returns ``{H: (n_windows_H, H, C)}`` and the seconds of the loop. One forecast per origin
    for the longest horizon that still has its targets inside the test rows; shorter horizons
    take its first steps (a roll-out's first steps do not depend on how far it goes).
    """
    test_start, test_end = borders["test"]
    first_origin = test_start + seq_len  # = the end of the fit rows
    n_windows = {h: test_end - first_origin - h + 1 for h in horizons}
    starts = np.arange(0, max(n_windows.values()), stride)
    out = {h: [] for h in horizons}
    t0 = time.perf_counter()
    for k, s in enumerate(starts):
        if k:
            base.update(data.iloc[first_origin + starts[k - 1]: first_origin + s],
                        update_params=False)
        longest = max(h for h in horizons if s < n_windows[h])
        forecast = base.predict(fh=range(1, longest + 1)).to_numpy()
        for h in horizons:
            if s < n_windows[h]:
                out[h].append(forecast[:h])
    seconds = time.perf_counter() - t0
    return {h: np.stack(v) for h, v in out.items()}, seconds


def run_model(model, args, data, borders):
    from skmamba.estimators import MODELS

    cls = MODELS[model]
    args.model_set = model_overrides(args.set, model)
    L, stride = args.seq_len, args.stride
    test_rows = data.iloc[borders["test"][0]: borders["test"][1]]
    base, base_fit, params = fit_model(cls, args, data, borders, args.base_horizon)
    print(f"{model} H={args.base_horizon}: fitted in {base_fit:.0f} s "
          f"({base.n_epochs_} epochs)", flush=True)
    horizons = [args.base_horizon, *args.horizons]
    base_windows = base.predict_windows(test_rows)
    rolled, roll_seconds = rolled_out(base, data, borders, L, stride, horizons)
    print(f"{model}: roll-out loop {roll_seconds:.0f} s", flush=True)
    rows = []
    for h in horizons:
        targets = window_targets(test_rows, L, h)
        if h == args.base_horizon:
            direct, fit_s, n_epochs = base_windows, base_fit, base.n_epochs_
            direct_all = score(direct, targets)
        else:
            f, fit_s, _ = fit_model(cls, args, data, borders, h)
            n_epochs = f.n_epochs_
            direct = f.predict_windows(test_rows)
            print(f"{model} H={h}: fitted in {fit_s:.0f} s ({n_epochs} epochs)", flush=True)
            direct_all = score(direct, targets)
        sel = np.arange(0, len(targets), stride)
        d_mse, d_mae = score(direct[sel], targets[sel])
        r_mse, r_mae = score(rolled[h], targets[sel])
        beyond = slice(args.base_horizon, h)  # the steps only the roll-out continues
        row = dict(
            model=model, horizon=h, n_windows=len(sel), stride=stride,
            direct_mse=d_mse, direct_mae=d_mae, rolled_mse=r_mse, rolled_mae=r_mae,
            mse_ratio=r_mse / d_mse, mae_ratio=r_mae / d_mae,
            direct_mse_beyond=(score(direct[sel][:, beyond], targets[sel][:, beyond])[0]
                               if h > args.base_horizon else np.nan),
            rolled_mse_beyond=(score(rolled[h][:, beyond], targets[sel][:, beyond])[0]
                               if h > args.base_horizon else np.nan),
            direct_mse_all_windows=direct_all[0], direct_mae_all_windows=direct_all[1],
            direct_fit_seconds=round(fit_s, 1), direct_epochs=int(n_epochs),
            base_fit_seconds=round(base_fit, 1), rollout_loop_seconds=round(roll_seconds, 1),
            max_epochs=params["max_epochs"], seed=args.seed,
            settings=json.dumps(args.model_set, sort_keys=True),
        )
        if h == args.base_horizon:
            # The loop's own forecasts at the base horizon must be the batched ones.
            row["check_max_abs_diff"] = float(np.max(np.abs(rolled[h] - direct[sel])))
        rows.append(row)
        print(f"{model} H={h}: direct MSE {d_mse:.4f} MAE {d_mae:.4f}; rolled out MSE "
              f"{r_mse:.4f} MAE {r_mae:.4f} ({len(sel)} windows)", flush=True)
    return rows


def write_report(frame, out, machine, args, command):
    base_horizon = args.base_horizon
    data = "synthetic rows" if args.synthetic else args.dataset
    lines = [
        f"# Roll-out against direct training, {data} (lookback {args.seq_len})",
        "",
        f"Machine: {machine}; {args.threads} torch thread(s), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}. Last command: "
        f"`{command}`",
        "",
        "MSE/MAE on the scaled data (training-row StandardScaler), over every "
        f"{int(frame['stride'].iloc[0])}th stride-1 test window (windows starting at test rows "
        f"0, {int(frame['stride'].iloc[0])}, ...). direct: fitted for H; rolled out: the "
        f"H={base_horizon} model asked for H steps (update + predict at each origin). Each "
        f"model's paper_params('{args.dataset}'), validation_size = the validation rows, "
        f"seed {', '.join(str(v) for v in sorted(frame['seed'].unique()))}; max_epochs as "
        "listed; fit seconds on this shared machine are rough.",
        "",
        "| model | H | windows | direct MSE | direct MAE | rolled-out MSE | rolled-out MAE "
        f"| MSE ratio | MAE ratio | MSE steps {base_horizon + 1}..H direct / rolled "
        "| direct MSE, all windows | fit s (epochs) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in frame.sort_values(["model", "horizon"]).itertuples():
        beyond = ("-" if np.isnan(r.direct_mse_beyond)
                  else f"{r.direct_mse_beyond:.3f} / {r.rolled_mse_beyond:.3f}")
        all_w = "-" if np.isnan(r.direct_mse_all_windows) else f"{r.direct_mse_all_windows:.3f}"
        lines.append(
            f"| {r.model} (max_epochs={r.max_epochs}) | {r.horizon} | {r.n_windows} | "
            f"{r.direct_mse:.3f} | {r.direct_mae:.3f} | {r.rolled_mse:.3f} | "
            f"{r.rolled_mae:.3f} | {r.mse_ratio:.3f} | {r.mae_ratio:.3f} | {beyond} | "
            f"{all_w} | {r.direct_fit_seconds:.0f} ({r.direct_epochs}) |"
        )
    checks = frame.dropna(subset=["check_max_abs_diff"]) if "check_max_abs_diff" in frame else []
    if len(checks):
        lines += ["", f"At H = {base_horizon} the roll-out loop's forecasts equal "
                  "`predict_windows` of the same model to " + ", ".join(f"{r.check_max_abs_diff:.1e} ({r.model})"
                                           for r in checks.itertuples()) + "."]
    Path(out).write_text("\n".join(lines) + "\n")


def main(argv=None):
    from skmamba.estimators import MODELS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--models", nargs="+", default=["MAT"], choices=list(MODELS))
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--base-horizon", type=int, default=96)
    parser.add_argument("--horizons", nargs="+", type=int, default=[192, 336])
    parser.add_argument("--stride", type=int, default=8, help="score every stride-th window")
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                        help="parameter overrides: key=value for every model, Model.key=value "
                        "for one")
    parser.add_argument("--out", default=str(HERE / "results" / "rollout.md"))
    parser.add_argument("--append", action="store_true",
                        help="keep the rows of other runs already in the csv")
    parser.add_argument("--synthetic", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.set = parse_set(args.set)
    import torch

    torch.set_num_threads(args.threads)
    data, borders = load_data(args)
    rows = []
    for model in args.models:
        rows += run_model(model, args, data, borders)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    csv_file = out.with_suffix(".csv")
    frame = pd.DataFrame(rows)
    if args.append and csv_file.exists():
        old = pd.read_csv(csv_file)
        keep = ~old.set_index(["model", "horizon"]).index.isin(
            frame.set_index(["model", "horizon"]).index)
        frame = pd.concat([old[keep], frame], ignore_index=True)
    frame.to_csv(csv_file, index=False)
    command = "python benchmarks/rollout.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    write_report(frame, out, machine_description("cpu"), args, command.strip())
    print(out.read_text())
    return frame


if __name__ == "__main__":
    main()
