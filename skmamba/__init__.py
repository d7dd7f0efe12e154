"""skmamba: Mamba-family time-series forecasters for sktime and scikit-learn."""

__version__ = "0.1.0"
