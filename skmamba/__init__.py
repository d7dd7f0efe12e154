"""skmamba: Mamba-family time-series forecasters for sktime and scikit-learn."""

__version__ = "0.1.0"

from ._nn.training import TrainingDivergedError
from ._weights import load_weights, save_weights
from .estimators import *  # noqa: F401,F403  (the forecasters)
from .estimators import __all__ as _forecasters
from .metrics import forecast_scorer

__all__ = [*_forecasters, "TrainingDivergedError", "forecast_scorer", "save_weights",
           "load_weights"]
