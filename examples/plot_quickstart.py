"""
==========
Quickstart
==========

Fit :class:`~skmamba.estimators.MixMambaForecaster` to the monthly airline passenger series
that ships with sktime, forecast the last two years, and compare with a seasonal naive
forecast.

Every skmamba forecaster is an sktime forecaster: ``fit(y, fh=...)`` then ``predict()``.
The defaults are meant for series like this one: the lookback is chosen from the data.
"""

# %%
# Data
# ----
# 144 months of international airline passengers (1949-1960). The last 24 months are held
# out to score the forecasts.
import matplotlib.pyplot as plt
import pandas as pd
import torch
from sktime.datasets import load_airline
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import (
    mean_absolute_error,
    mean_absolute_percentage_error,
)
from sktime.split import temporal_train_test_split

from skmamba import MixMambaForecaster

torch.set_num_threads(1)  # tiny model: one thread is fastest

y = load_airline()
y_train, y_test = temporal_train_test_split(y, test_size=24)
fh = list(range(1, 25))  # forecast steps 1..24 after the end of y_train

# %%
# Fit and predict
# ---------------
# The defaults choose the lookback from the data: two horizons or two seasonal cycles,
# here 48 months (``seq_len_``), and the network is trained for the 24 steps of ``fh``
# (``pred_len_``). ``random_state`` makes the fit repeatable.
forecaster = MixMambaForecaster(random_state=0)
forecaster.fit(y_train, fh=fh)
print(f"lookback {forecaster.seq_len_}, trained horizon {forecaster.pred_len_}")
y_pred = forecaster.predict()
y_pred.head()

# %%
# A seasonal naive baseline repeats the last observed year.
naive = NaiveForecaster(strategy="last", sp=12).fit(y_train, fh=fh)
y_naive = naive.predict()

for name, pred in [("MixMamba", y_pred), ("seasonal naive", y_naive)]:
    print(
        f"{name:>15}: MAE {mean_absolute_error(y_test, pred):6.1f}   "
        f"MAPE {100 * mean_absolute_percentage_error(y_test, pred):5.2f}%"
    )

# %%
# Plot
# ----
fig, ax = plt.subplots(figsize=(8, 3.5))
y_train.iloc[-48:].plot(ax=ax, color="black", label="train")
y_test.plot(ax=ax, color="grey", label="test")
y_pred.plot(ax=ax, label="MixMamba")
y_naive.plot(ax=ax, style="--", label="seasonal naive")
ax.set_ylabel("passengers (thousands)")
ax.set_title("Airline passengers: 24-month forecast")
ax.legend()
plt.tight_layout()
plt.show()

# %%
# Training history
# ----------------
# ``history_`` holds one record per epoch (loss, learning rate, seconds).
history = pd.DataFrame(forecaster.history_)
ax = history.plot(x="epoch", y="train_loss", legend=False, figsize=(6, 3))
ax.set_ylabel("training loss (MAE, standardised)")
plt.tight_layout()
plt.show()

# %%
# Forecasting past the end of the data
# ------------------------------------
# ``update`` appends new observations and moves the cutoff without retraining
# (``update_params=False``); the next ``predict`` starts from the latest 48 months.
forecaster.update(y_test, update_params=False)
print(forecaster.predict(fh=[1, 2, 3]))

# %%
# ``predict`` serves any horizon. Steps beyond the trained 24 are forecast by roll-out:
# the forecast is fed back as input, so errors compound; train for the horizon you need
# (``fh`` in ``fit``) when those steps matter.
y_three_years = forecaster.predict(fh=range(1, 37))
y_three_years.tail(3)

# %%
# The published ETT setting of the model is one call away, for data of thousands of rows:
MixMambaForecaster.paper_params("ETTh1")
