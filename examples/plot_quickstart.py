"""
==========
Quickstart
==========

Fit :class:`~skmamba.estimators.MixMambaForecaster` to the monthly airline passenger series
that ships with sktime, forecast the last two years, and compare with a seasonal naive
forecast.

Every skmamba forecaster is an sktime forecaster: ``fit(y, fh=...)`` then ``predict()``.
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
# ``MixMambaForecaster()`` with its defaults is the published ETTh1 setting, sized for
# series with thousands of rows: its 96-step lookback would leave a single training window
# in 120 months. A 48-month lookback gives 49 windows; a constant learning rate and more
# epochs suit that small data set. ``random_state`` makes the fit repeatable.
forecaster = MixMambaForecaster(
    seq_len=48, max_epochs=50, lr=3e-3, lr_decay=1.0, random_state=0
)
forecaster.fit(y_train, fh=fh)
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
