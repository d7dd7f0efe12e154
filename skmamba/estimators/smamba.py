"""S-Mamba forecaster."""

from .._nn.networks.smamba import SMambaNet
from ._base import BaseMambaForecaster

__all__ = ["SMambaForecaster"]


class SMambaForecaster(BaseMambaForecaster):
    """S-Mamba: a bidirectional Mamba over variate tokens (Wang et al., 2024).

    Each variable's whole lookback window becomes one token (as in iTransformer), together
    with one token per calendar feature. Two Mambas with separate weights scan the tokens
    forwards and backwards to mix information across variables, a feed-forward block
    transforms each token, and a linear head maps every variable's token to its forecast.
    Because the token axis is the variables, not time, the cost grows linearly with the
    number of series and only mildly with ``seq_len``.

    Good at: many correlated series (electricity, traffic, weather) and long horizons at a
    small cost; a strong, fast baseline. Less suited to a single univariate series, where
    there is nothing to mix across.

    Paper: Zihan Wang, Fanheng Kong, Shi Feng, Ming Wang, Xiaocui Yang, Han Zhao, Daling
    Wang, Yifei Zhang, "Is Mamba Effective for Time Series Forecasting?",
    Neurocomputing 2025, arXiv:2403.11144. Official code: ``wzhwzhwzh0921/S-D-Mamba``.

    The defaults reproduce the published ETTh1 setting (lookback 96; e_layers 2,
    d_model = d_ff = 256, d_state 2, dropout 0.1, batch 32, Adam, MSE, 10 epochs halving
    the learning rate every epoch, patience 3). The scripts use learning rates of 3e-5 to
    7e-5 on ETTh1; the default here is 5e-5, the middle of that range. Early stopping needs
    ``validation_size > 0``, which defaults to 0.

    Deviations from the official code:

    - pure-PyTorch selective scan (CPU, or Triton on CUDA) instead of the ``mamba_ssm``
      CUDA kernels; same parameters and initialisation;
    - the unused modules the official layers construct (an extra ``Mamba(d_model=11)``,
      attention) are not built, which changes nothing in the forward pass but the seed
      stream;
    - exogenous variables are not used (``X`` is ignored), as in the paper;
    - calendar features are only added when ``y`` has a datetime or period index;
    - ``y`` is standardised with the training rows' statistics inside the forecaster (the
      published numbers standardise the dataset the same way outside the model), and
      gradients are clipped at norm 1.

    Parameters
    ----------
    {window_parameters}
    d_model : int, default=256
        Token width.
    d_state : int, default=2
        State size of each Mamba.
    d_ff : int, default=256
        Hidden width of the feed-forward block.
    e_layers : int, default=2
        Encoder layers.
    dropout : float, default=0.1
        Dropout in the embedding and the feed-forward block.
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
    >>> from skmamba.estimators import SMambaForecaster
    >>> idx = pd.date_range("2024-01-01", periods=120, freq="h")
    >>> y = pd.DataFrame({"a": np.sin(np.arange(120) / 4), "b": np.cos(np.arange(120) / 4)},
    ...                  index=idx)
    >>> f = SMambaForecaster(seq_len=24, d_model=16, d_ff=16, max_epochs=2, lr=1e-3,
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
        d_state=2,
        d_ff=256,
        e_layers=2,
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
        return SMambaNet(
            self.seq_len, self.pred_len_, n_channels, n_mark, n_exog,
            d_model=self.d_model, d_state=self.d_state, d_ff=self.d_ff,
            e_layers=self.e_layers, dropout=self.dropout,
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
            Constructor arguments. The second exercises validation and early stopping.

        Examples
        --------
        >>> from skmamba.estimators import SMambaForecaster
        >>> len(SMambaForecaster.get_test_params()) >= 2
        True
        """
        tiny = {"d_model": 8, "d_state": 2, "d_ff": 8, "e_layers": 1, "device": "cpu"}
        return [
            {**tiny, "seq_len": 8, "pred_len": 5, "max_epochs": 1, "batch_size": 8,
             "lr": 1e-3, "random_state": 0},
            {**tiny, "seq_len": 4, "pred_len": 5, "max_epochs": 2, "batch_size": 4,
             "lr": 1e-3, "validation_size": 5, "patience": 1, "loss": "mse+mae",
             "optimizer": "adamw", "random_state": 1},
        ]
