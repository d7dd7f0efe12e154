"""
=========================================
Exogenous variables and future covariates
=========================================

Forecast US consumption growth with :class:`~skmamba.estimators.TimeStarMambaForecaster`,
using exogenous variables ``X`` as **known future covariates**, and compare the forecast
with and without them.

``load_uschange`` (shipped with sktime) gives quarterly percentage changes of US personal
consumption (the target ``y``) and of income, production, savings and unemployment (``X``),
1970-2016. Consumption moves with the income of the same quarter, so knowing ``X`` over the
forecast quarters helps. Here those values are known in hindsight: this is a scenario
forecast ("what will consumption do if income grows like this?"); in production, ``X`` over
the horizon is a plan or another forecast (weather forecasts for load, price lists for
demand).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sktime.datasets import load_uschange
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import mean_absolute_error
from sktime.split import temporal_train_test_split

from skmamba import TimeStarMambaForecaster

torch.set_num_threads(1)

y, X = load_uschange()
y_train, y_test, X_train, X_test = temporal_train_test_split(y, X, test_size=8)
fh = list(range(1, 9))
X.head()

# %%
# Fit with X
# ----------
# Each exogenous variable's rows over the lookback *and* the forecast horizon become one
# token; the series' global tokens draw on them through STAR. ``fit`` takes ``X`` over the
# rows of ``y`` (each training window sees its own future rows of ``X``); ``predict`` takes
# ``X`` over the forecast horizon.
params = dict(seq_len=32, patch_len=8, d_model=16, d_ff=16, d_core=8, e_layers=1,
              batch_size=16, lr=3e-3, random_state=0)
with_x = TimeStarMambaForecaster(**params).fit(y_train, X=X_train, fh=fh)
pred_with_x = with_x.predict(X=X_test)

# %%
# Without the future rows of ``X`` the forecaster refuses, naming the rows it needs:
try:
    with_x.predict(X=X_test.iloc[:3])
except ValueError as err:
    print(err)

# %%
# Fit without X
# -------------
# The same model on ``y`` alone (the target then pools with itself).
without_x = TimeStarMambaForecaster(**params).fit(y_train, fh=fh)
pred_without_x = without_x.predict()

naive = NaiveForecaster(strategy="mean").fit(y_train, fh=fh).predict()

for name, pred in [("TimeStarMamba with X", pred_with_x),
                   ("TimeStarMamba without X", pred_without_x),
                   ("naive (mean)", naive)]:
    print(f"{name:>24}: MAE {mean_absolute_error(y_test, pred):.3f}")

# %%
# One fit of a small network on 179 rows says little: the seed alone moves the error.
# Three seeds of each variant give a fairer picture.
for label, fit_X, future_X in [("with X", X_train, X_test), ("without X", None, None)]:
    errors = [
        mean_absolute_error(
            y_test,
            TimeStarMambaForecaster(**{**params, "random_state": seed})
            .fit(y_train, X=fit_X, fh=fh)
            .predict(X=future_X),
        )
        for seed in range(3)
    ]
    print(f"{label:>10}: MAE {np.mean(errors):.3f} (seeds: "
          + ", ".join(f"{e:.3f}" for e in errors) + ")")

# %%
# Compare the gap between the two variants with the spread over seeds before concluding
# that ``X`` helps. Future covariates pay off when the target follows them within the
# horizon (income and consumption, temperature and load) and there is enough history to
# learn how.
#
# Plot
# ----
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(y.index[-40:], y.iloc[-40:], color="black", label="observed")
ax.plot(pred_with_x.index, pred_with_x, label="with future X")
ax.plot(pred_without_x.index, pred_without_x, label="without X")
ax.plot(naive.index, naive, "--", label="naive (mean)")
ax.axvline(y_train.index[-1], color="grey", lw=0.8)
ax.set_xlabel("quarter (row number)")
ax.set_ylabel("consumption change (%)")
ax.legend()
plt.tight_layout()
plt.show()

# %%
# Moving forward
# --------------
# ``update`` needs ``X`` for the new rows too, so that the next lookback window is
# complete; the next forecast again takes ``X`` over its horizon:
with_x.update(y_test.iloc[:4], X=X_test.iloc[:4], update_params=False)
with_x.predict(fh=[1, 2, 3, 4], X=X_test.iloc[4:])
