"""Shared building blocks composed by every network in :mod:`skmamba._nn.networks`."""

from .attention import MultiHeadSelfAttention
from .embedding import InvertedEmbedding, PatchEmbedding, PositionalEncoding
from .fast_attention import FastAttention
from .mamba import Mamba
from .mlp import FeedForward, FlattenHead
from .moe import MambaExpert, MixtureOfExperts
from .revin import RevIN
from .star import STAR

__all__ = [
    "FastAttention",
    "FeedForward",
    "FlattenHead",
    "InvertedEmbedding",
    "Mamba",
    "MambaExpert",
    "MixtureOfExperts",
    "MultiHeadSelfAttention",
    "PatchEmbedding",
    "PositionalEncoding",
    "RevIN",
    "STAR",
]
