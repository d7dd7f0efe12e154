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

The error of an average is the average of its members' errors, so its MSE is a sum of the
inner products of the members' errors: the script computes those products once per cell, seed
and stretch of windows (validation, each validation half, test), and every combination's MSE
follows from them, exactly, without another pass over the forecasts. Only the MAE needs a pass
per combination; it is computed for the combinations the report shows.

Writes ``benchmarks/results/ltsf_ensemble_products.csv`` (the error products, from which
:func:`combination_scores` rebuilds every combination's MSEs), ``ltsf_ensemble.csv`` (the
combinations the report shows, with their MAE) and ``ltsf_ensemble.md``; ``--append`` keeps the
cells already there that the forecasts folder does not hold.
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


# A cell of ten settings has 1,023 combinations, ETTh1 720's 19 settings 524,287: the report
# lists the leading ones (and the scores give their MAE).
REPORTED = 25


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


# Windows per block when summing products of errors (bounds the memory of one block).
_BLOCK = 64

# The stretches of windows whose error products are kept: all validation windows, each half
# of them (validation_halves) and the test windows.
SEGMENTS = ("val", "val_first", "val_second", "test")


def _error_products(forecasts, target, rows):
    """The matrix of inner products of the members' errors over the windows ``rows``
    (float64): entry (i, j) sums ``(f_i - y) * (f_j - y)`` over those windows' values."""
    products = np.zeros((len(forecasts), len(forecasts)))
    for start in range(rows.start, rows.stop, _BLOCK):
        block = slice(start, min(start + _BLOCK, rows.stop))
        errors = np.stack([np.asarray(f[block], dtype=np.float64).ravel()
                           for f in forecasts]) - np.asarray(target[block]).ravel()
        products += errors @ errors.T
    return products


def _segments(targets):
    """Each of :data:`SEGMENTS` as (part, windows)."""
    n_val, horizon = targets["val"].shape[:2]
    first, second = validation_halves(n_val, horizon)
    return {"val": ("val", slice(0, n_val)), "val_first": ("val", first),
            "val_second": ("val", second), "test": ("test", slice(0, len(targets["test"])))}


def _load_forecasts(cell_runs, targets):
    forecasts = {}
    for run in cell_runs.itertuples():
        with np.load(run.file) as z:
            for part in ("val", "test"):
                if z[part].shape != targets[part].shape:
                    raise ValueError(f"{part} forecasts of {run.member} (seed {run.seed}) have "
                                     f"shape {z[part].shape}, the targets {targets[part].shape}")
            forecasts[(run.member, run.seed)] = {part: z[part] for part in ("val", "test")}
    return forecasts


def error_products(cell_runs, targets, forecasts=None):
    """Rows of the inner products of every two settings' errors (forecast minus target), per
    seed and segment (:data:`SEGMENTS`), with the number of values summed (``n_values``).

    The error of an average is the average of its members' errors, so the MSE of any
    combination follows from these (:func:`combination_scores`): one pass over the forecasts
    scores every combination. ``targets`` maps "val" and "test" to the target windows
    (n_windows, horizon, n_columns)."""
    forecasts = _load_forecasts(cell_runs, targets) if forecasts is None else forecasts
    per_window = int(np.prod(targets["val"].shape[1:]))
    (dataset, horizon), = set(zip(cell_runs["dataset"], cell_runs["horizon"]))
    rows = []
    for seed in sorted(cell_runs["seed"].unique()):
        members = sorted(cell_runs.loc[cell_runs["seed"] == seed, "member"].unique())
        for segment, (part, windows) in _segments(targets).items():
            products = _error_products([forecasts[(m, seed)][part] for m in members],
                                       targets[part], windows)
            n_values = (windows.stop - windows.start) * per_window
            for i, j in itertools.combinations_with_replacement(range(len(members)), 2):
                rows.append(dict(dataset=dataset, horizon=int(horizon), seed=int(seed),
                                 segment=segment, n_values=n_values,
                                 member_a=members[i], member_b=members[j],
                                 product=products[i, j]))
    return rows


def _product_matrix(rows, index):
    """The members' error products per value as a symmetric matrix (``index`` maps a member
    to its row), summed over the rows of each pair."""
    matrix = np.zeros((len(index), len(index)))
    a, b = rows["member_a"].map(index).to_numpy(), rows["member_b"].map(index).to_numpy()
    np.add.at(matrix, (a, b), (rows["product"] / rows["n_values"]).to_numpy())
    return matrix + np.triu(matrix, 1).T  # error_products keeps one triangle


def combination_scores(products):
    """Every combination of each cell's settings, for each seed its members share, scored
    from :func:`error_products`' rows: ``val_mse``, ``mse`` (test), ``val_first_mse`` and
    ``val_second_mse`` (NaN where a half holds no window)."""
    products = pd.DataFrame(products)
    keys = ["dataset", "horizon"]
    out, layouts = [], {}
    for key, group in products.groupby(keys + ["seed"], sort=True):
        members = tuple(sorted(set(group["member_a"]) | set(group["member_b"])))
        index = {m: i for i, m in enumerate(members)}
        if members not in layouts:  # the seeds of a cell usually share their settings
            combos = list(combinations(members))
            weights = np.zeros((len(combos), len(members)))
            for row, combo in enumerate(combos):
                weights[row, [index[m] for m in combo]] = 1.0 / len(combo)
            layouts[members] = weights, pd.DataFrame(dict(
                members=[json.dumps(list(c)) for c in combos],
                n_members=[len(c) for c in combos]))
        weights, layout = layouts[members]
        scores = dict(zip(keys, key[:-1]), seed=key[-1])
        frame = layout.copy()
        for segment, column in zip(SEGMENTS, ("val_mse", "val_first_mse", "val_second_mse",
                                              "mse")):
            rows = group[group["segment"] == segment]
            frame[column] = (np.einsum("cm,mn,cn->c", weights, _product_matrix(rows, index),
                                       weights) if rows["n_values"].all() else np.nan)
        out.append(frame.assign(**scores))
    columns = keys + ["members", "n_members", "seed", "val_mse", "mse", "val_first_mse",
                      "val_second_mse"]
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


def mae_rows(cell_runs, targets, members, forecasts=None):
    """The validation and test MAE of the averages of ``members`` (combinations as JSON),
    for each seed their settings share: a pass over the forecasts per combination, so only
    for what the report shows (:func:`reported`)."""
    forecasts = _load_forecasts(cell_runs, targets) if forecasts is None else forecasts
    seeds_of = cell_runs.groupby("member")["seed"].apply(set).to_dict()
    rows = []
    for key in members:
        combo = json.loads(key)
        for seed in sorted(set.intersection(*(seeds_of[m] for m in combo))):
            row = dict(dataset=cell_runs["dataset"].iloc[0],
                       horizon=int(cell_runs["horizon"].iloc[0]), members=key,
                       n_members=len(combo), seed=seed)
            for part, prefix in (("val", "val_"), ("test", "")):
                mean = np.mean([np.asarray(forecasts[(m, seed)][part], dtype=np.float64)
                                for m in combo], axis=0)
                row[prefix + "mse"], row[prefix + "mae"] = ltsf.score(mean, targets[part])
            rows.append(row)
    return rows


def reported(scores):
    """Per cell, the combinations the report shows (JSON keys): the :data:`REPORTED` with the
    lowest mean validation MSE, each rule's choice and every single setting."""
    means = combination_means(scores)
    out = set(means[means["n_members"] == 1]["members"])
    out |= set(means.sort_values("val_mse").groupby(["dataset", "horizon"]).head(REPORTED)[
        "members"])
    for rule in (LOWEST, ALL):
        out |= set(chosen(means, rule)["members"])
    return out


def score_cell(cell_runs, targets):
    """:func:`error_products` of a cell and its scored combinations: every combination's
    MSEs (:func:`combination_scores`), with the MAE of those the report shows."""
    forecasts = _load_forecasts(cell_runs, targets)
    products = error_products(cell_runs, targets, forecasts)
    scores = combination_scores(products)
    mae = pd.DataFrame(mae_rows(cell_runs, targets, reported(scores), forecasts))
    return products, with_mae(scores, mae).to_dict("records")


def with_mae(scores, mae):
    """``scores`` with the ``val_mae`` and ``mae`` columns of ``mae`` where it has the
    combination and seed (NaN elsewhere)."""
    mae = pd.DataFrame(mae, columns=["dataset", "horizon", "members", "seed", "val_mae", "mae"])
    return pd.DataFrame(scores).merge(mae, how="left",
                                      on=["dataset", "horizon", "members", "seed"])


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
    for column in ("val_first_mse", "val_second_mse", "mae"):
        if column not in df:
            df[column] = np.nan
    # A cell of 19 settings has half a million combinations: aggregate without Python
    # callbacks per group (the seeds as a bit mask, each member's text once).
    df["seed_bits"] = np.left_shift(1, df["seed"].astype(np.int64))
    means = df.groupby(["dataset", "horizon", "members", "n_members"]).agg(
        val_mse=("val_mse", "mean"), val_first_mse=("val_first_mse", "mean"),
        val_second_mse=("val_second_mse", "mean"), mse=("mse", "mean"), mae=("mae", "mean"),
        mse_std=("mse", "std"), seed_bits=("seed_bits", "sum"), n_seeds=("seed", "nunique"),
    ).reset_index()
    seeds = {bits: ",".join(str(b) for b in range(int(bits).bit_length()) if bits >> b & 1)
             for bits in means["seed_bits"].unique()}
    means["seeds"] = means.pop("seed_bits").map(seeds)
    texts = {}
    means["text"] = [" + ".join(texts.get(m) or texts.setdefault(m, member_text(m))
                                for m in json.loads(c)) for c in means["members"]]
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


def _simplex_weights(products):
    """The non-negative weights summing to one that minimise ``w @ products @ w``: the
    weighted average with the lowest MSE, given the members' error products."""
    from scipy.optimize import minimize

    n = len(products)
    fit = minimize(lambda w: w @ products @ w, np.full(n, 1.0 / n),
                   jac=lambda w: 2 * products @ w, bounds=[(0.0, 1.0)] * n,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
                   method="SLSQP", options={"ftol": 1e-12, "maxiter": 1000})
    return fit.x


def _mean_products(cell, segment, members, seeds):
    """The error products of ``members`` on ``segment``, per value and averaged over
    ``seeds``, as a matrix."""
    index = {m: i for i, m in enumerate(members)}
    rows = cell[(cell["segment"] == segment) & cell["seed"].isin(seeds)
                & cell["member_a"].isin(index) & cell["member_b"].isin(index)]
    return _product_matrix(rows, index) / len(seeds)


def weights_check(products, min_seeds=3):
    """Weighted averages on the validation halves: per cell, over the settings run on
    ``min_seeds`` seeds, the weights (non-negative, summing to one, the same for every seed)
    with the lowest mean MSE on the first half of the validation windows, and the mean MSE
    of that weighted average on the second half. One row per cell with a second half."""
    products = pd.DataFrame(products)
    rows = []
    for (dataset, horizon), cell in products.groupby(["dataset", "horizon"]):
        own = cell[(cell["segment"] == "val") & (cell["member_a"] == cell["member_b"])]
        seeds_of = own.groupby("member_a")["seed"].apply(set)
        members = sorted(m for m, seeds in seeds_of.items() if len(seeds) >= min_seeds)
        if not members or not cell.loc[cell["segment"] == "val_second", "n_values"].all():
            continue
        seeds = sorted(set.intersection(*(seeds_of[m] for m in members)))
        w = _simplex_weights(_mean_products(cell, "val_first", members, seeds))
        second = _mean_products(cell, "val_second", members, seeds)
        rows.append(dict(dataset=dataset, horizon=int(horizon),
                         weights=", ".join(f"{member_text(m)} {x:.2f}"
                                           for m, x in zip(members, w) if x >= 0.005),
                         val_second_mse=float(w @ second @ w)))
    return pd.DataFrame(rows, columns=["dataset", "horizon", "weights", "val_second_mse"])


def write_report(frame, products, out_file):
    """The combination each cell gets under the rule the validation rows favour, against the
    other rule's, the best single setting and the best published MSE; the evidence for the
    rule and on weighted averages (from ``products``, :func:`error_products`' rows); then
    the leading combinations' means."""
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
    weighted = weights_check(products)
    if not check.empty and not weighted.empty:
        weighted = weighted.merge(check, on=["dataset", "horizon"])
        lines += [
            "",
            "Weighted averages, checked the same way: per cell, the weights (non-negative,",
            "summing to one, the same for every seed) with the lowest MSE on the first half,",
            "over the settings run on three seeds, scored on the second half against the",
            "lowest combination on the first half. A weighted average is not a rule unless it",
            "wins this comparison.",
            "",
            "| dataset | H | weights fitted on the first half | second-half MSE | the lowest's |",
            "|---|---|---|---|---|",
        ]
        for row in weighted.itertuples():
            lines.append(f"| {row.dataset} | {row.horizon} | {row.weights} | "
                         f"{row.val_second_mse:.3f} | {row.val_second_mse_lowest:.3f} |")
        ratio = np.exp(np.log(weighted["val_second_mse"]
                              / weighted["val_second_mse_lowest"]).mean())
        lines += ["", f"Geometric mean of the ratio (weighted / lowest on the first half): "
                  f"{ratio:.3f}."]
    lines += [
        "",
        f"The {REPORTED} combinations with the lowest validation MSE in each cell (mean over the",
        f"seeds listed; {SCORES} holds these with their MAE, and every combination's MSE",
        f"follows from the error products in {PRODUCTS}):",
        "",
        "| dataset | H | members | seeds | val MSE | MSE | MSE std | MAE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ranked = means.sort_values(["dataset", "horizon", "val_mse"])
    for row in ranked.groupby(["dataset", "horizon"]).head(REPORTED).itertuples():
        std, mae = ("–" if np.isnan(x) else f"{x:.3f}" for x in (row.mse_std, row.mae))
        lines.append(f"| {row.dataset} | {row.horizon} | {row.text} | {row.seeds} | "
                     f"{row.val_mse:.3f} | {row.mse:.3f} | {std} | {mae} |")
    out_file.write_text("\n".join(lines) + "\n")


SCORES, PRODUCTS = "ltsf_ensemble.csv", "ltsf_ensemble_products.csv"


def load_results(out_dir):
    """The committed results: every combination's scores (:func:`combination_scores` of the
    products, with the MAE of :data:`SCORES` where it holds the combination) and the
    products."""
    out_dir = Path(out_dir)
    products = pd.read_csv(out_dir / PRODUCTS)
    return with_mae(combination_scores(products), pd.read_csv(out_dir / SCORES)), products


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forecasts-dir",
                        help="the --forecasts-dir of the ltsf.py runs (required unless "
                        "--report-only)")
    parser.add_argument("--data-dir", default=ltsf.DEFAULT_DATA_DIR,
                        help="folder holding the ETT CSV files (as for ltsf.py)")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    parser.add_argument("--append", action="store_true",
                        help=f"keep the cells of {SCORES} and {PRODUCTS} that the forecasts "
                        "folder does not hold")
    parser.add_argument("--report-only", action="store_true",
                        help=f"rewrite ltsf_ensemble.md from {SCORES} and {PRODUCTS} without "
                        "scoring")
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir)
    if args.report_only:
        write_report(*load_results(out_dir), out_dir / "ltsf_ensemble.md")
        return 0
    if not args.forecasts_dir:
        parser.error("--forecasts-dir is required (or --report-only)")

    runs = load_runs(args.forecasts_dir)
    if runs.empty:
        parser.error(f"no forecasts (*.npz) in {args.forecasts_dir}; run ltsf.py with "
                     "--forecasts-dir first")
    scores, products = [], []
    for (dataset, horizon), cell in runs.groupby(["dataset", "horizon"]):
        targets = cell_targets(dataset, int(horizon), args.data_dir)
        cell_products, cell_scores = score_cell(cell, targets)
        products += cell_products
        scores += cell_scores
        print(f"{dataset} H={horizon}: {cell['member'].nunique()} settings scored", flush=True)
    scores, products = pd.DataFrame(scores), pd.DataFrame(products)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.append and (out_dir / PRODUCTS).exists():
        old_scores, old_products = load_results(out_dir)
        held = set(zip(products["dataset"], products["horizon"]))
        scores, products = (
            pd.concat([old[[cell not in held for cell in zip(old["dataset"], old["horizon"])]],
                       new], ignore_index=True)
            for old, new in ((old_scores, scores), (old_products, products)))
    scores = scores.sort_values(["dataset", "horizon", "n_members", "members", "seed"])
    products = products.sort_values(["dataset", "horizon", "seed", "segment", "member_a",
                                     "member_b"])
    products.to_csv(out_dir / PRODUCTS, index=False)
    scores[scores["mae"].notna()].to_csv(out_dir / SCORES, index=False)
    write_report(scores, products, out_dir / "ltsf_ensemble.md")
    print(f"wrote {out_dir / SCORES}, {out_dir / PRODUCTS} and {out_dir / 'ltsf_ensemble.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
