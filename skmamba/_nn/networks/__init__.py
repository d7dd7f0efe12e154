"""Forecasting networks, one module per model.

Every network is built as ``Net(seq_len, pred_len, n_channels, n_mark=0, n_exog=0,
**architecture_kwargs)`` and called as ``y_hat, aux_loss = net(x, x_mark=None, exog=None)``:

- ``x``: float32 (batch, seq_len, n_channels) lookback;
- ``x_mark``: (batch, seq_len, n_mark) calendar features of the lookback rows, or None;
- ``exog``: (batch, seq_len, n_exog) exogenous variables over the lookback rows, or None;
- ``y_hat``: (batch, pred_len, n_channels) in the units of ``x`` (networks normalise each
  window themselves);
- ``aux_loss``: a scalar tensor added to the training loss (e.g. MoE load balancing), or None.
"""

from .smamba import SMambaNet

__all__ = ["SMambaNet"]
