"""
==========================================
Benchmarking with ``ForecastingBenchmark``
==========================================

Compare skmamba forecasters with naive baselines over several forecast origins with
sktime's ``ForecastingBenchmark``: every model is refitted on an expanding window of the
airline series and scored on the next 12 months, at three origins.
"""

# %%
import matplotlib.pyplot as plt
import torch
from sktime.benchmarking.forecasting import ForecastingBenchmark
from sktime.datasets import load_airline
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
)
from sktime.split import ExpandingWindowSplitter

from skmamba import MixMambaForecaster, SMambaForecaster

torch.set_num_threads(1)

# %%
# Models and task
# ---------------
benchmark = ForecastingBenchmark()
# Default training settings (the lookback follows the data of each fold); S-Mamba with a
# smaller architecture than its published one, which is several times slower to train.
benchmark.add_estimator(MixMambaForecaster(random_state=0), estimator_id="MixMamba")
benchmark.add_estimator(SMambaForecaster(d_model=32, d_ff=32, e_layers=1, random_state=0),
                        estimator_id="S-Mamba")
benchmark.add_estimator(NaiveForecaster(strategy="last"), estimator_id="naive")
benchmark.add_estimator(NaiveForecaster(strategy="last", sp=12),
                        estimator_id="seasonal naive")

# Origins after 108, 120 and 132 months; 12-month horizon.
cv = ExpandingWindowSplitter(fh=list(range(1, 13)), initial_window=108, step_length=12)
benchmark.add_task(
    load_airline,
    cv,
    [MeanAbsoluteError(), MeanAbsolutePercentageError()],
    task_id="airline",
)

# %%
# Run
# ---
# ``run`` returns a table with one row per model and task; pass a file name
# (``run("results.csv")``) to keep the results and resume an interrupted benchmark.
results = benchmark.run()
table = results.set_index("model_id")[
    ["MeanAbsoluteError_mean", "MeanAbsoluteError_std",
     "MeanAbsolutePercentageError_mean"]
].sort_values("MeanAbsoluteError_mean")
table.round(3)

# %%
# Per fold
# --------
folds = [c for c in results.columns
         if c.startswith("MeanAbsoluteError_fold_") and c.endswith("_test")]
per_fold = results.set_index("model_id")[folds]
per_fold.columns = [f"origin {i + 1}" for i in range(len(folds))]
ax = per_fold.T.plot(marker="o", figsize=(7, 3.5))
ax.set_ylabel("MAE, next 12 months")
ax.set_title("Airline: error at each forecast origin")
plt.tight_layout()
plt.show()
