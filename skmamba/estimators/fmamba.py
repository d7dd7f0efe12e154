"""FMamba forecaster."""

from .._nn.networks.fmamba import FMambaNet
from ._base import BaseMambaForecaster
from .smamba import SMAMBA_SCHEDULE

__all__ = ["FMambaForecaster"]

_TINY = {"d_model": 8, "d_state": 2, "d_ff": 8, "e_layers": 1}


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
    S-Mamba's (same token layout): d_model = d_ff = 256, two layers, dropout 0.1, Adam with
    MSE; the Mamba uses d_state 16, d_conv 2, expand 1. The training defaults suit everyday
    series (lookback from the data, lr 1e-3 held constant for 20 epochs);
    ``paper_params()`` gives S-Mamba's published schedule as its scripts run it: lookback
    96, lr 5e-5 kept for two epochs and halved after each later one, batch 32, 10 epochs,
    patience 3. Early stopping needs ``validation_size > 0``, which defaults to 0.

    Choices where the paper is silent, and deviations:

    - attention normalised by ``Q'(K'^T 1)`` (the kernel analogue of softmax) rather than
      by the key dimension (scale-free, and positive because the kernel is);
    - residual connections and LayerNorms around every sub-block; fixed sinusoidal
      positions over the variable axis rather than learned ones (valid for any number of
      variables); one attention head;
    - calendar features are only added when ``y`` has a datetime or period index;
    - known future covariates: ``X`` is used over the lookback and the forecast horizon
      (an extension; the paper forecasts from the targets alone): each exogenous
      variable's rows over both become one extra token, so the variable-mixing layers let
      every target read the covariate's known future values; ``predict`` needs ``X`` over
      the forecast horizon (the fast attention carries them to the target tokens);
    {kernel_deviation}
    - ``y`` is standardised with the training rows' statistics inside the forecaster.

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

    {common_attributes}

    See Also
    --------
    SMambaForecaster : the same variable tokens with a bidirectional Mamba only.
    MATForecaster : variable tokens at two scales, Mamba and attention side by side.

    Examples
    --------
    US consumption, income, production, savings and unemployment, forecast jointly:

    >>> import pandas as pd
    >>> from sktime.datasets import load_uschange
    >>> from skmamba.estimators import FMambaForecaster
    >>> y = pd.concat(load_uschange(), axis=1)
    >>> f = FMambaForecaster(seq_len=24, d_model=16, d_ff=16, max_epochs=2, lr=1e-3,
    ...                      random_state=0)
    >>> f.fit(y, fh=[1, 2, 3, 4]).predict().columns.tolist()
    ['Consumption', 'Income', 'Production', 'Savings', 'Unemployment']
    """

    # Tiny architectures for sktime's conformance tests (the third trains a
    # probabilistic loss; the second two heads).
    _test_params = (_TINY, {**_TINY, "n_heads": 2, "loss": "mse+mae", "optimizer": "adamw"},
                    {**_TINY, "loss": "quantile"})
    _paper_setting = {"d_model": 256, "d_state": 16, "d_ff": 256, "e_layers": 2,
                      "n_heads": 1, "d_conv": 2, "expand": 1, "dropout": 0.1,
                      **SMAMBA_SCHEDULE}
    _tags = {"capability:exogenous": True}
    _network = FMambaNet

    def __init__(
        self,
        seq_len=None,
        pred_len=None,
        d_model=256,
        d_state=16,
        d_ff=256,
        e_layers=2,
        n_heads=1,
        d_conv=2,
        expand=1,
        dropout=0.1,
        max_epochs=20,
        max_steps=None,
        fine_tune_epochs=None,
        batch_size=32,
        lr=1e-3,
        lr_decay=1.0,
        lr_decay_start=1,
        loss="mse",
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
        self.d_model = d_model
        self.d_state = d_state
        self.d_ff = d_ff
        self.e_layers = e_layers
        self.n_heads = n_heads
        self.d_conv = d_conv
        self.expand = expand
        self.dropout = dropout
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
