"""The main job: every skmamba forecaster against naive baselines on data shipped with sktime.

Run with ``python -m skmamba`` (``bash .ci/main.sh`` installs the package first). Offline:
the two data sets come with sktime.

* ``airline``: monthly airline passengers 1949-1960 (one series, 144 rows); the last 24
  months are held out.
* ``uschange``: quarterly percentage changes of US consumption, income, production, savings
  and unemployment 1970-2016 (five series, 187 rows), all forecast jointly; the last 8
  quarters are held out.

The models are those of the registry :data:`skmamba.estimators.MODELS`, named as there: a
model added to the registry runs here with no edit to this file. Each is a small version of
its architecture (:data:`_ARCHITECTURES`, or the tiny architecture of its first
``get_test_params()`` set when it has no entry there) trained for a few seconds on one CPU
thread with the shared settings of the data set, with a fixed seed, so the printed numbers
repeat on the same machine. They show the package working end to end, not what the
architectures reach on the long benchmark data sets (see ``benchmarks/``).

Before anything is timed, every model makes one tiny, untimed fit and predict, so that the
process's one-off start-up costs (numba compiling the scan kernels, torch's first calls) are
not charged to whichever model happens to run first.

Prints one table per data set (MAE, RMSE and MASE on the held-out rows, each model's MASE
relative to the better naive baseline, fit time) and writes ``main_job_forecast.png`` (the
forecasts) and ``main_job_errors.csv`` (the tables) to the output folder.

A last table, *defaults on airline*, fits every registered model with all its default
arguments (only ``random_state`` set) to the first 120 months of the airline series with
``fh=range(1, 25)`` and scores the last 24 against sktime's seasonal naive forecast
(``NaiveForecaster(strategy="last", sp=12)``): MAE, MAE relative to the naive one, fit
seconds, and the lookback and horizon the forecaster chose (``seq_len_``, ``pred_len_``).
It is written to ``main_job_airline_defaults.csv``.
"""

import argparse
import contextlib
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main"]


@contextlib.contextmanager
def _hide_sktime_remember_data_note():
    """Drop sktime 1.2's FutureWarning about ``remember_data``, printed when sktime's own
    forecasters (the naive baselines) are constructed; skmamba's forecasters set the config.

    Done at display time rather than with a filter, because sktime and scikit-learn reset
    warning filters internally.
    """
    shown = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, FutureWarning) and "remember_data" in str(message):
            return
        shown(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    try:
        yield
    finally:
        warnings.showwarning = shown


#: Training settings every model shares on every data set (the rest come from the task).
_TRAINING = dict(lr_decay=1.0, batch_size=16)

#: Small architectures by registry name. A model of :data:`skmamba.estimators.MODELS` that
#: has no entry here runs with the architecture of its first ``get_test_params()`` set.
#: Every model that takes ``patch_len`` gets the data set's patch length (and, if it takes
#: ``stride``, half-overlapping patches), whether or not it has an entry.
_ARCHITECTURES = {
    "SMamba": dict(d_model=32, d_ff=32, e_layers=1),
    "MixMamba": dict(d_model=16),
    "MAT": dict(n1=32, n2=16, n_heads=2),
    "FMamba": dict(d_model=32, d_ff=32, e_layers=1),
    "TimeStarMamba": dict(d_model=16, d_ff=16, d_core=8, e_layers=1),
}


def _tasks():
    from sktime.datasets import load_airline, load_uschange
    from sktime.forecasting.naive import NaiveForecaster

    airline = load_airline()
    consumption, others = load_uschange()
    uschange = pd.concat([consumption, others], axis=1)
    # name, series, held-out rows, seasonal period of MASE's scale, model settings, and the
    # naive baselines (the last value, plus the natural one for the data).
    return [
        ("airline", airline, 24, 12,
         dict(seq_len=36, lr=3e-3, max_epochs=40, patch_len=12),
         {"naive (last value)": NaiveForecaster(strategy="last"),
          "naive (seasonal)": NaiveForecaster(strategy="last", sp=12)}),
        ("uschange", uschange, 8, 1,
         dict(seq_len=24, lr=5e-4, max_epochs=30, patch_len=8),
         {"naive (last value)": NaiveForecaster(strategy="last"),
          "naive (mean)": NaiveForecaster(strategy="mean")}),
    ]


def _architecture(name, cls):
    """The main job's architecture of the registry model ``name`` (without patch settings)."""
    from skmamba.estimators._common_params import COMMON_PARAMETERS

    if name in _ARCHITECTURES:
        return dict(_ARCHITECTURES[name])
    test_params = cls.get_test_params()[0]
    return {k: v for k, v in test_params.items() if k not in COMMON_PARAMETERS}


def _forecasters(seq_len, lr, max_epochs, patch_len, seed, models=None):
    """A small version of every registered model, sharing lookback, epochs and rate.

    ``models`` defaults to :data:`skmamba.estimators.MODELS`; returns name -> forecaster.
    """
    if models is None:
        from skmamba.estimators import MODELS as models

    common = dict(seq_len=seq_len, max_epochs=max_epochs, lr=lr, random_state=seed,
                  **_TRAINING)
    out = {}
    for name, cls in models.items():
        params = _architecture(name, cls)
        names = cls.get_param_names()
        if "patch_len" in names:
            params["patch_len"] = patch_len
            if "stride" in names:
                params["stride"] = max(patch_len // 2, 1)
        out[name] = cls(**params, **common)
    return out


def _warm_up(seed, models=None):
    """One tiny untimed fit and predict of every model; returns the seconds it took.

    The first fit in a process pays one-off costs: numba compiles (or loads from its cache)
    the scan kernels and torch initialises its operators. Paid here, they are not charged
    to whichever model is timed first.
    """
    t0 = time.perf_counter()
    index = pd.period_range("2000-01", periods=40, freq="M")
    y = pd.DataFrame({"a": np.sin(np.arange(40) / 3.0), "b": np.cos(np.arange(40) / 5.0)},
                     index=index)
    tiny = _forecasters(seq_len=8, lr=1e-3, max_epochs=1, patch_len=4, seed=seed,
                        models=models)
    for forecaster in tiny.values():
        forecaster.fit(y, fh=[1, 2, 3]).predict()
    return time.perf_counter() - t0


#: Name of the baseline row of the defaults table.
_DEFAULTS_BASELINE = "naive (seasonal)"


def _defaults_on_airline(seed, models=None):
    """Every registered model with its default arguments on the airline series.

    ``models`` defaults to :data:`skmamba.estimators.MODELS`. Returns a table with one row
    per model and a last row for the seasonal naive forecast: MAE on the 24 held-out months,
    MAE relative to the naive one, fit seconds (fit and predict), ``seq_len_`` and
    ``pred_len_``.
    """
    from sktime.datasets import load_airline
    from sktime.forecasting.naive import NaiveForecaster

    if models is None:
        from skmamba.estimators import MODELS as models

    y = load_airline()
    horizon = 24
    y_train, y_test = y.iloc[:-horizon], y.iloc[-horizon:]
    fh = list(range(1, horizon + 1))
    candidates = {name: cls(random_state=seed) for name, cls in models.items()}
    candidates[_DEFAULTS_BASELINE] = NaiveForecaster(strategy="last", sp=12)
    rows = []
    for model, forecaster in candidates.items():
        t0 = time.perf_counter()
        pred = forecaster.fit(y_train, fh=fh).predict()
        seconds = time.perf_counter() - t0
        rows.append({"model": model, "MAE": _errors(y_test, pred, y_train, sp=12)["MAE"],
                     "fit_s": seconds, "seq_len_": getattr(forecaster, "seq_len_", None),
                     "pred_len_": getattr(forecaster, "pred_len_", None)})
    table = pd.DataFrame(rows)
    naive = table.loc[table["model"] == _DEFAULTS_BASELINE, "MAE"].iloc[0]
    table.insert(2, "MAE/naive", table["MAE"] / naive)
    return table.astype({"seq_len_": "Int64", "pred_len_": "Int64"})


def _errors(y_test, y_pred, y_train, sp):
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    truth = np.asarray(y_test, dtype=float).reshape(len(y_test), -1)
    pred = np.asarray(y_pred, dtype=float).reshape(len(y_test), -1)
    return {
        "MAE": float(np.mean(np.abs(pred - truth))),
        "RMSE": float(np.sqrt(np.mean((pred - truth) ** 2))),
        "MASE": float(MeanAbsoluteScaledError(sp=sp)(y_test, y_pred, y_train=y_train)),
    }


def _plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 1, figsize=(9, 4 * len(results)))
    for ax, (name, y, y_train, preds) in zip(np.atleast_1d(axes), results):
        column = y.columns[0] if isinstance(y, pd.DataFrame) else None
        series = y[column] if column is not None else y
        history = series.iloc[-(len(y) - len(y_train)) * 3:]
        x = history.index.to_timestamp() if isinstance(history.index, pd.PeriodIndex) \
            else history.index
        ax.plot(x, history.to_numpy(), color="black", lw=2, label="observed")
        for model, pred in preds.items():
            p = pred[column] if column is not None else pred
            px = p.index.to_timestamp() if isinstance(p.index, pd.PeriodIndex) else p.index
            style = "--" if model.startswith("naive") else "-"
            ax.plot(px, p.to_numpy(), style, lw=1.2, label=model)
        ax.axvline(x[len(history) - (len(y) - len(y_train)) - 1], color="grey", lw=0.8)
        ax.set_title(f"{name}: {column or series.name or 'y'}, held-out forecast")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    """Run the main job; returns the error table as a DataFrame.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (``--out DIR``, ``--seed N``); defaults to ``sys.argv``.

    Returns
    -------
    pandas.DataFrame
        One row per data set and model: MAE, RMSE, MASE, MASE relative to the better naive
        baseline, fit seconds. The defaults table goes to ``main_job_airline_defaults.csv``
        only.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skmamba",
        description="Fit every skmamba forecaster and naive baselines on data shipped with "
                    "sktime; print their held-out errors and save a plot.",
    )
    parser.add_argument("--out", default="outputs", help="folder for the plot and CSV")
    parser.add_argument("--seed", type=int, default=0, help="random_state of every model")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # small models: one thread is fastest and reproducible
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    tables, plotted = [], []
    with _hide_sktime_remember_data_note():
        warm_up = _warm_up(args.seed)
        print(f"Warm-up (not timed): one tiny fit and predict per model to compile the JIT "
              f"kernels, {warm_up:.1f} s.", flush=True)
        for name, y, horizon, sp, settings, baselines in _tasks():
            y_train, y_test = y.iloc[:-horizon], y.iloc[-horizon:]
            fh = list(range(1, horizon + 1))
            n_series = 1 if isinstance(y, pd.Series) else y.shape[1]
            print(f"\n{name}: {n_series} series, {len(y_train)} training rows, "
                  f"{horizon} held out", flush=True)
            rows, preds = [], {}
            models = {**_forecasters(seed=args.seed, **settings), **baselines}
            for model, forecaster in models.items():
                t0 = time.perf_counter()
                pred = forecaster.fit(y_train, fh=fh).predict()
                seconds = time.perf_counter() - t0
                preds[model] = pred
                rows.append({"data": name, "model": model,
                             **_errors(y_test, pred, y_train, sp), "fit_s": seconds})
            table = pd.DataFrame(rows)
            naive = table.loc[table["model"].str.startswith("naive"), "MASE"].min()
            table.insert(5, "MASE/naive", table["MASE"] / naive)
            print(table.drop(columns="data").to_string(
                index=False, float_format=lambda v: f"{v:.3f}"), flush=True)
            tables.append(table)
            plotted.append((name, y, y_train, preds))

        print("\nMASE/naive < 1: better than the better of the two naive baselines.")

        print("\nDefaults on airline: every model with its default arguments "
              f"(random_state={args.seed}), fitted on the first 120 months with "
              "fh=range(1, 25), scored on the last 24", flush=True)
        defaults = _defaults_on_airline(args.seed)
        shown = defaults.astype({"seq_len_": object, "pred_len_": object})
        print(shown.fillna("").to_string(index=False, float_format=lambda v: f"{v:.3f}"),
              flush=True)
        print("MAE/naive < 1: better than the seasonal naive forecast (the last year "
              "repeated).")

    result = pd.concat(tables, ignore_index=True)
    result.to_csv(out / "main_job_errors.csv", index=False)
    defaults.to_csv(out / "main_job_airline_defaults.csv", index=False)
    _plot(plotted, out / "main_job_forecast.png")
    print(f"\nWrote {out / 'main_job_errors.csv'}, {out / 'main_job_airline_defaults.csv'} "
          f"and {out / 'main_job_forecast.png'} in {time.perf_counter() - start:.0f} s.")
    return result
