"""MAT forecaster."""

from .._nn import training
from .._nn.networks.mat import MATNet
from ._base import BaseMambaForecaster

__all__ = ["MATForecaster"]


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
    averages, so the defaults are not tied to published ETT numbers: (n1, n2) = (128, 64)
    (a TimeMachine setting), Mamba with d_state 16, d_conv 2, expand 1, four attention
    heads; training follows the Time-Series-Library protocol of the other models (Adam,
    lr 1e-3 halved every epoch, batch 32, 10 epochs, patience 3) with the paper's loss
    ``0.5 * MSE + 0.5 * MAE``.

    Design choices where the paper is silent (see
    :class:`skmamba._nn.networks.mat.MATNet`): both token mixers run over variable tokens;
    pre-norm LayerNorms in each block; calendar features of a datetime index become extra
    tokens; ``X`` is not used. The selective scan is pure PyTorch; gradients are clipped at
    norm 1; ``y`` is standardised with the training rows' statistics.

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
    >>> from skmamba.estimators import MATForecaster
    >>> idx = pd.date_range("2024-01-01", periods=120, freq="h")
    >>> y = pd.DataFrame({"a": np.sin(np.arange(120) / 4), "b": np.cos(np.arange(120) / 4)},
    ...                  index=idx)
    >>> f = MATForecaster(seq_len=24, n1=16, n2=8, max_epochs=2, mse_weight=0.7,
    ...                   random_state=0)
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
        n1=128,
        n2=64,
        n_heads=4,
        d_state=16,
        d_conv=2,
        expand=1,
        ff_mult=2,
        dropout=0.1,
        mse_weight=0.5,
        max_epochs=10,
        batch_size=32,
        lr=1e-3,
        lr_decay=0.5,
        loss="mse+mae",
        optimizer="adam",
        optimizer_kwargs=None,
        validation_size=0,
        patience=3,
        device="auto",
        random_state=None,
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
        return MATNet(
            self.seq_len, self.pred_len_, n_channels, n_mark, n_exog,
            n1=self.n1, n2=self.n2, n_heads=self.n_heads, d_state=self.d_state,
            d_conv=self.d_conv, expand=self.expand, ff_mult=self.ff_mult,
            dropout=self.dropout,
        )

    def _make_loss(self):
        return training.make_loss(self.loss, mse_weight=self.mse_weight)

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
            Constructor arguments. The second exercises validation, early stopping and a
            plain MSE loss.

        Examples
        --------
        >>> from skmamba.estimators import MATForecaster
        >>> len(MATForecaster.get_test_params()) >= 2
        True
        """
        tiny = {"n1": 8, "n2": 4, "n_heads": 2, "d_state": 2, "device": "cpu"}
        return [
            {**tiny, "seq_len": 8, "pred_len": 5, "max_epochs": 1, "batch_size": 8,
             "random_state": 0},
            {**tiny, "seq_len": 4, "pred_len": 5, "max_epochs": 2, "batch_size": 4,
             "validation_size": 5, "patience": 1, "loss": "mse", "optimizer": "adamw",
             "random_state": 1},
        ]
