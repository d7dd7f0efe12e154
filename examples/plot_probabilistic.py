"""
==================================
Prediction intervals and quantiles
==================================

Train :class:`~skmamba.estimators.MATForecaster` with a Student-t output on the monthly
airline passenger series, forecast the last two years with 80% and 95% prediction
intervals, and check how many of the held-out months they cover.

Every skmamba forecaster answers sktime's ``predict_interval``, ``predict_quantiles``,
``predict_var`` and ``predict_proba``. With ``loss="studentt"`` (or ``"normal"``) the
network forecasts a distribution per step, and ``predict`` returns its median; with a point
loss the intervals are split-conformal (see the user guide page on probabilistic
forecasts).
"""

# %%
# Data and model
# --------------
# 144 months of airline passengers; the last 24 are held out. The defaults choose the
# lookback from the data (48 months here) and train for the 24 steps of ``fh``.
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from sktime.datasets import load_airline
from sktime.performance_metrics.forecasting import mean_absolute_error
from sktime.performance_metrics.forecasting.probabilistic import PinballLoss
from sktime.split import temporal_train_test_split

from skmamba import MATForecaster

torch.set_num_threads(1)  # small model: one thread is fastest

y = load_airline()
y_train, y_test = temporal_train_test_split(y, test_size=24)
fh = list(range(1, 25))

forecaster = MATForecaster(loss="studentt", random_state=0)
forecaster.fit(y_train, fh=fh)
y_pred = forecaster.predict()  # the median of each step's Student-t
print(f"lookback {forecaster.seq_len_}, trained horizon {forecaster.pred_len_}")
print(f"MAE of the median: {mean_absolute_error(y_test, y_pred):.1f}")

# %%
# Intervals and their coverage
# ----------------------------
# ``predict_interval`` returns one lower and one upper column per coverage, in passengers
# (thousands), the units of ``y``.
name = y.name


def covered(intervals, truth):
    """Share of ``truth`` inside each interval, and the mean widths."""
    out = {}
    for coverage in (0.8, 0.95):
        lower = intervals[(name, coverage, "lower")].to_numpy()
        upper = intervals[(name, coverage, "upper")].to_numpy()
        inside = (truth >= lower) & (truth <= upper)
        out[coverage] = (inside.mean(), (upper - lower).mean())
    return out


intervals = forecaster.predict_interval(coverage=[0.8, 0.95])
for coverage, (share, width) in covered(intervals, y_test.to_numpy()).items():
    print(f"{coverage:.0%} interval: covers {share:.0%} of the 24 held-out months, "
          f"mean width {width:.1f}")

# %%
# Too narrow for these two years. The same intervals over the training years, from every
# fourth month with at least a lookback behind it (a copy of the forecaster, its cutoff
# moved back with ``update``), cover about as much as they should or more:
in_sample = copy.deepcopy(forecaster)
shares, errors = {0.8: [], 0.95: []}, []
for end in range(forecaster.seq_len_, len(y_train) - 24 + 1, 4):
    in_sample.update(y_train.iloc[end - 4:end], update_params=False)
    truth = y_train.iloc[end:end + 24].to_numpy()
    window = covered(in_sample.predict_interval(fh=fh, coverage=[0.8, 0.95]), truth)
    for coverage in shares:
        shares[coverage].append(window[coverage][0])
    errors.append(np.abs(truth - in_sample.predict(fh=fh).to_numpy().ravel()).mean())
for coverage, values in shares.items():
    print(f"{coverage:.0%} interval over {len(values)} training windows: covers "
          f"{np.mean(values):.0%}")
print(f"MAE of the median over the training windows: {np.mean(errors):.1f}")

# %%
# The network learned its spread by maximum likelihood on the training windows, and there
# it fits. The held-out years have the highest level and the largest seasonal swings of the
# series, and the median misses them by much more than it missed the training windows on
# average, so the intervals are too narrow there: nothing in ``fit`` saw data like it.
# (24 months are also few to judge coverage by: one month is 4 points of it.) The calibration benchmark in
# ``benchmarks/README.md`` scores thousands of windows of ETTh1, where the Student-t
# intervals come out close to nominal.
#
# Quantiles feed sktime's probabilistic metrics directly:
alpha = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975]
quantiles = forecaster.predict_quantiles(alpha=alpha)
print(f"mean pinball loss over {len(alpha)} levels: "
      f"{PinballLoss(alpha=alpha)(y_test, quantiles):.2f}")

# %%
# ``predict_proba`` returns the distributions themselves (skpro), and ``predict_var``
# their variances:
dist = forecaster.predict_proba()
print(type(dist).__name__, "with", dist.shape[0], "steps")
print(forecaster.predict_var().head(3))

# %%
# Plot
# ----
fig, ax = plt.subplots(figsize=(8, 3.5))
history = y_train.iloc[-48:]
ax.plot(history.index.to_timestamp(), history, color="black", label="train")
x = y_test.index.to_timestamp()
ax.plot(x, y_test, color="grey", marker=".", label="held out")
for coverage, shade in ((0.95, 0.2), (0.8, 0.4)):
    ax.fill_between(
        x, intervals[(name, coverage, "lower")], intervals[(name, coverage, "upper")],
        color="tab:blue", alpha=shade, linewidth=0, label=f"{coverage:.0%} interval",
    )
ax.plot(x, y_pred, color="tab:blue", label="median")
ax.set_ylabel("passengers (thousands)")
ax.set_title("MAT, loss='studentt': 24-month forecast with intervals")
ax.legend(loc="upper left")
plt.tight_layout()
plt.show()
