"""MixMamba network (Alkilane et al., 2024): a mixture of Mamba experts over patch tokens."""

import torch.nn as nn

from ..layers import FlattenHead, MambaExpert, MixtureOfExperts, PatchEmbedding, RevIN

__all__ = ["MixMambaNet"]

# Gate settings as in the official code (``KhaledAlkilane89/MixMamba``); the estimator does
# not expose them.
# A later choice with gate weight g is routed with probability min(1, g / THRESHOLD) in
# training (and at prediction with eval_routing="sampled").
THRESHOLD = 0.2
# Slots per expert: max(MIN_CAPACITY, int(factor * tokens / n_experts)), capped at the number
# of tokens; the larger eval factor drops fewer tokens when forecasting.
CAPACITY_FACTOR_TRAIN = 1.25
CAPACITY_FACTOR_EVAL = 2.0
MIN_CAPACITY = 8


class MixMambaNet(nn.Module):
    """MixMamba: patches of every channel routed through a mixture of Mamba experts.

    1. Each window is normalised per channel over time (non-affine RevIN).
    2. Channel-independent patching: every channel's lookback is extended by ``stride``
       copies of its last value and cut into patches of ``patch_len`` every ``stride``
       steps (12 patches at L=96), each embedded by ``Linear(patch_len -> d_model)`` plus
       sinusoidal positions, then dropout.
    3. One mixture-of-Mamba-experts layer (:class:`~skmamba._nn.layers.MixtureOfExperts`
       over ``n_experts`` :class:`~skmamba._nn.layers.MambaExpert`) with top-``top_k``
       gating (second-choice threshold ``THRESHOLD``; ``eval_routing`` at prediction),
       expert capacity (``CAPACITY_FACTOR_TRAIN``, ``CAPACITY_FACTOR_EVAL``,
       ``MIN_CAPACITY``), each expert scanning its first-choice patches and then its
       second-choice ones (the official dispatch order), and the load-balancing and router
       z-losses, which are returned as ``aux_loss``. As in the official code there is no
       residual or norm around it and no stacking.
    4. Flatten head ``Linear(n_patches * d_model -> pred_len)`` with dropout, per channel;
       denormalisation.

    Deviations from the official code and parameter meanings: see
    :class:`~skmamba.estimators.MixMambaForecaster`.

    Parameters
    ----------
    seq_len : int
        Lookback length.
    pred_len : int
        Horizon.
    n_channels : int
        Target variables.
    n_mark : int
        Accepted for the common network signature and ignored (channel independent).
    n_exog : int
        Accepted for the common network signature and ignored (channel independent).
    output : torch.nn.Module
        What the network forecasts (:mod:`skmamba._nn.heads`): a point, a distribution or
        quantiles; the projection has ``pred_len * output.n_params`` outputs per channel.
    d_model : int
        Patch-token width.
    n_experts : int
        Mamba experts.
    top_k : int
        Experts per token.
    patch_len : int
        Steps per patch.
    stride : int
        Steps between patch starts.
    d_state : int
        State size of every expert's Mamba.
    d_conv : int
        Convolution width of every expert's Mamba.
    expand : int
        Inner-width factor of every expert's Mamba.
    dropout : float
        Dropout of the embedding and the head.
    balance_loss_weight : float
        Weight of the load-balancing loss in ``aux_loss``.
    z_loss_weight : float
        Weight of the router z-loss in ``aux_loss``.
    expert_residual : bool
        ``x + Mamba(RMSNorm(x))`` experts (paper) instead of plain ``Mamba(x)`` (code).
    expert_init : {"uniform", "mamba"}
        The official code's uniform re-initialisation, or the standard Mamba one.
    eval_routing : {"sampled", "threshold", "expected", "all"}
        Which second choices route in eval mode; see
        :class:`~skmamba._nn.layers.MixtureOfExperts`.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.mixmamba import MixMambaNet
    >>> from skmamba._nn.heads import PointOutput
    >>> net = MixMambaNet(seq_len=32, pred_len=8, n_channels=3, n_mark=0, n_exog=0,
    ...     output=PointOutput(),
    ...                   d_model=16, n_experts=2, top_k=2, patch_len=16, stride=8,
    ...                   d_state=8, d_conv=4, expand=2, dropout=0.1,
    ...                   balance_loss_weight=0.01, z_loss_weight=0.001,
    ...                   expert_residual=False, expert_init="uniform",
    ...                   eval_routing="threshold")
    >>> y_hat, aux = net(torch.randn(4, 32, 3))
    >>> y_hat.shape, aux.dim()
    (torch.Size([4, 8, 3]), 0)
    """

    def __init__(self, *, seq_len, pred_len, n_channels, n_mark, n_exog, output, d_model,
                 n_experts, top_k, patch_len, stride, d_state, d_conv, expand, dropout,
                 balance_loss_weight, z_loss_weight, expert_residual, expert_init,
                 eval_routing):
        super().__init__()
        self.output = output
        self.n_channels = n_channels
        self.norm = RevIN(n_channels)
        self.embedding = PatchEmbedding(d_model, patch_len, stride, pad_end=True,
                                        dropout=dropout)
        n_patches = self.embedding.num_patches(seq_len)
        experts = [
            MambaExpert(d_model, d_state=d_state, d_conv=d_conv, expand=expand,
                        residual=expert_residual, init=expert_init)
            for _ in range(n_experts)
        ]
        self.moe = MixtureOfExperts(
            experts, d_model, top_k=top_k, threshold=THRESHOLD,
            capacity_factor_train=CAPACITY_FACTOR_TRAIN,
            capacity_factor_eval=CAPACITY_FACTOR_EVAL, min_capacity=MIN_CAPACITY,
            balance_weight=balance_loss_weight, z_weight=z_loss_weight,
            eval_routing=eval_routing, slot_order="choice",
        )
        self.head = FlattenHead(n_patches * d_model, pred_len * output.n_params,
                                dropout=dropout)

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) and the MoE loss from x (B, seq_len, n_channels)."""
        B = x.shape[0]
        x = self.norm(x, "norm")
        tokens = self.embedding(x.transpose(1, 2))
        tokens, aux_loss = self.moe(tokens)
        out = self.head(tokens.reshape(B, self.n_channels, *tokens.shape[1:]))
        return self.output(out.transpose(1, 2), self.norm), aux_loss
