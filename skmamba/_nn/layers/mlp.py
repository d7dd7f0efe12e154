"""Position-wise feed-forward block and the flatten-and-project forecasting head."""

import torch.nn as nn

__all__ = ["FeedForward", "FlattenHead"]

_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}


class FeedForward(nn.Module):
    """Token-wise two-layer MLP (the ``Conv1d(kernel_size=1)`` FFN of Transformer encoders).

    Parameters
    ----------
    d_model : int
        Input and output width.
    d_ff : int
        Hidden width.
    dropout : float, default=0.1
        Dropout after the activation and after the output layer.
    activation : {"gelu", "relu", "silu"}, default="gelu"
        Hidden activation.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.mlp import FeedForward
    >>> FeedForward(8, 32)(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model, d_ff, dropout=0.1, activation="gelu"):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, d_ff),
            _ACTIVATIONS[activation](),
            nn.Dropout(dropout),
            nn.Linear(d_ff, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        """Apply the MLP to the last axis of x (..., d_model)."""
        return self.net(x)


class FlattenHead(nn.Module):
    """Flatten the last two axes of a token tensor and project to the horizon.

    Parameters
    ----------
    n_inputs : int
        Product of the two flattened axes (e.g. ``num_patches * d_model``).
    pred_len : int
        Forecast horizon.
    dropout : float, default=0.0
        Dropout after the projection.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers.mlp import FlattenHead
    >>> FlattenHead(12 * 8, 24)(torch.randn(2, 3, 12, 8)).shape
    torch.Size([2, 3, 24])
    """

    def __init__(self, n_inputs, pred_len, dropout=0.0):
        super().__init__()
        self.linear = nn.Linear(n_inputs, pred_len)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        """Map (..., a, b) with a * b == n_inputs to (..., pred_len)."""
        return self.dropout(self.linear(x.flatten(start_dim=-2)))
