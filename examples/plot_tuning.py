"""
======================
Hyper-parameter tuning
======================

Tune a forecaster's learning rate and lookback with scikit-learn's ``GridSearchCV`` and
with sktime's ``ForecastingGridSearchCV``, on the airline series shipped with sktime.

Both searches refit the forecaster on expanding windows of the past and score it on the
months that follow; they differ in who drives the loop.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sktime.datasets import load_airline
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.performance_metrics.forecasting import MeanAbsoluteError
from sktime.split import ExpandingWindowSplitter, temporal_train_test_split

from skmamba import MixMambaForecaster, forecast_scorer

torch.set_num_threads(1)

y = load_airline()
y_train, y_test = temporal_train_test_split(y, test_size=12)

# A small MixMamba trained for the 12-month horizon, with few epochs.
base = MixMambaForecaster(pred_len=12, d_model=16, patch_len=12, stride=6,
                          max_epochs=10, random_state=0)
grid = {"seq_len": [24, 36], "lr": [1e-3, 1e-2]}

# %%
# scikit-learn: ``GridSearchCV`` with :func:`~skmamba.forecast_scorer`
# --------------------------------------------------------------------
# scikit-learn calls ``fit(y_fold)`` without a horizon; ``pred_len=12`` trains the
# forecaster for the 12 months each fold is scored on (without it, a forecaster trains one
# seasonal cycle, also 12 months here). ``TimeSeriesSplit`` puts each 12-month test fold right after its training
# fold, and ``forecast_scorer("mae")`` forecasts that fold and returns the negated mean
# absolute error, so that higher is better, as scikit-learn expects.
sk_search = GridSearchCV(
    base,
    grid,
    scoring=forecast_scorer("mae"),
    cv=TimeSeriesSplit(n_splits=2, test_size=12),
)
sk_search.fit(y_train)

results = pd.DataFrame(sk_search.cv_results_)[["params", "mean_test_score", "rank_test_score"]]
results["mean MAE"] = -results.pop("mean_test_score")
print("best:", sk_search.best_params_)
results

# %%
# sktime: ``ForecastingGridSearchCV``
# ------------------------------------
# sktime's search takes a forecasting splitter and an sktime metric (an error, lower is
# better) and passes ``fh`` to every fit.
cv = ExpandingWindowSplitter(fh=list(range(1, 13)), initial_window=96, step_length=18)
st_search = ForecastingGridSearchCV(
    base.clone().set_params(pred_len=None),
    cv=cv,
    param_grid=grid,
    scoring=MeanAbsoluteError(),
)
st_search.fit(y_train, fh=list(range(1, 13)))

print("best:", st_search.best_params_)
st_search.cv_results_[["params", "mean_test_MeanAbsoluteError", "rank_test_MeanAbsoluteError"]]

# %%
# The splitters differ (two folds in the last 24 months against folds starting after 96
# and 114 months), so the two searches need not agree. Both refit the best candidate on all
# of ``y_train``; scikit-learn's search keeps it as ``best_estimator_``, while sktime's
# search forecasts itself.
mae = MeanAbsoluteError()
pred_sk = sk_search.best_estimator_.predict(fh=list(range(1, 13)))
pred_st = st_search.predict()
print(f"GridSearchCV best, test MAE:            {mae(y_test, pred_sk):.1f}")
print(f"ForecastingGridSearchCV best, test MAE: {mae(y_test, pred_st):.1f}")

fig, ax = plt.subplots(figsize=(8, 3.5))
y.iloc[-48:].plot(ax=ax, color="black", label="observed")
pred_sk.plot(ax=ax, label=f"GridSearchCV {sk_search.best_params_}")
pred_st.plot(ax=ax, style="--", label=f"ForecastingGridSearchCV {st_search.best_params_}")
ax.legend(fontsize=7)
ax.set_title("Tuned MixMamba, 12-month forecast")
plt.tight_layout()
plt.show()
