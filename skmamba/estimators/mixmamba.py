"""MixMamba forecaster."""

from .._nn.networks.mixmamba import MixMambaNet
from ._base import BaseMambaForecaster

__all__ = ["MixMambaForecaster"]


class MixMambaForecaster(BaseMambaForecaster):
    """MixMamba: a mixture of Mamba experts over patches of each series (Alkilane et al., 2024).

    Every series is handled on its own (channel independence): its lookback is cut into
    overlapping patches (length 16, step 8, so 12 patches at ``seq_len=96``), each embedded
    as a token with its position. A gating network sends every patch to its ``top_k`` best
    Mamba experts, each expert scans the patches it received in time order, and the experts'
    outputs are mixed with the gate weights; a linear head maps the patch tokens to the
    forecast. A load-balancing loss and a router z-loss keep all experts in use; they are
    added to the training loss.

    Good at: heterogeneous, non-stationary series where different regimes or segments
    benefit from different dynamics (ETT, weather, exchange rates); cheap, since only a few
    patch tokens are scanned. It does not model interactions between series.

    Paper: Khaled Alkilane, Yihang He, Der-Horng Lee, "MixMamba: Time series modeling with
    adaptive expertise", Information Fusion 112 (2024) 102589. Official code:
    ``KhaledAlkilane89/MixMamba``.

    The defaults reproduce the published ETTh1 setting (lookback 96; d_model 64, 2 experts,
    top-2 gating, expert Mamba with d_state 8, d_conv 4, expand 2; dropout 0.1; L1 loss plus
    the auxiliary losses weighted 0.01 and 0.001; AdamW with its default weight decay 0.01,
    lr 1e-3 halved every epoch, batch 32, 10 epochs, patience 3). Early stopping needs
    ``validation_size > 0``, which defaults to 0.

    Deviations from the official code:

    - forecasts are deterministic: the official gate routes second choices at random
      (probability ``min(1, gate / 0.2)``) also at prediction time; here that policy is used
      in training only, and prediction routes every top-k choice with its gate;
    - each expert scans its patches in time order (the official dispatch puts the
      second-choice patches after the first-choice ones);
    - ``patch_len`` and ``stride`` are parameters (fixed at 16 and 8 in the official model);
    - ``expert_residual=False, expert_init="uniform"`` mirror the official experts (plain
      Mamba, every weight re-drawn uniformly, which also overwrites Mamba's step-size
      initialisation); ``expert_residual=True`` is the paper's Algorithm 1 (RMSNorm prenorm
      and skip in each expert), ``expert_init="mamba"`` the standard initialisation;
    - pure-PyTorch selective scan instead of the ``mamba_ssm`` CUDA kernels; gradients are
      clipped at norm 1; ``y`` is standardised with the training rows' statistics inside
      the forecaster (the published numbers standardise the data set the same way);
    - calendar features and ``X`` are not used, as in the paper.

    Parameters
    ----------
    {window_parameters}
    d_model : int, default=64
        Patch-token width.
    n_experts : int, default=2
        Mamba experts.
    top_k : int, default=2
        Experts per patch (at most ``n_experts``).
    patch_len : int, default=16
        Steps per patch; must not exceed ``seq_len``.
    stride : int, default=8
        Steps between patch starts.
    d_state : int, default=8
        State size of each expert's Mamba.
    d_conv : int, default=4
        Convolution width of each expert's Mamba.
    expand : int, default=2
        Inner-width factor of each expert's Mamba.
    dropout : float, default=0.1
        Dropout of the patch embedding and the head.
    balance_loss_weight : float, default=0.01
        Weight of the load-balancing loss.
    z_loss_weight : float, default=0.001
        Weight of the router z-loss.
    expert_residual : bool, default=False
        Experts ``x + Mamba(RMSNorm(x))`` (paper) instead of ``Mamba(x)`` (official code).
    expert_init : {{"uniform", "mamba"}}, default="uniform"
        Expert initialisation: the official uniform re-draw, or mamba-ssm's.
    {training_parameters}

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    skmamba.estimators.BaseMambaForecaster.predict_windows : batch evaluation.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skmamba.estimators import MixMambaForecaster
    >>> idx = pd.date_range("2024-01-01", periods=120, freq="h")
    >>> y = pd.DataFrame({"a": np.sin(np.arange(120) / 4), "b": np.cos(np.arange(120) / 4)},
    ...                  index=idx)
    >>> f = MixMambaForecaster(seq_len=32, d_model=16, max_epochs=2, random_state=0)
    >>> y_pred = f.fit(y, fh=range(1, 13)).predict()
    >>> y_pred.shape
    (12, 2)
    """

    _tags = {
        "authors": ["skmamba developers"],
        "maintainers": ["skmamba developers"],
    }

    def __init__(
        self,
        seq_len=96,
        pred_len=None,
        d_model=64,
        n_experts=2,
        top_k=2,
        patch_len=16,
        stride=8,
        d_state=8,
        d_conv=4,
        expand=2,
        dropout=0.1,
        balance_loss_weight=0.01,
        z_loss_weight=0.001,
        expert_residual=False,
        expert_init="uniform",
        max_epochs=10,
        batch_size=32,
        lr=1e-3,
        lr_decay=0.5,
        loss="mae",
        optimizer="adamw",
        optimizer_kwargs=None,
        validation_size=0,
        patience=3,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.d_model = d_model
        self.n_experts = n_experts
        self.top_k = top_k
        self.patch_len = patch_len
        self.stride = stride
        self.d_state = d_state
        self.d_conv = d_conv
        self.expand = expand
        self.dropout = dropout
        self.balance_loss_weight = balance_loss_weight
        self.z_loss_weight = z_loss_weight
        self.expert_residual = expert_residual
        self.expert_init = expert_init
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.loss = loss
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.validation_size = validation_size
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()

    def _build_network(self, n_channels, n_mark, n_exog):
        return MixMambaNet(
            self.seq_len, self.pred_len_, n_channels, n_mark, n_exog,
            d_model=self.d_model, n_experts=self.n_experts, top_k=self.top_k,
            patch_len=self.patch_len, stride=self.stride, d_state=self.d_state,
            d_conv=self.d_conv, expand=self.expand, dropout=self.dropout,
            balance_loss_weight=self.balance_loss_weight, z_loss_weight=self.z_loss_weight,
            expert_residual=self.expert_residual, expert_init=self.expert_init,
        )

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny configurations for sktime's conformance tests.

        Parameters
        ----------
        parameter_set : str, default="default"
            Ignored; the same sets are returned for every name.

        Returns
        -------
        list of dict
            Constructor arguments. The second uses the paper's experts, more experts than
            gates, validation and early stopping.

        Examples
        --------
        >>> from skmamba.estimators import MixMambaForecaster
        >>> len(MixMambaForecaster.get_test_params()) >= 2
        True
        """
        tiny = {"d_model": 8, "d_state": 2, "patch_len": 4, "stride": 2, "device": "cpu"}
        return [
            {**tiny, "seq_len": 8, "pred_len": 5, "max_epochs": 1, "batch_size": 8,
             "random_state": 0},
            {**tiny, "seq_len": 4, "pred_len": 5, "n_experts": 3, "top_k": 2,
             "expert_residual": True, "expert_init": "mamba", "max_epochs": 2,
             "batch_size": 4, "validation_size": 5, "patience": 1, "loss": "mse",
             "optimizer": "adam", "random_state": 1},
        ]
