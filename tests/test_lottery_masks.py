"""IMP and one-shot magnitude masks: nested rounds, exact per-round counts against a recursion
written separately, the smallest survivors go first (checked by brute force), and the output
layer at its own rate."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer import models
from explorer.lottery.magnitude import imp_step, one_shot, ones, output_names, output_sparsity, prunable
from explorer.pruning.mask import Mask, MaskError


def half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def weights(seed: int, sizes: list[int]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {f"t{i}": torch.randn(n, generator=g) for i, n in enumerate(sizes)}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(1, 60), min_size=1, max_size=4),
       rate=st.floats(0.05, 0.9), rounds=st.integers(1, 6), scope=st.sampled_from(["layer", "global"]))
def test_masks_only_shrink_and_counts_are_exact(seed, sizes, rate, rounds, scope):
    w0 = weights(seed, sizes)
    mask = ones(w0)
    kept_layer = {k: v.numel() for k, v in w0.items()}  # the reference recursion, per tensor
    kept_total = sum(kept_layer.values())
    for r in range(1, rounds + 1):
        w = weights(seed + r, sizes)  # "trained" weights differ every round
        new = imp_step(w, mask, rate, scope=scope)
        assert new.is_subset_of(mask), "a pruned weight came back"
        if scope == "layer":
            for k in w:
                kept_layer[k] -= half_up(rate * kept_layer[k])
                assert int(new[k].sum()) == kept_layer[k]
        else:
            kept_total -= half_up(rate * kept_total)
            assert new.kept == kept_total
        # brute force: among the previous survivors, every pruned |w| <= every kept |w| (per pool)
        pools = [[k] for k in w] if scope == "layer" else [list(w)]
        for pool in pools:
            gone = torch.cat([w[k].abs()[(mask[k] > 0) & (new[k] == 0)] for k in pool])
            kept = torch.cat([w[k].abs()[new[k] > 0] for k in pool])
            if len(gone) and len(kept):
                assert gone.max() <= kept.min()
        mask = new


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_round_sparsity_is_one_minus_keep_to_the_r(rate):
    """On a real model: after r rounds every layer keeps n (1-rate)^r up to the rounding of each round."""
    m = models.load("mlp").model
    params = dict(m.named_parameters())
    names = prunable(m)
    mask = ones({n: params[n] for n in names})
    g = torch.Generator().manual_seed(0)
    for r in range(1, 8):
        w = {n: torch.randn(params[n].shape, generator=g) for n in names}
        mask = imp_step(w, mask, rate, scope="layer")
        for n in names:
            expect = params[n].numel() * (1 - rate) ** r
            assert abs(int(mask[n].sum()) - expect) <= 0.5 / rate  # each round rounds by <= 1/2, shrinking after
        total = sum(params[n].numel() for n in names)
        assert abs(mask.sparsity - (1 - (1 - rate) ** r)) <= len(names) * 0.5 / rate / total


def test_output_layer_at_its_own_rate_and_biases_when_asked():
    lm = models.load("mlp")
    names = prunable(lm.model, biases=True)
    assert "out.bias" in names and "hidden.0.bias" in names
    assert prunable(lm.model) == ["hidden.0.weight", "hidden.1.weight", "out.weight"]
    out = output_names(lm.model, lm.example_input, names)
    assert out == ["out.weight", "out.bias"]
    params = dict(lm.model.named_parameters())
    w = {n: params[n].detach() for n in names}
    mask = ones(w)
    for r in range(1, 4):
        mask = imp_step(w, mask, 0.5, output=out, output_rate=0.1)
        k = int(mask["out.weight"].sum())
        ref = params["out.weight"].numel()
        for _ in range(r):
            ref -= half_up(0.1 * ref)
        assert k == ref
    one = one_shot(w, names, 0.875, output=out, rate=0.5, output_rate=0.1)  # = 3 rounds at 0.5
    assert int(one["out.weight"].sum()) == params["out.weight"].numel() - half_up(
        output_sparsity(0.875, 0.5, 0.1) * params["out.weight"].numel())
    assert abs(output_sparsity(0.875, 0.5, 0.1) - (1 - 0.9 ** 3)) < 1e-12


def test_one_shot_is_exact_per_layer_and_global():
    w = weights(3, [100, 37, 8])
    for s in (0.5, 0.9, 0.99):
        lay = one_shot(w, list(w), s, scope="layer")
        assert all(int(lay[k].sum()) == v.numel() - half_up(s * v.numel()) for k, v in w.items())
        glob = one_shot(w, list(w), s, scope="global")
        assert glob.kept == 145 - half_up(s * 145)


def test_bad_rates_are_refused_with_the_fix():
    w = weights(0, [4])
    with pytest.raises(MaskError, match="rate 1.0 must lie in"):
        imp_step(w, ones(w), 1.0)
    with pytest.raises(MaskError, match="no trained values"):
        imp_step({}, Mask({"t0": torch.ones(4)}), 0.2)


def test_two_rewritten_graphs_are_one_network_when_only_removed_ops_masks_differ():
    """fx gives every GraphModule a class of its own: the same rewritten graph twice is still one
    network, and a mask on a parameter the graph no longer reads changes nothing."""
    from types import SimpleNamespace

    import torch
    from torch import fx, nn

    from explorer.lottery.group import same_network

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.dead = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x):
            return self.a(x)

    torch.manual_seed(0)
    net = Net()
    g1, g2 = fx.symbolic_trace(net), fx.symbolic_trace(net)
    assert type(g1) is not type(g2)
    ones = {k: torch.ones_like(v) for k, v in net.state_dict().items() if k.endswith("weight")}
    other = {**ones, "dead.weight": torch.zeros(3, 3)}
    assert same_network(SimpleNamespace(model=g1, mask=ones), SimpleNamespace(model=g2, mask=other))
    cut = {**ones, "a.weight": torch.eye(3)}
    assert not same_network(SimpleNamespace(model=g1, mask=ones), SimpleNamespace(model=g2, mask=cut))
