"""sktime forecasters: one public module per model, all sharing :class:`BaseMambaForecaster`.

``__all__`` lists the forecasters only; tests enumerate it to run sktime's conformance suite
over every model.
"""

from ._base import BaseMambaForecaster
from .fmamba import FMambaForecaster
from .mat import MATForecaster
from .mixmamba import MixMambaForecaster
from .smamba import SMambaForecaster
from .timestar import TimeStarMambaForecaster

__all__ = [
    "SMambaForecaster",
    "MixMambaForecaster",
    "MATForecaster",
    "FMambaForecaster",
    "TimeStarMambaForecaster",
]
