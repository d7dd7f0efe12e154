"""Forecasting networks, one module per model.

Contract shared by every network:

- construction takes keyword-only arguments, none with a default::

      Net(*, seq_len, pred_len, n_channels, n_mark, n_exog, **architecture)

  where ``architecture`` are exactly the architecture parameters of the matching forecaster
  in :mod:`skmamba.estimators`, which holds their defaults, meanings and the deviations from
  the published code (the forecaster builds the network from its ``get_params()``). Fixed
  settings that no forecaster exposes are module-level constants of the network's module;
- the forward pass is ``y_hat, aux_loss = net(x, x_mark=None, exog=None)``:

  - ``x``: float32 (batch, seq_len, n_channels) lookback;
  - ``x_mark``: (batch, seq_len, n_mark) calendar features of the lookback rows, or None;
  - ``exog``: (batch, seq_len + pred_len, n_exog) exogenous variables, or None: their
    ``seq_len`` lookback rows (the rows of ``x``) followed by their known values over the
    ``pred_len`` forecast rows (known future covariates). Required when the network was
    built with ``n_exog > 0`` (a wrong shape raises ``ValueError``); with ``n_exog == 0`` it
    is None (or has no columns) and the network builds no module for it, so its parameters,
    their seeded initial values and its outputs are those of a network that knows nothing of
    covariates. Networks do not normalise ``exog``; each network's docstring says how the
    future rows reach the forecast (a network that uses no exogenous variables, like
    MixMamba, documents that it ignores them);
  - ``y_hat``: (batch, pred_len, n_channels) in the units of ``x`` (networks normalise each
    window themselves);
  - ``aux_loss``: a scalar tensor added to the training loss (e.g. MoE load balancing), or
    None.

The selective-scan backend is not a network argument; it is chosen with the context
manager :func:`skmamba._kernels.scan_backend` (or :func:`skmamba._kernels.set_scan_backend`).
"""

from .fmamba import FMambaNet
from .mat import MATNet
from .mixmamba import MixMambaNet
from .smamba import SMambaNet
from .timestar import TimeStarMambaNet

__all__ = ["FMambaNet", "MATNet", "MixMambaNet", "SMambaNet", "TimeStarMambaNet"]
