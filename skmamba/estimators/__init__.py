"""sktime forecasters: one public module per model, all sharing :class:`BaseMambaForecaster`.

``__all__`` lists the forecasters only; tests enumerate it to run sktime's conformance suite
over every model.
"""

from ._base import BaseMambaForecaster
from .smamba import SMambaForecaster

__all__ = [
    "SMambaForecaster",
]
