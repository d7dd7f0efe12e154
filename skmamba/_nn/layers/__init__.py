"""Shared building blocks composed by every network in :mod:`skmamba._nn.networks`."""

from .mamba import Mamba
from .revin import RevIN

__all__ = ["Mamba", "RevIN"]
