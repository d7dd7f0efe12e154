"""sktime forecasters: one public module per model, all sharing :class:`BaseMambaForecaster`.

:data:`MODELS` is the registry of models: the main job, the benchmark harness, the API
documentation and the tests all read it, so adding a model is one estimator module, one
network module and one entry here.
"""

from ._base import BaseMambaForecaster
from ._ltsf_settings import best_ltsf_forecaster
from .fmamba import FMambaForecaster
from .mat import MATForecaster
from .mixmamba import MixMambaForecaster
from .smamba import SMambaForecaster
from .timestar import TimeStarMambaForecaster

#: Short model name -> forecaster class, in the order models are presented.
MODELS = {
    "SMamba": SMambaForecaster,
    "MixMamba": MixMambaForecaster,
    "MAT": MATForecaster,
    "FMamba": FMambaForecaster,
    "TimeStarMamba": TimeStarMambaForecaster,
}

__all__ = [cls.__name__ for cls in MODELS.values()] + ["best_ltsf_forecaster"]
