"""Attention, fast attention, mixture of experts and STAR: each against a naive form."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from skmamba._nn.layers import (
    STAR,
    FastAttention,
    MambaExpert,
    MixtureOfExperts,
    MultiHeadSelfAttention,
)
from skmamba._nn.layers.fast_attention import gaussian_kernel
from skmamba._nn.layers.star import sample_channels


class ShapeRecorder(TorchDispatchMode):
    """Records the shape of every tensor an operator returns."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.shapes.append(tuple(t.shape))
        return out


# ---------------------------------------------------------------- self-attention
def test_self_attention_equals_naive_softmax_attention():
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(d_model=12, n_heads=3).eval()
    x = torch.randn(2, 5, 12)
    q, k, v = attn.qkv(x).split(12, dim=-1)
    heads = []
    for h in range(3):
        s = slice(4 * h, 4 * h + 4)
        w = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / 2.0, dim=-1)
        heads.append(w @ v[..., s])
    expected = attn.out_proj(torch.cat(heads, dim=-1))
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-5)


def test_self_attention_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(d_model=10, n_heads=3)


# ---------------------------------------------------------------- fast attention
def test_fast_attention_equals_quadratic_form():
    torch.manual_seed(0)
    attn = FastAttention(d_model=8, n_heads=2)
    x = torch.randn(3, 9, 8)
    q, k, v = attn.query(x), attn.key(x), attn.value(x)
    heads = []
    for h in range(2):
        s = slice(4 * h, 4 * h + 4)
        scores = gaussian_kernel(q[..., s]) @ gaussian_kernel(k[..., s]).transpose(1, 2)
        heads.append(scores @ v[..., s] / scores.sum(dim=-1, keepdim=True))
    expected = attn.out_proj(torch.cat(heads, dim=-1))
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-6)


def test_fast_attention_never_builds_a_token_by_token_tensor():
    n_tokens = 37  # a size no other axis has
    attn = FastAttention(d_model=8, n_heads=2)
    x = torch.randn(2, n_tokens, 8, requires_grad=True)
    with ShapeRecorder() as rec:
        attn(x).sum().backward()
    assert rec.shapes
    assert all(shape.count(n_tokens) <= 1 for shape in rec.shapes)


def test_fast_attention_is_finite_for_large_activations():
    attn = FastAttention(d_model=8)
    out = attn(1e4 * torch.randn(2, 5, 8))
    assert torch.isfinite(out).all()


# ---------------------------------------------------------------- mixture of experts
def make_moe(n_experts=2, d_model=8, **kwargs):
    experts = [MambaExpert(d_model, d_state=4) for _ in range(n_experts)]
    return MixtureOfExperts(experts, d_model, **kwargs)


def test_capacity_formula_train_and_eval():
    moe = make_moe()
    assert moe.capacity(12) == 8  # max(min(12, int(12 * 1.25 / 2)), 8)
    moe.eval()
    assert moe.capacity(12) == 12  # int(12 * 2.0 / 2)
    assert moe.capacity(3) == 3  # never more slots than tokens


def test_capacity_respected_and_first_choices_have_priority():
    torch.manual_seed(0)
    moe = make_moe(n_experts=4, top_k=2, min_capacity=1)
    with torch.no_grad():
        moe.gate.weight.zero_()
        moe.gate.weight[0, 0] = 5.0  # most tokens prefer expert 0
    x = torch.randn(5, 24, 8)
    x[..., 0] = x[..., 0].abs() + 1.0
    r = moe.route(x)
    assert r.capacity == 7  # int(24 * 1.25 / 4)
    per_expert = r.dispatch.sum(dim=(1, 3))
    assert per_expert.max() == r.capacity
    assert r.dispatch.sum(dim=1).max() <= 1  # one token per slot
    assert r.dispatch.sum(dim=3).max() <= 1  # one slot per token and expert
    # Every token prefers expert 0 first: it takes the earliest 7 tokens in time order.
    taken0 = r.dispatch[:, :, 0].sum(dim=-1)
    assert torch.equal(taken0, torch.cat([torch.ones(5, 7), torch.zeros(5, 17)], dim=1))


def expert_sequences(r, top_i):
    """Per group and expert: the (token, choice) pairs in slot order."""
    g, t, e, c = r.dispatch.nonzero(as_tuple=True)
    out = {}
    for gi, ti, ei, ci in sorted(zip(g.tolist(), t.tolist(), e.tolist(), c.tolist())):
        choice = top_i[gi, ti].tolist().index(ei)
        out.setdefault((gi, ei), []).append((ci, ti, choice))
    return {key: [(ti, ch) for _, ti, ch in sorted(v)] for key, v in out.items()}


@pytest.mark.parametrize("routing", ["all", "sampled"])
def test_official_slot_order_first_choices_then_later_ones(routing):
    # The official dispatch: an expert's slots hold all its first-choice tokens in time
    # order, then its second-choice tokens in time order; slots 0..n-1 without gaps.
    torch.manual_seed(1)
    moe = make_moe(n_experts=3, top_k=2, min_capacity=1, eval_routing=routing).eval()
    x = torch.randn(4, 16, 8)
    torch.manual_seed(2)
    r = moe.route(x)
    top_i = torch.softmax(moe.gate(x), -1).topk(2, dim=-1).indices
    seqs = expert_sequences(r, top_i)
    assert any(len({ch for _, ch in v}) == 2 for v in seqs.values())  # both kinds occur
    for (gi, ei), seq in seqs.items():
        n = len(seq)
        assert torch.equal(r.dispatch[gi, :, ei].sum(0)[:n], torch.ones(n))
        assert seq == sorted(seq, key=lambda tc: (tc[1], tc[0]))


def test_time_slot_order_scans_in_time_order():
    torch.manual_seed(1)
    moe = make_moe(n_experts=3, top_k=2, min_capacity=1, slot_order="time").eval()
    x = torch.randn(4, 16, 8)
    r = moe.route(x)
    top_i = torch.softmax(moe.gate(x), -1).topk(2, dim=-1).indices
    for seq in expert_sequences(r, top_i).values():
        times = [t for t, _ in seq]
        assert times == sorted(times)
    # Only the order differs: the same tokens reach the same experts with the same weights.
    moe.slot_order = "choice"
    other = moe.route(x)
    torch.testing.assert_close(other.combine.sum(-1), r.combine.sum(-1))


def test_slot_order_and_routing_options_validated():
    with pytest.raises(ValueError, match="slot_order"):
        make_moe(slot_order="random")
    with pytest.raises(ValueError, match="eval_routing"):
        make_moe(eval_routing="mean")


def test_gates_renormalised_over_top_k():
    torch.manual_seed(2)
    moe = make_moe(n_experts=4, top_k=3, eval_routing="all").eval()  # capacity T: no drops
    x = torch.randn(3, 6, 8)
    r = moe.route(x)
    weight = r.combine.sum(dim=-1)  # (G, T, E)
    torch.testing.assert_close(weight.sum(dim=-1), torch.ones(3, 6))
    probs = torch.softmax(moe.gate(x), dim=-1)
    top_p, top_i = probs.topk(3, dim=-1)
    expected = torch.zeros_like(probs).scatter(-1, top_i, top_p / top_p.sum(-1, keepdim=True))
    torch.testing.assert_close(weight, expected)


def second_choice_gates(moe, x):
    top_p = torch.softmax(moe.gate(x), dim=-1).topk(2, dim=-1).values
    return top_p[..., 1] / top_p.sum(-1)


def routed_second_choices(moe, x):
    """Which tokens' second choices were routed (before capacity, which is T here)."""
    r = moe.route(x)
    return (r.dispatch.sum(dim=(2, 3)) == 2), r


@pytest.fixture
def sharp_moe():
    # Capacity T in eval and many second gates below the 0.2 threshold.
    torch.manual_seed(0)
    moe = make_moe(n_experts=4, top_k=2, capacity_factor_eval=8.0)
    with torch.no_grad():
        moe.gate.weight.mul_(10.0)
    return moe


def test_training_routing_is_random_and_seeded(sharp_moe):
    x = torch.randn(8, 12, 8)
    sharp_moe.train()
    torch.manual_seed(0)
    b = sharp_moe.route(x).dispatch
    torch.manual_seed(0)
    assert torch.equal(b, sharp_moe.route(x).dispatch)
    torch.manual_seed(1)
    assert not torch.equal(b, sharp_moe.route(x).dispatch)


def test_eval_routing_sampled_follows_the_official_probability(sharp_moe):
    sharp_moe.eval_routing = "sampled"
    sharp_moe.eval()
    x = torch.randn(64, 12, 8)
    g2 = second_choice_gates(sharp_moe, x)
    torch.manual_seed(0)
    first, _ = routed_second_choices(sharp_moe, x)
    torch.manual_seed(0)
    assert torch.equal(first, routed_second_choices(sharp_moe, x)[0])  # seeded: repeatable
    draws = torch.stack([routed_second_choices(sharp_moe, x)[0] for _ in range(40)]).float()
    assert torch.all(draws[:, g2 >= 0.2] == 1)
    low = (g2 > 0.05) & (g2 < 0.15)
    assert low.sum() > 20
    # Mean routing frequency of the low gates matches min(1, g / 0.2) on average.
    torch.testing.assert_close(draws[:, low].mean(), (g2[low] / 0.2).mean(), atol=0.03,
                               rtol=0)


def test_eval_routing_threshold_is_the_likelier_outcome(sharp_moe):
    sharp_moe.eval_routing = "threshold"
    sharp_moe.eval()
    x = torch.randn(16, 12, 8)
    g2 = second_choice_gates(sharp_moe, x)
    torch.manual_seed(0)
    routed, r = routed_second_choices(sharp_moe, x)
    assert torch.equal(routed, g2 >= 0.1)
    assert 0 < routed.float().mean() < 1
    torch.manual_seed(1)
    assert torch.equal(r.dispatch, sharp_moe.route(x).dispatch)
    # A second choice left out: the first keeps its own (renormalised) gate, as in training.
    w = r.combine.sum(-1).sum(-1)
    torch.testing.assert_close(w[~routed], 1 - g2[~routed])


def test_eval_routing_expected_weights_by_route_probability(sharp_moe):
    sharp_moe.eval_routing = "expected"
    sharp_moe.eval()
    x = torch.randn(16, 12, 8)
    g2 = second_choice_gates(sharp_moe, x)
    routed, r = routed_second_choices(sharp_moe, x)
    assert routed.all()
    top_i = torch.softmax(sharp_moe.gate(x), -1).topk(2, dim=-1).indices
    w2 = r.combine.sum(-1).gather(-1, top_i[..., 1:]).squeeze(-1)
    torch.testing.assert_close(w2, g2 * (g2 / 0.2).clamp_max(1.0))


def test_eval_routing_all_routes_every_choice(sharp_moe):
    sharp_moe.eval_routing = "all"
    sharp_moe.eval()
    x = torch.randn(16, 12, 8)
    routed, r = routed_second_choices(sharp_moe, x)
    assert routed.all()
    torch.testing.assert_close(r.combine.sum(dim=(2, 3)), torch.ones(16, 12))


def test_aux_loss_values_positive_and_differentiable():
    moe = make_moe(n_experts=4)
    with torch.no_grad():
        moe.gate.weight.zero_()
    r = moe.route(torch.randn(3, 12, 8))
    # Uniform gate: the balance loss is exactly 1 and the z-loss (log E)^2.
    torch.testing.assert_close(r.balance_loss, torch.tensor(1.0))
    torch.testing.assert_close(r.z_loss, torch.tensor(math.log(4) ** 2))

    torch.manual_seed(0)
    moe = make_moe(n_experts=4)
    _, aux = moe(torch.randn(3, 12, 8))
    assert aux.dim() == 0 and aux > 0
    aux.backward()
    assert moe.gate.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("slot_order", ["choice", "time"])
def test_moe_output_equals_per_token_loop(slot_order):
    torch.manual_seed(3)
    moe = make_moe(n_experts=3, top_k=2, min_capacity=1, slot_order=slot_order)
    x = torch.randn(4, 10, 8)
    torch.manual_seed(5)
    out, _ = moe(x)
    torch.manual_seed(5)
    r = moe.route(x)
    expected = torch.zeros_like(x)
    for g in range(4):
        for e, expert in enumerate(moe.experts):
            # The expert scans its tokens in slot order.
            taken = [(int(r.dispatch[g, t, e].argmax()), t) for t in range(10)
                     if r.dispatch[g, t, e].sum() > 0]
            tokens = [t for _, t in sorted(taken)]
            if not tokens:
                continue
            y = expert(x[g, tokens].unsqueeze(0))[0]
            for i, t in enumerate(tokens):
                expected[g, t] += r.combine[g, t, e].sum() * y[i]
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_moe_rejects_top_k_above_experts():
    with pytest.raises(ValueError, match="top_k"):
        make_moe(n_experts=2, top_k=3)


def test_expert_init_options():
    torch.manual_seed(0)
    official = MambaExpert(16, init="uniform")
    bound = official.mamba.d_inner ** -0.5
    assert official.mamba.dt_proj.bias.abs().max() <= bound  # step-size init overwritten
    standard = MambaExpert(16, init="mamba")
    dt = F.softplus(standard.mamba.dt_proj.bias)
    assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001
    with pytest.raises(ValueError, match="init"):
        MambaExpert(16, init="xavier")


def test_expert_residual_is_prenorm_skip():
    torch.manual_seed(0)
    expert = MambaExpert(8, residual=True)
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(expert(x), x + expert.mamba(expert.norm(x)))
    assert isinstance(MambaExpert(8).norm, torch.nn.Identity)


# ---------------------------------------------------------------- STAR
def test_sample_channels_follows_softmax():
    torch.manual_seed(0)
    logits = torch.tensor([1.0, 0.0, -1.0, 2.0]).view(1, 4, 1).expand(1, 4, 40000)
    idx = sample_channels(logits, dim=1).flatten()
    freq = torch.bincount(idx, minlength=4).float() / idx.numel()
    torch.testing.assert_close(freq, torch.softmax(logits[0, :, 0], 0), atol=0.01, rtol=0)


def test_sample_channels_extreme_logits():
    logits = torch.tensor([[[-1e30, 3e4], [1e4, -3e4], [0.0, 1e30]]])
    torch.manual_seed(0)
    assert sample_channels(logits, dim=1).flatten().tolist() == [1, 2]


def test_star_eval_is_softmax_weighted_mean():
    torch.manual_seed(0)
    star = STAR(d_model=8, d_core=4).eval()
    x, ctx = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    tokens = torch.cat([x, ctx], dim=1)
    scores = star.gen2(F.gelu(star.gen1(tokens)))
    core = (torch.softmax(scores, dim=1) * scores).sum(dim=1, keepdim=True).expand(-1, 3, -1)
    expected = star.gen4(F.gelu(star.gen3(torch.cat([x, core], dim=-1))))
    torch.testing.assert_close(star(x, ctx), expected)
    torch.testing.assert_close(star(x, ctx), star(x, ctx))


def test_star_training_samples_one_channel_per_core_dimension():
    torch.manual_seed(0)
    star = STAR(d_model=8, d_core=16, dropout=0.0).train()
    tokens = torch.randn(2, 6, 8)
    scores = star.gen2(F.gelu(star.gen1(tokens)))
    torch.manual_seed(1)
    core = star.pool(tokens)
    # Every core value is one of the channels' scores in that dimension.
    assert ((scores - core).abs() < 1e-6).any(dim=1).all()
    torch.manual_seed(1)
    assert torch.equal(core, star.pool(tokens))
    torch.manual_seed(2)
    assert not torch.equal(core, star.pool(tokens))
    core.sum().backward()
    assert star.gen2.weight.grad.abs().sum() > 0
