"""
==============================
Pipeline with a deseasonaliser
==============================

Combine a skmamba forecaster with sktime transformers: remove the yearly pattern and the
growing trend of the airline series first, let the network forecast what remains, and put
the pattern back on the forecast.

``TransformedTargetForecaster`` applies the transformers' ``transform`` before ``fit`` and
their ``inverse_transform`` after ``predict``.
"""

# %%
import matplotlib.pyplot as plt
import torch
from sktime.datasets import load_airline
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.performance_metrics.forecasting import mean_absolute_error
from sktime.split import temporal_train_test_split
from sktime.transformations.series.boxcox import LogTransformer
from sktime.transformations.series.detrend import Deseasonalizer

from skmamba import MixMambaForecaster

torch.set_num_threads(1)

y = load_airline()
y_train, y_test = temporal_train_test_split(y, test_size=24)
fh = list(range(1, 25))


def make_forecaster():
    return MixMambaForecaster(random_state=0)  # defaults: lookback chosen from the data


# %%
# The pipeline
# ------------
# The log turns the multiplicative seasonality (swings that grow with the level) into an
# additive one; the deseasonaliser (a classical decomposition with period 12, which needs
# statsmodels) removes it. The network sees a smooth, trending series.
pipe = TransformedTargetForecaster([
    ("log", LogTransformer()),
    ("deseasonalize", Deseasonalizer(sp=12)),
    ("forecast", make_forecaster()),
])
pipe.fit(y_train, fh=fh)
y_pipe = pipe.predict()

# %%
# The fitted steps are available by name, e.g. the seasonal factors:
pipe.get_fitted_params()["deseasonalize__seasonal"][:12].round(3)

# %%
# The same forecaster on the raw series, for comparison:
y_plain = make_forecaster().fit(y_train, fh=fh).predict()

print(f"MixMamba alone:                 MAE {mean_absolute_error(y_test, y_plain):6.1f}")
print(f"log + deseasonalize + MixMamba: MAE {mean_absolute_error(y_test, y_pipe):6.1f}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
y_train.iloc[-48:].plot(ax=ax, color="black", label="train")
y_test.plot(ax=ax, color="grey", label="test")
y_plain.plot(ax=ax, label="MixMamba")
y_pipe.plot(ax=ax, label="log + deseasonalize + MixMamba")
ax.set_ylabel("passengers (thousands)")
ax.set_title("Airline passengers: pipeline against the bare forecaster")
ax.legend()
plt.tight_layout()
plt.show()
