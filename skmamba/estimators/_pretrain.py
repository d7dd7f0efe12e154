"""Pretraining (sktime's ``capability:pretrain``): a global network trained once, then reused.

``pretrain(panel)`` trains a forecaster's network on a panel and keeps it, with what it was
built for, as sktime's pretrained attributes (:data:`PRETRAINED`; sktime's ``clone()``
copies them). A later ``fit`` starts from that network instead of a new one and trains it
for ``fine_tune_epochs`` epochs (0: the pretrained network as it is, zero-shot).
"""

import copy
import functools

import torch

from . import _validation

__all__ = ["PRETRAINED", "PretrainMixin"]

#: What pretrain keeps (sktime's pretrained attributes): fit starts from these.
PRETRAINED = ("pretrained_network_", "pretrained_windows_", "pretrained_inputs_",
              "pretrain_history_")


class PretrainMixin:
    """sktime's pretraining methods for :class:`~skmamba.estimators.BaseMambaForecaster`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skmamba.estimators import SMambaForecaster
    >>> idx = pd.MultiIndex.from_product([["a", "b"], range(40)], names=["id", "t"])
    >>> panel = pd.DataFrame({"y": np.sin(np.arange(80) / 3.0)}, index=idx)
    >>> f = SMambaForecaster(seq_len=8, pred_len=2, d_model=8, d_ff=8, e_layers=1,
    ...                      max_epochs=1, fine_tune_epochs=0, random_state=0)
    >>> f.pretrain(panel).state
    'pretrained'
    >>> f.fit(pd.Series(np.cos(np.arange(30) / 3.0)), fh=[1, 2]).n_epochs_  # zero-shot
    0
    """

    def _pretrain(self, y, X, fh):
        self._fit(y, X, fh)
        self._keep_as_pretrained([])
        return self

    def _pretrain_update(self, y, X, fh):
        # Training continues from the pretrained weights for max_epochs on the new panel.
        history = list(self.pretrain_history_)
        self._fit_network_or_discard(y, X, fh, epochs=self.max_epochs)
        self._keep_as_pretrained(history)
        return self

    def _keep_as_pretrained(self, earlier_history):
        """Keep the network just trained as the pretrained one; drop the rest of the fit."""
        self.pretrained_network_ = self.network_
        self.pretrained_windows_ = (self.seq_len_, self.pred_len_)
        self.pretrained_inputs_ = (self.n_columns_, self.n_mark_, self.n_exog_)
        self.pretrain_history_ = earlier_history + list(self.history_)
        self._discard_fitted_state()

    def _fine_tune_epochs(self):
        """Epochs a fit trains the pretrained network for; None for a fit from scratch."""
        _validation.check_int(type(self).__name__, "fine_tune_epochs",
                              self.fine_tune_epochs, 0, allow_none=True)
        if not hasattr(self, "pretrained_network_"):
            return None
        return self.max_epochs if self.fine_tune_epochs is None else self.fine_tune_epochs

    def _pretrained_start(self, fitted):
        """The network factory and flat weights a fit from the pretrained network starts from.

        ``fitted`` are the attributes the new data gives (their input shapes must be those
        the pretrained network was built for).
        """
        got = (fitted["n_columns_"], fitted["n_mark_"], fitted["n_exog_"])
        if got != tuple(self.pretrained_inputs_):
            names = ("columns of y", "calendar features", "columns of X")
            diff = "; ".join(f"{n}: pretrained {a}, now {b}"
                             for n, a, b in zip(names, self.pretrained_inputs_, got) if a != b)
            raise ValueError(
                f"{type(self).__name__}: the pretrained network cannot take this data "
                f"({diff}). Fit on data shaped like the pretraining panel, or use a new "
                f"forecaster (without pretrain) to train from scratch."
            )
        network = self.pretrained_network_
        weights = torch.nn.utils.parameters_to_vector(network.parameters()).detach().numpy()
        return functools.partial(copy.deepcopy, network), weights
