"""Ensembles on the ETTh protocol: average the forecasts of several settings, choose on validation.

``benchmarks/ltsf.py --forecasts-dir DIR`` keeps each run's forecasts of the validation and test
windows. For every ETTh cell this script forms each combination of the settings run there (a
setting is a model with its overrides and lookback), averages the members' forecasts window by
window, which is what sktime's ``EnsembleForecaster`` with ``aggfunc="mean"`` predicts, and
scores the average as ``ltsf.py`` scores a single run. Ensemble seed ``s`` averages the members'
runs of seed ``s``, so the mean over seeds is over independent ensembles.

Two rules choose a combination per cell, both from the validation rows alone; the test rows are
scored but never looked at to choose:

- ``"lowest validation MSE"``: the combination with the lowest mean validation MSE over three
  seeds or more (one member is a combination too, so an ensemble is chosen only where it wins);
- ``"average of all"``: every setting run on three seeds in the cell, averaged. Nothing is
  selected, so nothing can be fitted to the validation period's noise; simple averages are
  known to be hard to beat with selected or fitted combinations (the "forecast combination
  puzzle", Stock and Watson 2004; Smith and Wallis 2009).

:func:`combination_rule` decides between them on the validation rows: it splits the
validation windows in two halves in time (no target row in both), chooses the lowest-MSE
combination on the first half, and compares its MSE on the second half with the average of
all there; the rule with the lower mean log-ratio over the cells is used in every cell.
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


def validation_halves(n_windows, horizon):
    """The first and second halves in time of a cell's validation windows, as slices, with no
    target row in both: the second half starts after the first half's last target row."""
    half = n_windows // 2
    return slice(0, half), slice(half + horizon - 1, n_windows)


def score_cell(cell_runs, targets):
    """Rows of scores for each combination of the cell's settings and each seed they share:
    MSE and MAE on the validation and the test windows, and the validation MSE of each half
    of the validation windows (:func:`validation_halves`).

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
                if part == "val":
                    halves = validation_halves(len(mean), mean.shape[1])
                    for name, rows_ in zip(("val_first_mse", "val_second_mse"), halves):
                        row[name] = (ltsf.score(mean[rows_], targets[part][rows_])[0]
                                     if len(mean[rows_]) else np.nan)
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
    for column in ("val_first_mse", "val_second_mse"):
        if column not in df:
            df[column] = np.nan
    means = df.groupby(["dataset", "horizon", "members", "n_members"]).agg(
        val_mse=("val_mse", "mean"), val_first_mse=("val_first_mse", "mean"),
        val_second_mse=("val_second_mse", "mean"), mse=("mse", "mean"), mae=("mae", "mean"),
        mse_std=("mse", "std"), seeds=("seed", lambda s: ",".join(map(str, sorted(s)))),
        n_seeds=("seed", "nunique"),
    ).reset_index()
    means["text"] = [" + ".join(member_text(m) for m in json.loads(c))
                     for c in means["members"]]
    return means


LOWEST, ALL = "lowest validation MSE", "average of all"


def chosen(means, rule=LOWEST, min_seeds=3, score="val_mse"):
    """Per cell, the row of :func:`combination_means` that ``rule`` picks among combinations
    scored on ``min_seeds`` seeds or more: the lowest mean ``score`` (fewer members on a tie),
    or the combination of every such setting (:data:`ALL`)."""
    full = means[means["n_seeds"] >= min_seeds]
    order = [score, "n_members"] if rule == LOWEST else ["n_members", score]
    ascending = [True, True] if rule == LOWEST else [False, True]
    return full.sort_values(order, ascending=ascending).groupby(
        ["dataset", "horizon"], sort=True).head(1).sort_values(["dataset", "horizon"])


def combination_rule(means, min_seeds=3):
    """Which rule the validation rows favour, and the per-cell evidence.

    In each cell, the combination with the lowest MSE on the first half of the validation
    windows is scored on the second half, against the average of all settings there. The
    rule with the lower mean of log(MSE) over the cells wins; :data:`LOWEST` on a tie or
    where no cell can be compared. Returns ``(rule, table)``, the table one row per cell."""
    lowest = chosen(means, LOWEST, min_seeds, score="val_first_mse")
    every = chosen(means, ALL, min_seeds)
    table = lowest.merge(every, on=["dataset", "horizon"], suffixes=("_lowest", "_all"))
    table = table[["dataset", "horizon", "text_lowest", "val_second_mse_lowest",
                   "text_all", "val_second_mse_all"]].dropna()
    if table.empty:
        return LOWEST, table
    log_ratio = np.log(table["val_second_mse_all"] / table["val_second_mse_lowest"]).mean()
    return (ALL if log_ratio < 0 else LOWEST), table


def ensemble_choice(frame, min_seeds=3):
    """The choice of every cell, ``{(dataset, horizon): [(class name, overrides), ...]}``,
    shaped like ``_ltsf_settings.BEST``: :func:`chosen` by the rule
    :func:`combination_rule` finds on the validation rows."""
    from skmamba.estimators import MODELS

    means = combination_means(frame)
    rule, _ = combination_rule(means, min_seeds)
    return {
        (top.dataset, int(top.horizon)): [
            (MODELS[model].__name__, overrides)
            for model, overrides in map(json.loads, json.loads(top.members))
        ]
        for top in chosen(means, rule, min_seeds).itertuples()
    }


# Cells with ten settings have 1,023 combinations: the report lists the leading ones.
REPORTED = 25


def write_report(frame, out_file):
    """The combination each cell gets under the rule the validation rows favour, against the
    other rule's, the best single setting and the best published MSE; the evidence for the
    rule; then every combination's means."""
    means = combination_means(frame)
    rule, check = combination_rule(means)
    other = ALL if rule == LOWEST else LOWEST
    lines = [
        "# Ensembles on the ETTh protocol (benchmarks/ltsf_ensemble.py)",
        "",
        "Each combination of the settings run in a cell averages its members' forecasts of",
        "every validation and test window (sktime's EnsembleForecaster, aggfunc=\"mean\");",
        "seed s of a combination averages its members' runs of seed s. Two rules choose a",
        "combination from the validation rows, among combinations run on three seeds: the",
        f"lowest mean validation MSE (\"{LOWEST}\"; a single setting competes too), or every",
        f"setting averaged (\"{ALL}\"). The rule used is the one the validation rows favour",
        "(below). The test MSE is the mean over the same seeds; the test rows choose nothing.",
        "The members' own runs, with their cost (seconds per epoch, peak memory), are rows of",
        "ltsf.md; an ensemble costs the sum of its members.",
        "",
        f"Rule used: **{rule}**.",
        "",
        f"| dataset | H | chosen | val MSE | MSE | MAE | other rule (\"{other}\") "
        "| its MSE | best single (val) | its MSE | best published | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    singles = chosen(means[means["n_members"] == 1]).set_index(["dataset", "horizon"])
    other_choice = chosen(means, other).set_index(["dataset", "horizon"])
    for top in chosen(means, rule).to_dict("records"):
        cell = top["dataset"], top["horizon"]
        pub_best, pub_name = ltsf.best_published(*cell)
        others = []
        for table in (other_choice, singles):
            row = table.loc[cell] if cell in table.index else None
            others.append(f"{row['text']} | {row['mse']:.3f}" if row is not None else "– | –")
        lines.append(
            f"| {cell[0]} | {cell[1]} | {top['text']} | {top['val_mse']:.3f} | "
            f"{top['mse']:.3f} | {top['mae']:.3f} | {others[0]} | {others[1]} | "
            f"{pub_best:.3f} ({pub_name}) | {top['mse'] / pub_best:.3f} |"
        )
    lines += [
        "",
        "Which rule: the validation windows are split into two halves in time (no target row",
        "in both). The combination with the lowest MSE on the first half is scored on the",
        "second half, against the average of all settings there (validation rows only).",
    ]
    if check.empty:
        lines += ["No cell can be compared: these runs were scored before the halves were",
                  f"(the csv has no val_first_mse), so the rule is \"{rule}\"."]
    else:
        lines += [
            "",
            "| dataset | H | lowest on the first half | its second-half MSE | average of all "
            "| its second-half MSE |",
            "|---|---|---|---|---|---|",
        ]
        for row in check.itertuples():
            lines.append(f"| {row.dataset} | {row.horizon} | {row.text_lowest} | "
                         f"{row.val_second_mse_lowest:.3f} | {row.text_all} | "
                         f"{row.val_second_mse_all:.3f} |")
        ratio = np.exp(np.log(check["val_second_mse_all"]
                              / check["val_second_mse_lowest"]).mean())
        lines += ["", f"Geometric mean of the ratio (average of all / lowest on the first "
                  f"half): {ratio:.3f}, so the rule is \"{rule}\"."]
    lines += [
        "",
        f"The {REPORTED} combinations with the lowest validation MSE in each cell (mean over the",
        f"seeds listed; {out_file.with_suffix('.csv').name} holds every combination and seed):",
        "",
        "| dataset | H | members | seeds | val MSE | MSE | MSE std | MAE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ranked = means.sort_values(["dataset", "horizon", "val_mse"])
    for row in ranked.groupby(["dataset", "horizon"]).head(REPORTED).itertuples():
        std = "–" if np.isnan(row.mse_std) else f"{row.mse_std:.3f}"
        lines.append(f"| {row.dataset} | {row.horizon} | {row.text} | {row.seeds} | "
                     f"{row.val_mse:.3f} | {row.mse:.3f} | {std} | {row.mae:.3f} |")
    out_file.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forecasts-dir",
                        help="the --forecasts-dir of the ltsf.py runs (required unless "
                        "--report-only)")
    parser.add_argument("--data-dir", default=ltsf.DEFAULT_DATA_DIR,
                        help="folder holding the ETT CSV files (as for ltsf.py)")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    parser.add_argument("--append", action="store_true",
                        help="keep the cells of ltsf_ensemble.csv that the forecasts folder "
                        "does not hold")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite ltsf_ensemble.md from ltsf_ensemble.csv without scoring")
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)
    if args.report_only:
        write_report(pd.read_csv(out_dir / "ltsf_ensemble.csv"), out_dir / "ltsf_ensemble.md")
        return 0
    if not args.forecasts_dir:
        parser.error("--forecasts-dir is required (or --report-only)")

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
