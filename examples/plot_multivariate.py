"""
====================================
Every model on a multivariate series
====================================

Fit all five skmamba forecasters to the same multivariate series and compare their
forecasts with naive baselines.

The data are the quarterly percentage changes of US consumption, income, production,
savings and unemployment (1970-2016) that ship with sktime (``load_uschange``): five
series, 187 rows. The last eight quarters are held out.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from sktime.datasets import load_uschange
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError
from sktime.split import temporal_train_test_split

from skmamba import (
    FMambaForecaster,
    MATForecaster,
    MixMambaForecaster,
    SMambaForecaster,
    TimeStarMambaForecaster,
)

torch.set_num_threads(1)

consumption, others = load_uschange()
data = pd.concat([consumption, others], axis=1)  # all five series as targets
y_train, y_test = temporal_train_test_split(data, test_size=8)
fh = list(range(1, 9))
data.tail()

# %%
# The models
# ----------
# Small versions of each architecture (the default architectures are the published ones,
# sized for data sets with thousands of rows), all with the same lookback, epochs and
# learning rate. Each fit takes a few seconds on one CPU thread.
common = dict(seq_len=24, max_epochs=30, lr=5e-4, batch_size=16, random_state=0)
models = {
    "S-Mamba": SMambaForecaster(d_model=32, d_ff=32, e_layers=1, **common),
    "MixMamba": MixMambaForecaster(d_model=16, patch_len=8, stride=4, **common),
    "MAT": MATForecaster(n1=32, n2=16, n_heads=2, **common),
    "FMamba": FMambaForecaster(d_model=32, d_ff=32, e_layers=1, **common),
    "TimeStarMamba": TimeStarMambaForecaster(
        d_model=16, d_ff=16, d_core=8, patch_len=8, e_layers=1, **common
    ),
    "naive (last value)": NaiveForecaster(strategy="last"),
    "naive (mean)": NaiveForecaster(strategy="mean"),
}

predictions = {name: model.fit(y_train, fh=fh).predict() for name, model in models.items()}

# %%
# Errors
# ------
# The mean absolute scaled error (MASE) divides each series' error by the in-sample error
# of a one-step naive forecast, so the five series, whose scales differ, count equally.
# Below 1 beats that in-sample naive benchmark.
mase = MeanAbsoluteScaledError()
scores = pd.Series(
    {name: mase(y_test, pred, y_train=y_train) for name, pred in predictions.items()},
    name="MASE",
).sort_values()
scores.round(3)

# %%
# With 179 training rows of mostly noise, tiny deep networks trained for seconds are not
# expected to beat the naive forecasts by much, if at all: the point here is the common
# interface. On long, structured data the picture changes (see the benchmarks page).
#
# Forecasts
# ---------
fig, axes = plt.subplots(len(data.columns), 1, figsize=(8, 11), sharex=True)
history = data.iloc[-32:]
for ax, column in zip(axes, data.columns):
    ax.plot(history.index, history[column], color="black", lw=1.5, label="observed")
    for name, pred in predictions.items():
        style = "--" if name.startswith("naive") else "-"
        ax.plot(pred.index, pred[column], style, lw=1, label=name)
    ax.axvline(y_train.index[-1], color="grey", lw=0.8)
    ax.set_ylabel(column)
axes[0].legend(ncol=3, fontsize=7, loc="upper left")
axes[-1].set_xlabel("quarter (row number)")
fig.suptitle("Eight-quarter forecasts of five US macroeconomic series")
plt.tight_layout()
plt.show()
