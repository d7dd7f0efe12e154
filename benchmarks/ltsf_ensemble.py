"""Ensembles on the ETTh protocol: average the forecasts of several settings, choose on validation.

``benchmarks/ltsf.py --forecasts-dir DIR`` keeps each run's forecasts of the validation and test
windows. For every ETTh cell this script forms each combination of the settings run there (a
setting is a model with its overrides and lookback), averages the members' forecasts window by
window, which is what sktime's ``EnsembleForecaster`` with ``aggfunc="mean"`` predicts, and
scores the average as ``ltsf.py`` scores a single run. Ensemble seed ``s`` averages the members'
runs of seed ``s``, so the mean over seeds is over independent ensembles.

The choice per cell is the combination with the lowest mean validation MSE over three seeds or
more (one member is a combination too, so an ensemble is chosen only where it wins on the
validation rows); the test rows are scored but never looked at to choose.
``skmamba/estimators/_ltsf_settings.py`` holds the choice (``BEST``) and a test compares it with
:func:`ensemble_choice` of the committed results.

Usage::

    python benchmarks/ltsf.py --datasets ETTh1 --horizons 336 --models MAT --seq-len 336 \\
        --set lr=0.0001 --seeds 0 1 2 --forecasts-dir /tmp/forecasts --out-dir /tmp/mat
    python benchmarks/ltsf.py --datasets ETTh1 --horizons 336 --models MixMamba \\
        --seeds 0 1 2 --forecasts-dir /tmp/forecasts --out-dir /tmp/mix
    python benchmarks/ltsf_ensemble.py --forecasts-dir /tmp/forecasts

Writes ``benchmarks/results/ltsf_ensemble.csv`` (every combination and seed; ``--append`` keeps
the cells already there that the forecasts folder does not hold) and ``ltsf_ensemble.md``.
"""

import argparse
import importlib.util
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _load_ltsf():
    """benchmarks/ltsf.py, where the protocol, the scores and the published table live
    (loaded from its file: the benchmarks folder is not a package)."""
    spec = importlib.util.spec_from_file_location("ltsf", HERE / "ltsf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ltsf = _load_ltsf()


def member_key(model, params, seq_len):
    """A setting as JSON: the model and what it changed from ``paper_params``."""
    return json.dumps([model, ltsf.run_overrides(params, model, int(seq_len))], sort_keys=True)


def member_text(key):
    model, overrides = json.loads(key)
    return f"{model} ({ltsf.overrides_text(overrides)})"


def load_runs(forecasts_dir):
    """One record per forecasts file: its cell, seed, setting and file."""
    runs = []
    for path in sorted(Path(forecasts_dir).glob("*.npz")):
        with np.load(path) as z:
            runs.append(dict(
                dataset=str(z["dataset"]), horizon=int(z["horizon"]), seed=int(z["seed"]),
                member=member_key(str(z["model"]), str(z["params"]), int(z["seq_len"])),
                file=path,
            ))
    return pd.DataFrame(runs)


def combinations(members):
    """Every non-empty combination of the members, smallest first."""
    for size in range(1, len(members) + 1):
        yield from itertools.combinations(sorted(members), size)


def score_cell(cell_runs, targets):
    """Rows of scores for each combination of the cell's settings and each seed they share.

    ``targets`` maps "val" and "test" to the target windows (n_windows, horizon, n_columns)."""
    forecasts = {}
    for run in cell_runs.itertuples():
        with np.load(run.file) as z:
            forecasts[(run.member, run.seed)] = {part: z[part] for part in ("val", "test")}
    seeds_of = cell_runs.groupby("member")["seed"].apply(set).to_dict()
    rows = []
    for combo in combinations(seeds_of):
        for seed in sorted(set.intersection(*(seeds_of[m] for m in combo))):
            row = dict(members=json.dumps(list(combo)), n_members=len(combo), seed=seed)
            for part, prefix in (("val", "val_"), ("test", "")):
                mean = np.mean([forecasts[(m, seed)][part] for m in combo], axis=0)
                if mean.shape != targets[part].shape:
                    raise ValueError(f"{part} forecasts of {combo} have shape {mean.shape}, "
                                     f"the targets {targets[part].shape}")
                row[prefix + "mse"], row[prefix + "mae"] = ltsf.score(mean, targets[part])
            rows.append(row)
    return rows


def cell_targets(dataset, horizon, data_dir):
    """The validation and test target windows of a cell (the same for every lookback: a
    window's targets start at the split's first row whatever the context before it)."""
    data, borders = ltsf.load_protocol_data(dataset, data_dir, seq_len=96)
    out = {}
    for part in ("val", "test"):
        rows = data.iloc[borders[part][0]: borders[part][1]]
        out[part] = ltsf.window_targets(rows, 96, horizon)
    return out


def combination_means(frame):
    """Each combination's scores averaged over its seeds, with the seeds listed."""
    df = pd.DataFrame(frame)
    means = df.groupby(["dataset", "horizon", "members", "n_members"]).agg(
        val_mse=("val_mse", "mean"), mse=("mse", "mean"), mae=("mae", "mean"),
        mse_std=("mse", "std"), seeds=("seed", lambda s: ",".join(map(str, sorted(s)))),
        n_seeds=("seed", "nunique"),
    ).reset_index()
    means["text"] = [" + ".join(member_text(m) for m in json.loads(c))
                     for c in means["members"]]
    return means


def chosen(means, min_seeds=3):
    """Per cell, the row of :func:`combination_means` with the lowest mean validation MSE
    among combinations scored on ``min_seeds`` seeds or more (fewer members on a tie)."""
    full = means[means["n_seeds"] >= min_seeds]
    return full.sort_values(["val_mse", "n_members"]).groupby(
        ["dataset", "horizon"], sort=True).head(1).sort_values(["dataset", "horizon"])


def ensemble_choice(frame, min_seeds=3):
    """The choice of every cell, ``{(dataset, horizon): [(class name, overrides), ...]}``,
    shaped like ``_ltsf_settings.BEST`` (see :func:`chosen`)."""
    from skmamba.estimators import MODELS

    return {
        (top.dataset, int(top.horizon)): [
            (MODELS[model].__name__, overrides)
            for model, overrides in map(json.loads, json.loads(top.members))
        ]
        for top in chosen(combination_means(frame), min_seeds).itertuples()
    }


def write_report(frame, out_file):
    """The chosen combination of each cell against its best single setting and the best
    published MSE, then every combination's means."""
    means = combination_means(frame)
    lines = [
        "# Ensembles on the ETTh protocol (benchmarks/ltsf_ensemble.py)",
        "",
        "Each combination of the settings run in a cell averages its members' forecasts of",
        "every validation and test window (sktime's EnsembleForecaster, aggfunc=\"mean\");",
        "seed s of a combination averages its members' runs of seed s. The choice is the",
        "lowest mean validation MSE among combinations with three seeds (a single setting",
        "competes too); the test MSE is the mean over the same seeds. The members' own runs,",
        "with their cost (seconds per epoch, peak memory), are rows of ltsf.md; an ensemble",
        "costs the sum of its members.",
        "",
        "| dataset | H | chosen on validation | val MSE | MSE | MAE | best single (val) | its MSE "
        "| best published | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    singles = chosen(means[means["n_members"] == 1]).set_index(["dataset", "horizon"])
    for top in chosen(means).to_dict("records"):
        dataset, horizon = top["dataset"], top["horizon"]
        single = singles.loc[(dataset, horizon)] if (dataset, horizon) in singles.index else None
        pub_best, pub_name = ltsf.best_published(dataset, horizon)
        single_cells = (f"{single['text']} | {single['mse']:.3f}" if single is not None
                        else "– | –")
        lines.append(
            f"| {dataset} | {horizon} | {top['text']} | {top['val_mse']:.3f} | "
            f"{top['mse']:.3f} | {top['mae']:.3f} | {single_cells} | "
            f"{pub_best:.3f} ({pub_name}) | {top['mse'] / pub_best:.3f} |"
        )
    lines += [
        "",
        "Every combination (mean over the seeds listed):",
        "",
        "| dataset | H | members | seeds | val MSE | MSE | MSE std | MAE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in means.sort_values(["dataset", "horizon", "val_mse"]).itertuples():
        std = "–" if np.isnan(row.mse_std) else f"{row.mse_std:.3f}"
        lines.append(f"| {row.dataset} | {row.horizon} | {row.text} | {row.seeds} | "
                     f"{row.val_mse:.3f} | {row.mse:.3f} | {std} | {row.mae:.3f} |")
    out_file.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forecasts-dir", required=True,
                        help="the --forecasts-dir of the ltsf.py runs")
    parser.add_argument("--data-dir", default=ltsf.DEFAULT_DATA_DIR,
                        help="folder holding the ETT CSV files (as for ltsf.py)")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    parser.add_argument("--append", action="store_true",
                        help="keep the cells of ltsf_ensemble.csv that the forecasts folder "
                        "does not hold")
    args = parser.parse_args(argv)

    runs = load_runs(args.forecasts_dir)
    if runs.empty:
        parser.error(f"no forecasts (*.npz) in {args.forecasts_dir}; run ltsf.py with "
                     "--forecasts-dir first")
    rows = []
    for (dataset, horizon), cell in runs.groupby(["dataset", "horizon"]):
        targets = cell_targets(dataset, int(horizon), args.data_dir)
        for row in score_cell(cell, targets):
            rows.append(dict(dataset=dataset, horizon=int(horizon), **row))
        print(f"{dataset} H={horizon}: {cell['member'].nunique()} settings scored", flush=True)
    frame = pd.DataFrame(rows)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_file = out_dir / "ltsf_ensemble.csv"
    if args.append and csv_file.exists():
        old = pd.read_csv(csv_file)
        held = set(zip(frame["dataset"], frame["horizon"]))
        keep = [(d, h) not in held for d, h in zip(old["dataset"], old["horizon"])]
        frame = pd.concat([old[keep], frame], ignore_index=True)
    frame = frame.sort_values(["dataset", "horizon", "n_members", "members", "seed"])
    frame.to_csv(csv_file, index=False)
    write_report(frame, out_dir / "ltsf_ensemble.md")
    print(f"wrote {csv_file} and {out_dir / 'ltsf_ensemble.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
