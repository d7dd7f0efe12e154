"""FMamba forecaster."""

from .._nn.networks.fmamba import FMambaNet
from ._base import BaseMambaForecaster

__all__ = ["FMambaForecaster"]


class FMambaForecaster(BaseMambaForecaster):
    """FMamba: fast attention across variables, then Mamba (Ma et al., 2024).

    Each variable's whole lookback window becomes one token (as in iTransformer), together
    with one token per calendar feature, embedded with positions and an MLP block. Fast
    attention relates every variable to every other one: queries and keys pass a Gaussian
    kernel and keys are multiplied with values first, so the cost grows linearly, not
    quadratically, with the number of variables. A Mamba block then selectively processes
    the tokens, an MLP block refines each one, and a linear projector gives each variable's
    forecast.

    Good at: many interrelated series (traffic sensors, electricity, solar), where attending
    to all variables at linear cost pays off; less useful for a single series.

    Paper: Shusen Ma, Yu Kang, Peng Bai, Yun-Bo Zhao, "FMamba: Mamba based on Fast-attention
    for Multivariate Time-series Forecasting", arXiv:2407.14814 (2024). There is no public
    code; the network is built from the paper. Where the paper is silent the choices are
    S-Mamba's (same token layout): lookback 96, d_model = d_ff = 256, two layers, dropout
    0.1, Adam with MSE, lr 5e-5 halved every epoch, batch 32, 10 epochs, patience 3; the
    Mamba uses d_state 16, d_conv 2, expand 1. Early stopping needs ``validation_size > 0``,
    which defaults to 0.

    Choices and deviations (see :class:`skmamba._nn.networks.fmamba.FMambaNet`):

    - attention normalised by ``Q'(K'^T 1)`` (the kernel analogue of softmax) rather than
      by the key dimension;
    - residual connections and LayerNorms around every sub-block; sinusoidal positions over
      the variable axis; one attention head;
    - calendar features are only added when ``y`` has a datetime or period index; ``X`` is
      not used;
    - pure-PyTorch selective scan; gradients are clipped at norm 1; ``y`` is standardised
      with the training rows' statistics inside the forecaster.

    Parameters
    ----------
    {window_parameters}
    d_model : int, default=256
        Token width.
    d_state : int, default=16
        State size of each Mamba.
    d_ff : int, default=256
        Hidden width of the MLP blocks.
    e_layers : int, default=2
        Fast-attention + Mamba + MLP layers.
    n_heads : int, default=1
        Fast-attention heads; must divide ``d_model``.
    d_conv : int, default=2
        Convolution width of each Mamba.
    expand : int, default=1
        Inner-width factor of each Mamba.
    dropout : float, default=0.1
        Dropout in the embedding and the blocks.
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
    >>> from skmamba.estimators import FMambaForecaster
    >>> idx = pd.date_range("2024-01-01", periods=120, freq="h")
    >>> y = pd.DataFrame({"a": np.sin(np.arange(120) / 4), "b": np.cos(np.arange(120) / 4)},
    ...                  index=idx)
    >>> f = FMambaForecaster(seq_len=24, d_model=16, d_ff=16, max_epochs=2, lr=1e-3,
    ...                      random_state=0)
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
        d_model=256,
        d_state=16,
        d_ff=256,
        e_layers=2,
        n_heads=1,
        d_conv=2,
        expand=1,
        dropout=0.1,
        max_epochs=10,
        batch_size=32,
        lr=5e-5,
        lr_decay=0.5,
        loss="mse",
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
        self.d_model = d_model
        self.d_state = d_state
        self.d_ff = d_ff
        self.e_layers = e_layers
        self.n_heads = n_heads
        self.d_conv = d_conv
        self.expand = expand
        self.dropout = dropout
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
        return FMambaNet(
            self.seq_len, self.pred_len_, n_channels, n_mark, n_exog,
            d_model=self.d_model, d_state=self.d_state, d_ff=self.d_ff,
            e_layers=self.e_layers, n_heads=self.n_heads, d_conv=self.d_conv,
            expand=self.expand, dropout=self.dropout,
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
            Constructor arguments. The second uses two heads, validation and early
            stopping.

        Examples
        --------
        >>> from skmamba.estimators import FMambaForecaster
        >>> len(FMambaForecaster.get_test_params()) >= 2
        True
        """
        tiny = {"d_model": 8, "d_state": 2, "d_ff": 8, "e_layers": 1, "device": "cpu"}
        return [
            {**tiny, "seq_len": 8, "pred_len": 5, "max_epochs": 1, "batch_size": 8,
             "lr": 1e-3, "random_state": 0},
            {**tiny, "seq_len": 4, "pred_len": 5, "n_heads": 2, "max_epochs": 2,
             "batch_size": 4, "lr": 1e-3, "validation_size": 5, "patience": 1,
             "loss": "mse+mae", "optimizer": "adamw", "random_state": 1},
        ]
