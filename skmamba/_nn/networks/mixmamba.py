"""MixMamba network (Alkilane et al., 2024): a mixture of Mamba experts over patch tokens."""

import torch.nn as nn

from ..layers import FlattenHead, MambaExpert, MixtureOfExperts, PatchEmbedding, RevIN

__all__ = ["MixMambaNet"]


class MixMambaNet(nn.Module):
    """MixMamba: patches of every channel routed through a mixture of Mamba experts.

    1. Each window is normalised per channel over time (non-affine RevIN).
    2. Channel-independent patching: every channel's lookback is extended by ``stride``
       copies of its last value and cut into patches of ``patch_len`` every ``stride``
       steps (12 patches at L=96), each embedded by ``Linear(patch_len -> d_model)`` plus
       sinusoidal positions, then dropout.
    3. One mixture-of-Mamba-experts layer (:class:`~skmamba._nn.layers.MixtureOfExperts`
       over ``n_experts`` :class:`~skmamba._nn.layers.MambaExpert`) with top-``top_k``
       gating, expert capacity and the load-balancing and router z-losses, which are
       returned as ``aux_loss``. As in the official code there is no residual or norm
       around it and no stacking.
    4. Flatten head ``Linear(n_patches * d_model -> pred_len)`` with dropout, per channel;
       denormalisation.

    Calendar features and exogenous variables are not used (the model is channel
    independent), as in the paper.

    Choices relative to the official code (``KhaledAlkilane89/MixMamba``):

    - routing of the second choice: the official gate routes it with probability
      ``min(1, g / 0.2)`` also at eval time, so its forecasts are random. Here that random
      policy applies in training only; in eval mode every top-n choice routes with its
      renormalised gate, so forecasts are deterministic;
    - each expert scans its tokens in time order; the official dispatch concatenates the
      first-choice tokens and then the second-choice tokens (each in time order), so a
      Mamba expert there may see patches out of order. Which tokens are dropped at
      capacity is the same (first choices take priority);
    - ``expert_residual=False`` and ``expert_init="uniform"`` reproduce the official code
      (no prenorm and skip inside the experts; expert weights, including the step-size
      bias, re-drawn uniformly). The paper's Algorithm 1 corresponds to
      ``expert_residual=True``;
    - the paper's gate noise is not used (the code disables it too), and the unused Mamba
      the official gate builds is not created;
    - ``patch_len`` and ``stride`` are parameters (the official model fixes 16 and 8).

    Parameters
    ----------
    seq_len, pred_len : int
        Lookback and horizon.
    n_channels : int
        Target variables.
    n_mark, n_exog : int, default=0
        Accepted for the common network signature and ignored.
    d_model : int, default=64
        Token width (ETTh1 script).
    n_experts : int, default=2
        Mamba experts.
    top_k : int, default=2
        Experts per token.
    patch_len, stride : int, default=16, 8
        Patch length and step.
    d_state, d_conv, expand : int, default=8, 4, 2
        Settings of every expert's Mamba.
    dropout : float, default=0.1
        Dropout of the embedding and the head.
    threshold : float, default=0.2
        Second-choice routing threshold in training.
    capacity_factor_train, capacity_factor_eval : float, default=1.25, 2.0
    min_capacity : int, default=8
    balance_loss_weight, z_loss_weight : float, default=0.01, 0.001
        Weights of the auxiliary losses in ``aux_loss``.
    expert_residual : bool, default=False
        ``x + Mamba(RMSNorm(x))`` experts (paper) instead of plain ``Mamba(x)`` (code).
    expert_init : {"uniform", "mamba"}, default="uniform"
        The official code's uniform re-initialisation, or the standard Mamba one.
    scan_backend : str, default="auto"

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.networks.mixmamba import MixMambaNet
    >>> net = MixMambaNet(seq_len=32, pred_len=8, n_channels=3, d_model=16)
    >>> y_hat, aux = net(torch.randn(4, 32, 3))
    >>> y_hat.shape, aux.dim()
    (torch.Size([4, 8, 3]), 0)
    """

    def __init__(
        self,
        seq_len,
        pred_len,
        n_channels,
        n_mark=0,
        n_exog=0,
        d_model=64,
        n_experts=2,
        top_k=2,
        patch_len=16,
        stride=8,
        d_state=8,
        d_conv=4,
        expand=2,
        dropout=0.1,
        threshold=0.2,
        capacity_factor_train=1.25,
        capacity_factor_eval=2.0,
        min_capacity=8,
        balance_loss_weight=0.01,
        z_loss_weight=0.001,
        expert_residual=False,
        expert_init="uniform",
        scan_backend="auto",
    ):
        super().__init__()
        self.n_channels = n_channels
        self.norm = RevIN(n_channels)
        self.embedding = PatchEmbedding(d_model, patch_len, stride, pad_end=True,
                                        dropout=dropout)
        n_patches = self.embedding.num_patches(seq_len)
        experts = [
            MambaExpert(d_model, d_state=d_state, d_conv=d_conv, expand=expand,
                        residual=expert_residual, init=expert_init, scan_backend=scan_backend)
            for _ in range(n_experts)
        ]
        self.moe = MixtureOfExperts(
            experts, d_model, top_k=top_k, threshold=threshold,
            capacity_factor_train=capacity_factor_train,
            capacity_factor_eval=capacity_factor_eval, min_capacity=min_capacity,
            balance_weight=balance_loss_weight, z_weight=z_loss_weight,
        )
        self.head = FlattenHead(n_patches * d_model, pred_len, dropout=dropout)

    def forward(self, x, x_mark=None, exog=None):
        """Forecast (B, pred_len, n_channels) and the MoE loss from x (B, seq_len, n_channels)."""
        B = x.shape[0]
        x = self.norm(x, "norm")
        tokens = self.embedding(x.transpose(1, 2))
        tokens, aux_loss = self.moe(tokens)
        out = self.head(tokens.reshape(B, self.n_channels, *tokens.shape[1:]))
        return self.norm(out.transpose(1, 2), "denorm"), aux_loss
