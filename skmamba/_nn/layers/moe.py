"""Sparse mixture of experts with top-n gating and expert capacity (ST-MoE style), and the
Mamba expert of MixMamba."""

import collections

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mamba import Mamba

__all__ = ["MambaExpert", "MixtureOfExperts", "Routing"]

Routing = collections.namedtuple(
    "Routing", ["dispatch", "combine", "balance_loss", "z_loss", "capacity"]
)
Routing.__doc__ = """Result of :meth:`MixtureOfExperts.route`.

dispatch : (G, T, E, C) 0/1 tensor, token t of group g goes to slot c of expert e.
combine : (G, T, E, C) the same assignment weighted by the renormalised gate.
balance_loss, z_loss : scalar tensors (unweighted).
capacity : int, slots per expert and group (C).

Examples
--------
>>> import torch
>>> from skmamba._nn.layers import MambaExpert, MixtureOfExperts
>>> moe = MixtureOfExperts([MambaExpert(8), MambaExpert(8)], d_model=8).eval()
>>> r = moe.route(torch.randn(3, 12, 8))
>>> r.dispatch.shape, r.capacity
(torch.Size([3, 12, 2, 12]), 12)
"""


class MambaExpert(nn.Module):
    """One MixMamba expert: a Mamba block, optionally with RMSNorm prenorm and a skip.

    Parameters
    ----------
    d_model : int
        Token width.
    d_state, d_conv, expand : int, default=8, 4, 2
        Mamba settings of MixMamba's experts.
    residual : bool, default=False
        ``x + Mamba(RMSNorm(x))`` as in the paper's Algorithm 1; False is plain
        ``Mamba(x)``, the official code's default (``prenorm=False``, no skip), which
        produced the published numbers.
    init : {"uniform", "mamba"}, default="uniform"
        ``"uniform"`` re-draws every weight and bias of the Mamba's linear and convolution
        layers from U(-1/sqrt(fan_out), 1/sqrt(fan_out)) as the official code does. This
        also overwrites Mamba's step-size bias (initial steps near softplus(0) = 0.69
        instead of log-uniform in [1e-3, 1e-1]), i.e. short memory. ``"mamba"`` keeps the
        standard mamba-ssm initialisation.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers import MambaExpert
    >>> MambaExpert(16, residual=True)(torch.randn(2, 12, 16)).shape
    torch.Size([2, 12, 16])
    """

    def __init__(self, d_model, d_state=8, d_conv=4, expand=2, residual=False, init="uniform"):
        super().__init__()
        if init not in ("uniform", "mamba"):
            raise ValueError(f"MambaExpert: init must be 'uniform' or 'mamba', got {init!r}")
        self.residual = residual
        self.norm = nn.RMSNorm(d_model) if residual else nn.Identity()
        self.mamba = Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand)
        if init == "uniform":
            for m in self.mamba.modules():
                if isinstance(m, (nn.Linear, nn.Conv1d)):
                    bound = m.weight.shape[0] ** -0.5
                    nn.init.uniform_(m.weight, -bound, bound)
                    if m.bias is not None:
                        nn.init.uniform_(m.bias, -bound, bound)

    def forward(self, x):
        """Map (B, T, d_model) to (B, T, d_model)."""
        out = self.mamba(self.norm(x))
        return x + out if self.residual else out


class MixtureOfExperts(nn.Module):
    """Sparse mixture of sequence experts with top-n gating and a capacity per expert.

    Tokens come in groups (sequences) of shape (G, T, D). For every token a softmax gate
    ``Linear(D -> E, no bias)`` scores the experts; the top ``top_k`` are kept and their
    gates renormalised to sum to one. The first choice always routes. In training a later
    choice with gate ``g`` routes with probability ``min(1, g / threshold)`` (ST-MoE's
    random policy); in eval mode ``eval_routing`` decides:

    - ``"sampled"``: the same random policy (the official MixMamba/ST-MoE code); the draws
      come from torch's global generator, so seed it for repeatable outputs, and a token's
      draw depends on its position in the batch;
    - ``"threshold"``: deterministic, a later choice routes when the random policy would
      route it with probability at least one half (``g >= threshold / 2``);
    - ``"expected"``: deterministic, every top-k choice routes and a later choice's output
      weight is ``g * min(1, g / threshold)``, its expected weight under the random policy;
    - ``"all"``: deterministic, every top-k choice routes with its gate.

    Each expert takes at most ``capacity`` tokens of every group:
    ``max(min(T, floor(T * cf / E)), min_capacity)`` with ``cf = capacity_factor_train`` or
    ``capacity_factor_eval``. Slots are filled by priority (all first choices in time order,
    then all second choices, ...); tokens that find no free slot are dropped for that
    expert. ``slot_order`` is the order in which an expert then scans its kept tokens
    (zero-padded at the end, which a causal Mamba ignores): ``"choice"`` in that priority
    order, as the official code dispatches them, or ``"time"`` in time order. Each token's
    output is the gate-weighted sum over the experts that took it; a token dropped
    everywhere gets zeros.

    Dispatch and combination are dense one-hot tensors (G, T, E, C) applied with einsum: no
    Python loop over tokens, one call per expert.

    The auxiliary loss is ``balance_weight * balance + z_weight * z`` with the load-balancing
    loss ``balance = E**2 * mean_e(mean gate probability * fraction of top-1 choices)`` and
    the router z-loss ``z = mean(logsumexp(logits)**2)`` (Zoph et al., 2022).

    Parameters
    ----------
    experts : sequence of torch.nn.Module
        E modules mapping (G, C, D) to (G, C, D).
    d_model : int
        Token width D.
    top_k : int, default=2
        Experts per token (``1 <= top_k <= E``).
    threshold : float, default=0.2
        Routing threshold of the later choices.
    eval_routing : {"sampled", "threshold", "expected", "all"}, default="sampled"
        Which later choices route in eval mode (see above).
    slot_order : {"choice", "time"}, default="choice"
        Order of the tokens inside an expert (see above).
    capacity_factor_train, capacity_factor_eval : float, default=1.25, 2.0
        Capacity factors.
    min_capacity : int, default=8
        Lower bound of the capacity (capped at T).
    balance_weight, z_weight : float, default=0.01, 0.001
        Weights of the auxiliary losses.
    straight_through : bool, default=True
        Add ``combine - combine.detach()`` to the 0/1 dispatch tensor, as the official
        ST-MoE code does, so the gate also receives the gradient of the expert inputs.
        The forward pass is unchanged.
    eps : float, default=1e-9
        Floor of the gate renormalisation.

    Examples
    --------
    >>> import torch
    >>> from skmamba._nn.layers import MambaExpert, MixtureOfExperts
    >>> moe = MixtureOfExperts([MambaExpert(16), MambaExpert(16)], d_model=16)
    >>> out, aux = moe(torch.randn(6, 12, 16))
    >>> out.shape, aux.dim()
    (torch.Size([6, 12, 16]), 0)
    """

    EVAL_ROUTINGS = ("sampled", "threshold", "expected", "all")
    SLOT_ORDERS = ("choice", "time")

    def __init__(self, experts, d_model, top_k=2, threshold=0.2, capacity_factor_train=1.25,
                 capacity_factor_eval=2.0, min_capacity=8, balance_weight=0.01,
                 z_weight=0.001, straight_through=True, eps=1e-9, eval_routing="sampled",
                 slot_order="choice"):
        super().__init__()
        if eval_routing not in self.EVAL_ROUTINGS:
            raise ValueError(
                f"MixtureOfExperts: eval_routing must be one of {self.EVAL_ROUTINGS}, got "
                f"{eval_routing!r}"
            )
        if slot_order not in self.SLOT_ORDERS:
            raise ValueError(
                f"MixtureOfExperts: slot_order must be one of {self.SLOT_ORDERS}, got "
                f"{slot_order!r}"
            )
        self.eval_routing = eval_routing
        self.slot_order = slot_order
        self.experts = nn.ModuleList(experts)
        n_experts = len(self.experts)
        if not 1 <= top_k <= n_experts:
            raise ValueError(
                f"MixtureOfExperts: top_k must lie in [1, {n_experts}] (the number of "
                f"experts), got {top_k}"
            )
        self.gate = nn.Linear(d_model, n_experts, bias=False)
        self.top_k = top_k
        self.threshold = threshold
        self.capacity_factor_train = capacity_factor_train
        self.capacity_factor_eval = capacity_factor_eval
        self.min_capacity = min_capacity
        self.balance_weight = balance_weight
        self.z_weight = z_weight
        self.straight_through = straight_through
        self.eps = eps

    def capacity(self, n_tokens):
        """Slots per expert for groups of ``n_tokens`` tokens in the current mode."""
        cf = self.capacity_factor_train if self.training else self.capacity_factor_eval
        capacity = max(min(n_tokens, int(n_tokens * cf / len(self.experts))), self.min_capacity)
        # An expert never receives more than T tokens of a group (top-n choices are distinct).
        return min(capacity, n_tokens)

    def route(self, x):
        """Gate the tokens x (G, T, D) and assign them to expert slots; see :class:`Routing`."""
        G, T, _ = x.shape
        E, k = len(self.experts), self.top_k
        logits = self.gate(x)
        probs = F.softmax(logits, dim=-1)
        top_p, top_i = probs.topk(k, dim=-1)
        gates = top_p / top_p.sum(dim=-1, keepdim=True).clamp_min(self.eps)

        routed = torch.ones_like(gates, dtype=torch.bool)
        policy = "sampled" if self.training else self.eval_routing
        route_prob = gates[..., 1:].detach() / self.threshold  # before clamping at 1
        if k > 1 and policy == "sampled":
            routed[..., 1:] = torch.rand_like(route_prob) < route_prob
        elif k > 1 and policy == "threshold":
            routed[..., 1:] = route_prob >= 0.5  # the likelier outcome of the draw
        weights = gates
        if k > 1 and policy == "expected":
            weights = torch.cat([gates[..., :1], gates[..., 1:] * route_prob.clamp_max(1.0)],
                                dim=-1)
        choice = F.one_hot(top_i, E).to(x.dtype) * routed.unsqueeze(-1)  # (G, T, k, E)

        # Capacity by priority: choice-major, time-minor (all first choices come first).
        capacity = self.capacity(T)
        by_priority = choice.transpose(1, 2).reshape(G, k * T, E)
        earlier = by_priority.cumsum(dim=1) - by_priority
        kept_flat = by_priority * (earlier < capacity)
        kept = kept_flat.reshape(G, k, T, E).transpose(1, 2)  # (G, T, k, E)

        if self.slot_order == "choice":
            # A kept token's slot is its rank in priority order (the official dispatch);
            # a token holds at most one of its top-k choices per expert, so summing the
            # choices leaves one slot per token and expert.
            slot = earlier.long().clamp_max(capacity - 1)
            by_slot = kept_flat.unsqueeze(-1) * F.one_hot(slot, capacity).to(x.dtype)
            dispatch = by_slot.reshape(G, k, T, E, capacity).sum(dim=1)
        else:
            taken = kept.sum(dim=2)
            slot = (taken.cumsum(dim=1) - taken).long().clamp_max(capacity - 1)
            dispatch = taken.unsqueeze(-1) * F.one_hot(slot, capacity).to(x.dtype)
        weight = (weights.unsqueeze(-1) * kept).sum(dim=2)
        combine = weight.unsqueeze(-1) * dispatch

        top1 = F.one_hot(top_i[..., 0], E).to(x.dtype)
        balance = (probs.mean(dim=1) * top1.mean(dim=1)).mean() * E**2
        z_loss = torch.logsumexp(logits, dim=-1).square().mean()
        return Routing(dispatch, combine, balance, z_loss, capacity)

    def forward(self, x):
        """Map tokens (G, T, D) to ``(out (G, T, D), aux_loss scalar)``."""
        r = self.route(x)
        dispatch = r.dispatch
        if self.straight_through:
            dispatch = dispatch + r.combine - r.combine.detach()
        expert_in = torch.einsum("gtd,gtec->egcd", x, dispatch)
        expert_out = torch.stack(
            [expert(inp) for expert, inp in zip(self.experts, expert_in)]
        )
        out = torch.einsum("egcd,gtec->gtd", expert_out, r.combine)
        aux = self.balance_weight * r.balance_loss + self.z_weight * r.z_loss
        return out, aux
