"""Shared building blocks composed by every network in :mod:`skmamba._nn.networks`."""

from .embedding import InvertedEmbedding, PatchEmbedding, PositionalEncoding
from .mamba import Mamba
from .mlp import FeedForward, FlattenHead
from .revin import RevIN

__all__ = [
    "FeedForward",
    "FlattenHead",
    "InvertedEmbedding",
    "Mamba",
    "PatchEmbedding",
    "PositionalEncoding",
    "RevIN",
]
