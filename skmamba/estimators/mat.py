"""MAT forecaster."""

from .._nn.networks.mat import MATNet
from ._base import BaseMambaForecaster

__all__ = ["MATForecaster"]

_TINY = {"n1": 8, "n2": 4, "n_heads": 2, "d_state": 2}


class MATForecaster(BaseMambaForecaster):
    """MAT: Mamba for long-range and self-attention for short-range structure (Zhang et al.,
    2024).

    Every variable's lookback window is embedded twice, at two widths (``n1`` and the
    smaller ``n2``), and at each scale the variable tokens are mixed by a Mamba branch and a
    multi-head self-attention branch whose outputs are added to the token (residual
    fusion), followed by a feed-forward block. The coarse scale is projected back to ``n1``
    with a residual from the first embedding, concatenated with the fine scale and mapped to
    the horizon. Reversible instance normalisation with a learnable affine map wraps the
    network. Training can use the paper's weighted MSE + MAE loss.

    Good at: multivariate series where relations between variables matter at several
    levels of detail (weather, the paper's application); a moderate-cost model that is
    linear in the lookback length.

    Paper: Wenqing Zhang, Junming Huang, Ruotong Wang, Changsong Wei, Wenqian Huang, Yuxin
    Qiao, "Integration of Mamba and Transformer -- MAT for Long-Short Range Time Series
    Forecasting with Application to Weather Dynamics", ICECCE 2024, arXiv:2409.08530. There
    is no official code; the network follows the paper's component list with TimeMachine
    (Ahamed & Cheng, 2024) as the structural template. The paper reports only Weather
    averages, so no setting is tied to published ETT numbers: (n1, n2) = (128, 64)
    (a TimeMachine setting), Mamba with d_state 16, d_conv 2, expand 1, four attention
    heads, the paper's loss ``0.5 * MSE + 0.5 * MAE``; the training defaults suit everyday
    series (lookback from the data, lr 1e-3 held constant for 20 epochs).
    ``paper_params()`` gives the Time-Series-Library protocol of the other models' ETT
    numbers: lookback 96, Adam, lr 1e-3 halved every epoch, batch 32, 10 epochs, patience 3.

    Design choices where the paper is silent:

    - both token mixers run over variable tokens (TimeMachine's channel-mixing mode);
      attention over TimeMachine's channel-independent axis (the n_k embedding coordinates
      of one variable, width 1) would degenerate;
    - pre-norm LayerNorms in each block, which TimeMachine does not have, because the
      attention branch adds a second unnormalised update to the residual stream;
    - calendar features of a datetime index become extra tokens (an extension: the paper
      forecasts from the targets alone; with a single target they give the token mixers
      something to mix);
    - known future covariates: ``X`` is used over the lookback and the forecast horizon
      (an extension; the paper forecasts from the targets alone): each exogenous
      variable's rows over both become one extra token, so the variable-mixing layers let
      every target read the covariate's known future values; ``predict`` needs ``X`` over
      the forecast horizon (the attention branch carries them to the target tokens; the
      one-directional Mamba branch cannot, as the targets come first);
    - Mamba with ``d_conv=2, expand=1`` as in TimeMachine, but ``d_state=16`` instead of
      TimeMachine's 256: the scan runs over a handful of variable tokens, where a large
      state only costs time (CPU cost grows linearly with ``d_state``);
    - ``(n1, n2) = (128, 64)``: TimeMachine's middle Weather setting, and small enough for
      ETT-sized data sets (seven variables, about 8,500 training windows);
    {kernel_deviation}
    - ``y`` is standardised with the training rows' statistics.

    Parameters
    ----------
    {window_parameters}
    n1 : int, default=128
        Width of the first (fine) embedding.
    n2 : int, default=64
        Width of the second (coarse) embedding.
    n_heads : int, default=4
        Attention heads; must divide ``n1`` and ``n2``.
    d_state : int, default=16
        State size of the Mambas.
    d_conv : int, default=2
        Convolution width of the Mambas.
    expand : int, default=1
        Inner-width factor of the Mambas.
    ff_mult : int, default=2
        Feed-forward hidden width as a multiple of the token width.
    dropout : float, default=0.1
        Dropout of the embeddings, attention weights and feed-forward blocks.
    mse_weight : float, default=0.5
        With ``loss="mse+mae"``, the weight of the MSE term; MAE gets ``1 - mse_weight``.
        Ignored for the other losses.
    {training_parameters}

    {common_attributes}

    See Also
    --------
    SMambaForecaster : single-scale variable tokens with a bidirectional Mamba.
    FMambaForecaster : variable tokens mixed by fast attention, then Mamba.

    Examples
    --------
    Two hourly series with a daily cycle:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from skmamba.estimators import MATForecaster
    >>> t = np.arange(240)
    >>> y = pd.DataFrame({"a": np.sin(2 * np.pi * t / 24), "b": np.cos(2 * np.pi * t / 24)},
    ...                  index=pd.date_range("2024-01-01", periods=240, freq="h"))
    >>> f = MATForecaster(seq_len=48, n1=16, n2=8, max_epochs=2, mse_weight=0.7,
    ...                   random_state=0).fit(y, fh=range(1, 25))
    >>> f.predict().shape
    (24, 2)
    """

    # Tiny architectures for sktime's conformance tests (the third trains a
    # probabilistic loss; the second a plain MSE loss).
    _test_params = (_TINY, {**_TINY, "loss": "mse", "optimizer": "adamw"},
                    {**_TINY, "loss": "studentt"})
    _paper_setting = {
        "seq_len": 96, "n1": 128, "n2": 64, "n_heads": 4, "d_state": 16, "d_conv": 2,
        "expand": 1, "ff_mult": 2, "dropout": 0.1, "mse_weight": 0.5, "max_epochs": 10,
        "batch_size": 32, "lr": 1e-3, "lr_decay": 0.5, "loss": "mse+mae", "optimizer": "adam",
        "patience": 3,
    }
    _tags = {"capability:exogenous": True}
    _network = MATNet
    _loss_parameters = ("mse_weight",)

    def __init__(
        self,
        seq_len=None,
        pred_len=None,
        n1=128,
        n2=64,
        n_heads=4,
        d_state=16,
        d_conv=2,
        expand=1,
        ff_mult=2,
        dropout=0.1,
        mse_weight=0.5,
        max_epochs=20,
        max_steps=None,
        fine_tune_epochs=None,
        batch_size=32,
        lr=1e-3,
        lr_decay=1.0,
        lr_decay_start=1,
        loss="mse+mae",
        quantile_levels=(0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975),
        optimizer="adam",
        optimizer_kwargs=None,
        validation_size=0,
        patience=3,
        device="auto",
        n_processes=1,
        random_state=None,
        checkpoint_dir=None,
        verbose=0,
    ):
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.n1 = n1
        self.n2 = n2
        self.n_heads = n_heads
        self.d_state = d_state
        self.d_conv = d_conv
        self.expand = expand
        self.ff_mult = ff_mult
        self.dropout = dropout
        self.mse_weight = mse_weight
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.fine_tune_epochs = fine_tune_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_start = lr_decay_start
        self.loss = loss
        self.quantile_levels = quantile_levels
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.validation_size = validation_size
        self.patience = patience
        self.device = device
        self.n_processes = n_processes
        self.random_state = random_state
        self.checkpoint_dir = checkpoint_dir
        self.verbose = verbose
        super().__init__()
