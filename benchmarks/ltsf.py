"""Long-term forecasting benchmark: the standard ETTh protocol for every skmamba forecaster.

Protocol (the one every published table uses; see ``shared/data/README.md``):

* rows [0, 8640) train, [8640 - L, 11520) validation, [11520 - L, 14400) test, L = 96;
* a StandardScaler fitted on the training rows, applied to all rows;
* all 7 columns are targets; every test window with stride 1;
* MSE and MAE on the scaled data, averaged over windows, steps and channels.

Models are used only through the public estimator API: ``fit`` on the training and
validation rows with ``validation_size`` = the validation rows (early stopping on them), then
``predict_windows`` over the test rows, which gives the numbers of ``update`` + ``predict`` at
every window origin. Each run is a fresh subprocess so that its peak memory is its own.

Usage::

    python benchmarks/ltsf.py --datasets ETTh1 ETTh2 \
        --models SMamba MixMamba --horizons 96 336 --seeds 0 --jobs 2

The data are found as :func:`skmamba.datasets.load_ett` finds them: ``--data-dir`` (default
``../shared/data`` next to the repository, when that folder exists), else the
``SKMAMBA_DATA_DIR`` environment variable, else skmamba's cache, into which the unmodified
files are downloaded once (sha256-checked) from the ETDataset repository.

Writes ``benchmarks/results/ltsf.csv`` (every run), ``ltsf.md`` (means over seeds next to the
published numbers, with ratios) and ``ltsf_forecast.png`` (one test window, forecast vs truth).
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from skmamba.estimators import MODELS  # registry: CLI model name -> forecaster class

HERE = Path(__file__).resolve().parent
# The data folder laid out beside the repository, when there is one (else load_ett decides).
_SHARED = HERE.parent.parent / "shared" / "data"
DEFAULT_DATA_DIR = str(_SHARED) if _SHARED.is_dir() else None

# Published MSE/MAE at lookback 96 (shared/design/models-and-published-results.md, section 8).
# S-Mamba's numbers are recalled from its paper and marked unconfirmed there.
PUBLISHED = {
    "MixMamba": {
        "ETTh1": {96: (.374, .389), 192: (.420, .417), 336: (.463, .439), 720: (.455, .454)},
        "ETTh2": {96: (.283, .329), 192: (.363, .380), 336: (.406, .416), 720: (.415, .433)},
    },
    "S-Mamba": {
        "ETTh1": {96: (.386, .405), 192: (.443, .437), 336: (.489, .468), 720: (.502, .489)},
        "ETTh2": {96: (.296, .348), 192: (.376, .396), 336: (.424, .431), 720: (.426, .444)},
    },
    "TimeStar": {
        "ETTh1": {96: (.374, .396), 192: (.428, .428), 336: (.460, .448), 720: (.470, .463)},
        "ETTh2": {96: (.283, .338), 192: (.370, .396), 336: (.412, .422), 720: (.408, .431)},
    },
}
# Baselines quoted beside them (iTransformer, PatchTST, TimesNet, DLinear); they only enter the
# "best published MSE" of each cell.
BASELINES = {
    "iTransformer": {
        "ETTh1": {96: (.386, .405), 192: (.441, .436), 336: (.487, .458), 720: (.503, .491)},
        "ETTh2": {96: (.297, .349), 192: (.380, .400), 336: (.428, .432), 720: (.427, .445)},
    },
    "PatchTST": {
        "ETTh1": {96: (.414, .419), 192: (.460, .445), 336: (.501, .466), 720: (.500, .488)},
        "ETTh2": {96: (.302, .348), 192: (.388, .400), 336: (.426, .433), 720: (.431, .446)},
    },
    "TimesNet": {
        "ETTh1": {96: (.384, .402), 192: (.436, .429), 336: (.491, .469), 720: (.521, .500)},
        "ETTh2": {96: (.340, .374), 192: (.402, .414), 336: (.452, .452), 720: (.462, .468)},
    },
    "DLinear": {
        "ETTh1": {96: (.386, .400), 192: (.437, .432), 336: (.481, .459), 720: (.519, .516)},
        "ETTh2": {96: (.333, .387), 192: (.477, .476), 336: (.594, .541), 720: (.831, .657)},
    },
}
# Which published row each of our models is held against: its own paper where one exists;
# FMamba and MAT have no ETT numbers, so they are held against S-Mamba (the baseline).
REFERENCE_ROW = {
    "SMamba": "S-Mamba",
    "MixMamba": "MixMamba",
    "TimeStarMamba": "TimeStar",
    "FMamba": "S-Mamba",
    "MAT": "S-Mamba",
}


def standard_borders(seq_len):
    """The ETTh borders: train, validation and test row ranges."""
    from skmamba.datasets import ett_borders

    return ett_borders(seq_len)


def scaled_split(df, borders):
    """Scale every row with a StandardScaler fitted on the training rows only."""
    from sklearn.preprocessing import StandardScaler

    train = df.iloc[borders["train"][0]:borders["train"][1]]
    scaler = StandardScaler().fit(train.to_numpy())
    return pd.DataFrame(scaler.transform(df.to_numpy()), index=df.index, columns=df.columns)
def synthetic_frame(n_rows, n_columns=7, seed=0):
    """Hourly series shaped like ETTh1 (daily and weekly cycles, a slight trend, noise; the
    last column named OT), for the benchmarks' smoke runs."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows, dtype=float)
    cols = {}
    for c in range(n_columns):
        phase = rng.uniform(0, 2 * np.pi)
        cols[f"c{c}"] = (
            np.sin(2 * np.pi * t / 24 + phase) + 0.5 * np.sin(2 * np.pi * t / 168 + phase)
            + 0.25 * rng.standard_normal(n_rows) + 0.001 * c * t
        )
    cols["OT"] = cols.pop(f"c{n_columns - 1}")
    index = pd.date_range("2016-07-01", periods=n_rows, freq="h", name="date")
    return pd.DataFrame(cols, index=index)


def add_data_arguments(parser):
    """The ``--data-dir`` and ``--dataset`` options every ETT benchmark script takes."""
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="folder holding ETTh1.csv (default: ../shared/data next to the "
                        "repository if it exists, else as skmamba.datasets.load_ett finds it)")
    parser.add_argument("--dataset", default="ETTh1")


def load_protocol_data(dataset, data_dir, seq_len, synthetic=0):
    """The scaled series and its borders: the standard ETTh protocol, or ``synthetic`` rows
    split in the same proportions (for smoke runs)."""
    if synthetic:
        df = synthetic_frame(synthetic)
        scale = synthetic / 14400
        b_train, b_val = int(8640 * scale), int(11520 * scale)
        borders = {
            "train": (0, b_train),
            "val": (b_train - seq_len, b_val),
            "test": (b_val - seq_len, synthetic),
        }
    else:
        from skmamba.datasets import load_ett

        borders = standard_borders(seq_len)
        df = load_ett(dataset, data_dir)
    return scaled_split(df, borders), borders




def window_targets(y_test, seq_len, pred_len):
    """Stride-1 target windows (n_windows, pred_len, n_columns) of a test block."""
    values = np.asarray(y_test, dtype=np.float64)
    n_windows = len(values) - seq_len - pred_len + 1
    idx = np.arange(n_windows)[:, None] + seq_len + np.arange(pred_len)[None, :]
    return values[idx]


def score(forecasts, targets):
    """MSE and MAE averaged over windows, steps and channels."""
    err = np.asarray(forecasts, dtype=np.float64) - targets
    return float(np.mean(err ** 2)), float(np.mean(np.abs(err)))


def run_one(args):
    """Fit one model on one dataset and horizon; return a dict of results."""
    import torch

    from skmamba.datasets import load_ett

    torch.set_num_threads(args.threads)
    df = load_ett(args.dataset, args.data_dir)
    borders = standard_borders(args.seq_len)
    if args.smoke_rows:
        # A proportional slice of the protocol for the CI smoke test.
        scale = args.smoke_rows / borders["test"][1]
        b_train, b_val = int(8640 * scale), int(11520 * scale)
        borders = {
            "train": (0, b_train),
            "val": (b_train - args.seq_len, b_val),
            "test": (b_val - args.seq_len, args.smoke_rows),
        }
    data = scaled_split(df, borders)
    fit_rows = data.iloc[: borders["val"][1]]
    test_rows = data.iloc[borders["test"][0]: borders["test"][1]]
    n_val = borders["val"][1] - borders["train"][1]

    # The published configuration, through the same public call users get.
    params = dict(
        MODELS[args.model].paper_params(args.dataset), seq_len=args.seq_len,
        pred_len=args.horizon, validation_size=n_val, random_state=args.seed,
        device=args.device,
    )
    params.update(model_overrides(args.set, args.model))
    forecaster = MODELS[args.model](**params)
    t0 = time.perf_counter()
    forecaster.fit(fit_rows, fh=np.arange(1, args.horizon + 1))
    fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    forecasts = forecaster.predict_windows(test_rows)
    predict_seconds = time.perf_counter() - t0
    targets = window_targets(test_rows, args.seq_len, args.horizon)
    mse, mae = score(forecasts, targets)
    # The validation rows' score, for choosing settings without looking at the test rows.
    val_rows = data.iloc[borders["val"][0]: borders["val"][1]]
    val_forecasts = forecaster.predict_windows(val_rows)
    val_mse, val_mae = score(val_forecasts,
                             window_targets(val_rows, args.seq_len, args.horizon))
    if args.forecasts_file:
        save_forecasts(args.forecasts_file, val_forecasts, forecasts, dataset=args.dataset,
                       model=args.model, horizon=args.horizon, seed=args.seed,
                       seq_len=args.seq_len, params=json.dumps(args.set or {}, sort_keys=True))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.plot_file:
        np.savez(args.plot_file, forecast=forecasts[0], truth=targets[0],
                 context=test_rows.to_numpy()[: args.seq_len], columns=list(data.columns))
    return dict(
        dataset=args.dataset, model=args.model, horizon=args.horizon, seed=args.seed,
        seq_len=args.seq_len, mse=mse, mae=mae, val_mse=val_mse, val_mae=val_mae,
        n_test_windows=len(targets),
        n_epochs=int(forecaster.n_epochs_),
        fit_seconds=round(fit_seconds, 1),
        seconds_per_epoch=round(fit_seconds / max(int(forecaster.n_epochs_), 1), 2),
        predict_seconds=round(predict_seconds, 1), peak_rss_mb=round(peak_mb),
        device=args.device, params=json.dumps(args.set or {}, sort_keys=True), tag=args.tag,
    )


def save_forecasts(file, val, test, **run):
    """Keep a run's validation and test forecasts with what identifies the run (``dataset``,
    ``model``, ``horizon``, ``seed``, ``seq_len``, ``params``), for ensembles
    (``benchmarks/ltsf_ensemble.py``). The target windows are the same for every lookback, so
    runs of different lookbacks average window by window."""
    np.savez(file, val=np.asarray(val, dtype=np.float32),
             test=np.asarray(test, dtype=np.float32), **run)


def model_overrides(overrides, model):
    """The ``--set`` overrides for one model: plain keys apply to every model, ``Model.key`` to one."""
    out = {}
    for key, value in (overrides or {}).items():
        target, dot, name = key.rpartition(".")
        if not dot:
            out[key] = value
        elif target == model:
            out[name] = value
        elif target not in MODELS:
            raise ValueError(f"--set {key}: unknown model {target!r}; choose from {list(MODELS)}")
    return out


def machine_description(device):
    """One line naming the machine the numbers come from."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    desc = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}"
    if device != "cpu" and torch.cuda.is_available():
        desc += f", GPU {torch.cuda.get_device_name(0)}"
    return desc


def machines_text(frame):
    """The machines the runs of a frame come from, as one line."""
    names = list(dict.fromkeys(frame["machine"].dropna()))
    if len(names) == 1:
        return names[0]
    return "; ".join(names) + " (runs from several machines: ltsf.csv's machine column says which)"


def write_report(results, out_dir, machine, threads):
    """Write the markdown table of means over seeds next to the published numbers."""
    df = pd.DataFrame(results)
    tags = df["tag"] if "tag" in df else pd.Series([""] * len(df))
    # Runs recorded before the lookback was kept in the CSV all used the published 96.
    lookbacks = df["seq_len"].fillna(96) if "seq_len" in df else pd.Series([96] * len(df))
    df["settings"] = [
        settings_text(p, m, int(L)) + (f" [{t}]" if isinstance(t, str) and t else "")
        for p, m, L, t in zip(df["params"], df["model"], lookbacks, tags)
    ]
    if "val_mse" not in df:
        df["val_mse"] = np.nan
    # Runs differing only in seed are averaged; different settings stay separate rows.
    grouped = df.groupby(["dataset", "model", "horizon", "settings"]).agg(
        mse=("mse", "mean"), mae=("mae", "mean"), mse_std=("mse", "std"),
        val_mse=("val_mse", "mean"),
        seeds=("seed", lambda s: ",".join(str(v) for v in sorted(s))),
        s_per_epoch=("seconds_per_epoch", "mean"), epochs=("n_epochs", "mean"),
        peak_mb=("peak_rss_mb", "max"),
    ).reset_index()
    lines = [
        "# Long-term forecasting, ETTh protocol (lookback 96 unless a row's settings say seq_len)",
        "",
        f"Machine: {machine}; torch threads per run: {threads}. MSE/MAE on scaled data, mean",
        "over the seeds listed; `ref` is the published row each model is held against (its own",
        "paper; S-Mamba for FMamba and MAT, which publish no ETT numbers); ratio = ours / ref.",
        "`val MSE`: the same score on the validation rows (the only rows used to choose",
        "settings). `s/epoch` is wall-clock time and `peak MB` the peak resident memory of the",
        "run's process; the machine may have been shared with other jobs while they ran (MixMamba",
        "ETTh1 H=96 took 18-40 s/epoch for the same work), so take the times as rough costs.",
        "Rows tagged in brackets come from other code versions (see the tag).",
        "",
        "| dataset | H | model | settings | MSE | MAE | ref | ref MSE | ref MAE | MSE ratio "
        "| seeds | val MSE | s/epoch | epochs | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in grouped.sort_values(["dataset", "horizon", "model"]).itertuples():
        ref = REFERENCE_ROW[row.model]
        pub = PUBLISHED[ref].get(row.dataset, {}).get(row.horizon)
        pub_mse, pub_mae = pub if pub else (float("nan"), float("nan"))
        lines.append(
            f"| {row.dataset} | {row.horizon} | {row.model} | {row.settings} | "
            f"{row.mse:.3f} | {row.mae:.3f} | "
            f"{ref} | {pub_mse:.3f} | {pub_mae:.3f} | {row.mse / pub_mse:.3f} | {row.seeds} | "
            f"{'–' if np.isnan(row.val_mse) else f'{row.val_mse:.3f}'} | "
            f"{row.s_per_epoch:.1f} | {row.epochs:.1f} | {row.peak_mb:.0f} |"
        )
    best = []
    # Tagged runs (other code versions) are listed above but are not candidates here.
    untagged = grouped[~grouped["settings"].str.endswith("]")]
    for (dataset, horizon), cell in untagged.groupby(["dataset", "horizon"]):
        scored = cell.dropna(subset=["val_mse"])
        # Settings screened on one seed compete only where no setting has three: a lucky
        # seed must not win against a three-seed mean.
        n_seeds = scored["seeds"].str.count(",") + 1
        if (n_seeds >= 3).any():
            scored = scored[n_seeds >= 3]
        # The choice looks at the validation rows only; runs recorded before validation
        # scores were kept can only be chosen on the test rows, which the table says.
        if len(scored):
            top, chosen_by = scored.loc[scored["val_mse"].idxmin()], "validation"
        else:
            top, chosen_by = cell.loc[cell["mse"].idxmin()], "test (no validation scores)"
        top_name = f"{top['model']} ({top['settings']})"
        published = best_published(dataset, horizon)
        if published is None:
            continue
        pub_best, pub_name = published
        best.append(
            f"| {dataset} | {horizon} | {top_name} | {top['mse']:.3f} | {pub_best:.3f} "
            f"({pub_name}) | {top['mse'] / pub_best:.3f} | {chosen_by} |"
        )
    lines += [
        "",
        "Our best single setting against the best published MSE of the cell (MixMamba, S-Mamba,",
        "TimeStar and the baselines quoted with them: iTransformer, PatchTST, TimesNet, DLinear).",
        "\"Our best\" is the row with the lowest validation MSE among the runs of the current",
        "code (untagged rows with three seeds where the cell has any, so one-seed screening",
        "runs do not compete; runs recorded without a validation score are candidates only in",
        "cells where no run has one, and are then chosen on the test MSE, as the last column",
        "says). Averages of several settings (ensembles), and the choice users get from",
        "best_ltsf_forecaster, are in ltsf_ensemble.md.",
        "",
        "| dataset | H | our best | MSE | best published | ratio | chosen by |",
        "|---|---|---|---|---|---|---|",
        *best,
        "",
        *coverage_lines(df),
    ]
    (out_dir / "ltsf.md").write_text("\n".join(lines) + "\n")


def best_published(dataset, horizon):
    """The lowest published MSE of a cell and the row it comes from (the papers and the
    baselines quoted with them), or None where nothing is published."""
    published = [
        (table[dataset][horizon][0], name)
        for name, table in {**PUBLISHED, **BASELINES}.items()
        if horizon in table.get(dataset, {})
    ]
    return min(published) if published else None


def coverage_lines(df):
    """Which cells of the ETTh grid each model has run at its published budget (paper
    settings, current code): the seeds, or "-" where nothing was run."""
    cells = [(d, h) for d in ("ETTh1", "ETTh2") for h in (96, 192, 336, 720)]
    paper = df[df["settings"] == "paper settings"]
    lines = [
        "Coverage of the grid at each model's published budget (`paper_params`, untagged runs):",
        "seeds run per cell; \"-\" = not run at that budget (rows above at other settings,",
        "e.g. 3 epochs, do not count).",
        "",
        "| model | " + " | ".join(f"{d} {h}" for d, h in cells) + " |",
        "|---|" + "---|" * len(cells),
    ]
    for model in REFERENCE_ROW:
        runs = paper[paper["model"] == model]
        entries = []
        for d, h in cells:
            seeds = sorted(runs[(runs["dataset"] == d) & (runs["horizon"] == h)]["seed"])
            entries.append(",".join(str(s) for s in seeds) or "-")
        lines.append(f"| {model} | " + " | ".join(entries) + " |")
    return lines


def validation_choice(frame):
    """What the search chose, from the runs of ``ltsf.csv``: per cell and model, the settings
    (overrides of ``paper_params``, lookback included) with the lowest mean validation MSE
    among those run with three seeds or more. ``TUNED`` in
    ``skmamba/estimators/_ltsf_settings.py`` holds the result (a test compares them); which
    model, or average of models, is best in a cell is ``ltsf_ensemble.ensemble_choice``'s.

    Returns ``{(dataset, horizon): {class name: overrides}}``, shaped like ``TUNED``."""
    df = pd.DataFrame(frame)
    df = df[(df["tag"].isna() | (df["tag"] == "")) & df["val_mse"].notna()].copy()
    lookbacks = df["seq_len"].fillna(96).astype(int)

    df["overrides"] = [json.dumps(run_overrides(p, m, L), sort_keys=True)
                       for p, m, L in zip(df["params"], df["model"], lookbacks)]
    runs = df.groupby(["dataset", "horizon", "model", "overrides"]).agg(
        val_mse=("val_mse", "mean"), seeds=("seed", "nunique")).reset_index()
    runs = runs[runs["seeds"] >= 3]
    tuned = {}
    for (dataset, horizon), cell in runs.groupby(["dataset", "horizon"]):
        top = cell.loc[cell.groupby("model")["val_mse"].idxmin()]
        tuned[(dataset, int(horizon))] = {MODELS[m].__name__: json.loads(o)
                                          for m, o in zip(top["model"], top["overrides"])}
    return tuned


def run_overrides(params, model, seq_len=96):
    """What a run changed from ``paper_params``: its ``--set`` overrides for ``model`` (the
    ``params`` JSON of ``ltsf.csv``) and its lookback when not the published 96."""
    overrides = model_overrides(json.loads(params) if isinstance(params, str) else {}, model)
    if seq_len != 96:
        overrides["seq_len"] = seq_len
    return overrides


def settings_text(params, model, seq_len=96):
    """The ``--set`` overrides (and a lookback other than the published 96) that applied to a
    run, as short text; "paper settings" if none."""
    return overrides_text(run_overrides(params, model, seq_len))


def overrides_text(overrides):
    """Overrides of ``paper_params`` as short text; "paper settings" if none."""
    return ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "paper settings"


def plot_window(npz_file, png_file, title):
    """Plot forecast against truth for the target column of one test window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = np.load(npz_file)
    col = -1  # OT, the column ETT papers forecast in the univariate setting
    context, truth, forecast = data["context"][:, col], data["truth"][:, col], data["forecast"][:, col]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    t_ctx = np.arange(-len(context), 0)
    t_fut = np.arange(len(truth))
    ax.plot(t_ctx, context, color="0.4", label="lookback")
    ax.plot(t_fut, truth, color="black", label="truth")
    ax.plot(t_fut, forecast, color="tab:red", label="forecast")
    ax.set_title(title)
    ax.set_xlabel("hours from forecast origin")
    ax.set_ylabel(f"{data['columns'][col]} (scaled)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(png_file, dpi=110)
    plt.close(fig)


def run_settings(args, model, dataset, horizon):
    """The lookback and the overrides of ``paper_params`` for one run. With ``--settings
    tuned`` the overrides are the cell's ``tuned_params`` (recorded as overrides, so a
    tuned run groups with the search runs of the same settings); ``--set`` and
    ``--seq-len`` apply on top."""
    overrides = {}
    if args.settings == "tuned":
        cls = MODELS[model]
        paper = cls.paper_params(dataset)
        overrides = {k: v for k, v in cls.tuned_params(dataset, horizon).items()
                     if paper.get(k) != v}
    seq_len = args.seq_len or overrides.pop("seq_len", 96)
    overrides.pop("seq_len", None)
    return seq_len, {**overrides, **model_overrides(args.set, model)}


def forecasts_key(overrides):
    """A short stable name for a run's overrides, to tell its forecasts file apart."""
    import hashlib

    text = json.dumps(overrides, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def parse_set(items):
    """Parse ``key=value`` overrides into a dict with Python literals where possible."""
    import ast

    out = {}
    for item in items or []:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="folder holding the ETT CSV files (default: ../shared/data if "
                        "it exists, else SKMAMBA_DATA_DIR, else the skmamba cache, "
                        "downloading into it once)")
    parser.add_argument("--datasets", nargs="+", default=["ETTh1", "ETTh2"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--horizons", nargs="+", type=int, default=[96, 192, 336, 720])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--seq-len", type=int, default=None,
                        help="lookback (default: the settings' own, 96 for the papers')")
    parser.add_argument("--settings", choices=["paper", "tuned"], default="paper",
                        help="start from each model's paper_params, or from its tuned_params "
                        "for the cell (the settings the validation search chose); --set "
                        "overrides either")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    parser.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                        help="estimator parameter overrides: key=value for every model, "
                        "Model.key=value for one (e.g. MixMamba.d_model=32)")
    parser.add_argument("--tag", default="",
                        help="label kept with these runs and shown after their settings "
                        "(e.g. the code version), so runs of different code stay apart")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    parser.add_argument("--append", action="store_true",
                        help="keep the runs already in ltsf.csv and add these")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite ltsf.md from the runs in ltsf.csv without running")
    parser.add_argument("--forecasts-dir", default=None,
                        help="also keep each run's validation and test forecasts there, one "
                        ".npz per run, for benchmarks/ltsf_ensemble.py")
    parser.add_argument("--smoke-rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--horizon", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plot-file", help=argparse.SUPPRESS)
    parser.add_argument("--forecasts-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.set = parse_set(args.set)
    if any(key.rpartition(".")[2] == "seq_len" for key in args.set):
        # The lookback also moves the validation and test borders, so it has its own option.
        parser.error("set the lookback with --seq-len, not --set seq_len=...")

    if args.single:
        args.seq_len = args.seq_len or 96
        print(json.dumps(run_one(args)))
        return 0

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        frame = pd.read_csv(out_dir / "ltsf.csv")
        write_report(frame.to_dict("records"), out_dir, machines_text(frame), args.threads)
        return 0
    from skmamba.datasets import load_ett

    for dataset in args.datasets:  # any download happens once, here, before the runs
        load_ett(dataset, args.data_dir)
    plot_npz = out_dir / "ltsf_forecast.npz"
    if args.forecasts_dir:
        Path(args.forecasts_dir).mkdir(parents=True, exist_ok=True)
    jobs = [
        (d, m, h, s)
        for d in args.datasets for h in args.horizons for m in args.models for s in args.seeds
    ]

    def launch(job, plot):
        dataset, model, horizon, seed = job
        seq_len, overrides = run_settings(args, model, dataset, horizon)
        cmd = [
            sys.executable, __file__, "--single", "--dataset", dataset, "--model", model,
            "--horizon", str(horizon), "--seed", str(seed),
            "--seq-len", str(seq_len), "--device", args.device,
            "--threads", str(args.threads), "--smoke-rows", str(args.smoke_rows),
        ]
        if args.data_dir is not None:
            cmd += ["--data-dir", args.data_dir]
        if args.tag:
            cmd += ["--tag", args.tag]
        if overrides:
            cmd += ["--set", *[f"{k}={v!r}" for k, v in overrides.items()]]
        if plot:
            cmd += ["--plot-file", str(plot_npz)]
        if args.forecasts_dir:
            name = f"{dataset}-{model}-H{horizon}-L{seq_len}-s{seed}-{forecasts_key(overrides)}"
            cmd += ["--forecasts-file", str(Path(args.forecasts_dir) / f"{name}.npz")]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"run {job} failed:\n{proc.stderr[-4000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{dataset} {model:>13} H={horizon:<3} seed={seed}: MSE {result['mse']:.4f} "
            f"MAE {result['mae']:.4f}, validation MSE {result['val_mse']:.4f} "
            f"({result['n_epochs']} epochs, "
            f"{result['seconds_per_epoch']} s/epoch, peak {result['peak_rss_mb']} MB)",
            flush=True,
        )
        return result

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda ij: launch(ij[1], ij[0] == 0), enumerate(jobs)))

    csv_file = out_dir / "ltsf.csv"
    if args.append and csv_file.exists():
        results = pd.read_csv(csv_file).to_dict("records") + results
    machine = machine_description(args.device)
    frame = pd.DataFrame(results)
    frame["machine"] = frame.get("machine", machine)
    frame["machine"] = frame["machine"].fillna(machine)
    frame.to_csv(csv_file, index=False)
    write_report(frame.to_dict("records"), out_dir, machines_text(frame), args.threads)
    first = jobs[0]
    plot_window(plot_npz, out_dir / "ltsf_forecast.png",
                f"{first[1]} on {first[0]}, H={first[2]}: first test window, column OT")
    plot_npz.unlink()
    print(f"wrote {csv_file}, {out_dir / 'ltsf.md'}, {out_dir / 'ltsf_forecast.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
