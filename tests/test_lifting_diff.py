"""The lifting diff (explorer.lifting.diff) against independent computations: the output change of a
pruning at an input, split by removed arc, equals the pruned torch model's own output change where the
activation pattern (read by torch hooks) is unchanged — and is flagged where it changes; the per-level
entry diff names exactly the removed arcs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from explorer.graph.build import build_dag
from explorer.graph.unit import unit_dag
from explorer.lifting import NumericLifting, lifting
from explorer.lifting.diff import entry_diff, removed_arc_terms


class SkipNet(nn.Module):
    """4 -> 5 -> 5 -> 3 ReLU with a residual add and a skip from the first hidden layer to the output."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 5), nn.Linear(5, 5), nn.Linear(5, 5)
        self.out, self.skip = nn.Linear(5, 3), nn.Linear(5, 3, bias=False)

    def forward(self, x):
        h1 = torch.relu(self.a(x))
        h2 = torch.relu(self.b(h1))
        h3 = torch.relu(self.c(h2) + h1)
        return self.out(h3) + self.skip(h1)


class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv1d(1, 3, 3, padding=1), nn.Conv1d(3, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 6, 2)

    def forward(self, x):
        h = torch.relu(self.c1(x))
        return self.fc((torch.relu(self.c2(h)) + h).flatten(1))


def _pruned(net: nn.Module, dag, arcs) -> nn.Module:
    """A copy of `net` with the weights of `arcs` zeroed (the torch model, not the lifting)."""
    p = copy.deepcopy(net)
    params = dict(p.named_parameters())
    by_id = {a.id: a for a in dag.arcs}
    with torch.no_grad():
        for k in arcs:
            m = by_id[k].meta
            params[m["param"]][tuple(m["index"])] = 0.0  # a linear weight or a conv kernel (out, in, ...)
    return p


def _closed(dag, ids) -> list[str]:
    """`ids` with every arc that shares a removed weight: a residual add folded into the next layer makes two
    arcs (from both summands) carry one weight, and zeroing the weight removes both."""
    key = lambda a: (a.meta.get("param"), repr(a.meta.get("index")))
    gone = {key(a) for a in dag.arcs if a.id in set(ids)}
    return list(dict.fromkeys([*ids, *(a.id for a in dag.arcs if a.meta.get("param") and key(a) in gone)]))


def _pattern(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Which pre-activations are positive at every relu call (torch.relu wrapped for the forward)."""
    seen: list[torch.Tensor] = []
    real = torch.relu

    def spy(t):
        seen.append((t > 0).clone())
        return real(t)

    torch.relu = spy
    try:
        net(x)
    finally:
        torch.relu = real
    return seen


def _setup(net_cls, shape, seed=0):
    torch.manual_seed(seed)
    net = net_cls().double().eval()
    x = torch.randn(1, *shape, dtype=torch.float64)
    dag = unit_dag(net, x, net_cls.__name__)
    return net, x, dag, NumericLifting(dag)


def _size(net, a) -> float:
    """|w| of a scalar arc, the norm of a kernel arc; inf for arcs without a weight (identity, pools)."""
    if not a.meta.get("param"):
        return float("inf")
    return float(dict(net.named_parameters())[a.meta["param"]][tuple(a.meta["index"])].detach().norm())


def _small_arcs(dag, k, *, chain: bool, net=None):
    """The k smallest-|w| arcs, plus (chain) two arcs in series u->v->w."""
    arcs = sorted((a for a in dag.arcs if a.meta.get("param")), key=lambda a: _size(net, a))[:k]
    ids = [a.id for a in arcs]
    if chain:
        first = next(a for a in arcs if any(b.meta.get("param") for b in dag.out_arcs(a.dst)))
        nxt = min((b for b in dag.out_arcs(first.dst) if b.meta.get("param")), key=lambda b: _size(net, b))
        ids.append(nxt.id)
    return list(dict.fromkeys(ids))


@pytest.mark.parametrize("net_cls,shape", [(SkipNet, (4,)), (TinyConv, (1, 6))])
def test_the_terms_sum_to_the_pruned_models_output_change_while_the_pattern_holds(net_cls, shape):
    net, x, dag, L = _setup(net_cls, shape)
    removed = _small_arcs(dag, 6, chain=True, net=net)
    skip = next(a for a in dag.arcs if dag.level[a.dst] - dag.level[a.src] > 1 and a.meta.get("param"))
    removed = _closed(dag, [*removed, skip.id])  # a skip arc too
    assert any(a.split("->")[1] == b.split("->")[0] for a in removed for b in removed), "two removed arcs in series"
    pruned = _pruned(net, dag, removed)
    same = all(bool((a == b).all()) for a, b in zip(_pattern(net, x), _pattern(pruned, x)))
    assert same, "the small arcs keep the activation pattern at x (pick other arcs if this breaks)"
    want = (pruned(x) - net(x)).detach().numpy().reshape(-1)  # the torch model's own change
    t = removed_arc_terms(L, removed, x[0])
    assert t.exact and not t.flipped
    assert set(t.terms) == set(removed)
    np.testing.assert_allclose(t.total(), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(t.pruned_out - t.dense_out, want, rtol=1e-9, atol=1e-12)
    assert t.residual < 1e-10


def test_first_order_terms_double_count_paths_through_two_removed_arcs():
    net, x, dag, L = _setup(SkipNet, (4,))
    one = _small_arcs(dag, 1, chain=False, net=net)
    a, b = removed_arc_terms(L, one, x[0]), removed_arc_terms(L, one, x[0], first_order=True)
    np.testing.assert_allclose(a.total(), b.total(), rtol=1e-12, atol=1e-15)  # one arc: the same
    z = L.state(x[0])
    on = lambda n: z[L.start[n]] > 0  # noqa: E731
    chains = sorted(((u, w) for u in dag.arcs if u.dst.startswith("a[") and on(u.dst)
                     for w in dag.out_arcs(u.dst) if w.dst.startswith("b[") and on(w.dst)),  # through live units
                    key=lambda c: abs(c[0].weight) + abs(c[1].weight))
    exact = next(t for u, w in chains if (t := removed_arc_terms(L, [u.id, w.id], x[0])).exact)
    chain = list(exact.terms)
    first = removed_arc_terms(L, chain, x[0], first_order=True)
    change = exact.pruned_out - exact.dense_out
    np.testing.assert_allclose(exact.total(), change, rtol=1e-9, atol=1e-13)
    assert np.abs(first.total() - change).max() > 1e-14  # the path through both arcs, subtracted twice


def test_a_changed_activation_pattern_is_flagged():
    net, x, dag, L = _setup(SkipNet, (4,))
    z = L.state(x[0])

    def flips(ids):
        p = _pruned(net, dag, ids)
        return sum(int((a != b).sum()) for a, b in zip(_pattern(net, x), _pattern(p, x))), p

    # cut every arc that pushes a live unit of the first layer up: its pre-activation falls below 0
    cuts = ([a.id for a in dag.in_arcs(v) if a.weight * z[L.start[a.src]] > 0]
            for v in dag.order() if v.startswith("a[") and z[L.start[v]] > 0)
    big, (flips_torch, pruned) = next((c, f) for c in cuts if (f := flips(c))[0] > 0)
    assert flips_torch > 0, "the cut changes the activation pattern at x (torch's own relu inputs)"
    t = removed_arc_terms(L, big, x[0])
    assert t.flipped and not t.exact
    want = (pruned(x) - net(x)).detach().numpy().reshape(-1)
    np.testing.assert_allclose(t.pruned_out - t.dense_out, want, rtol=1e-9, atol=1e-12)  # actual change still right
    assert t.residual == pytest.approx(float(np.abs(want - t.total()).max()), rel=1e-6, abs=1e-12)
    assert t.residual > 1e-9


def test_entry_diff_names_the_removed_arcs_per_level():
    net, x, dag, L = _setup(SkipNet, (4,))
    removed = _closed(dag, _small_arcs(dag, 5, chain=True, net=net))
    pruned = _pruned(net, dag, removed)
    Lp = NumericLifting(unit_dag(pruned, x, "pruned"))
    diff = entry_diff(L, Lp)
    gone = {(v, u) for a in removed for u, v in [a.split("->")]}
    assert {k for d in diff for k in d.only_a} == gone
    assert not any(d.only_b or d.changed for d in diff)
    for d in diff:
        want = np.sqrt(sum(dict((a.dst, a.src) and ((a.dst, a.src), a.weight) for a in dag.arcs).get(k, 0) ** 2
                           for k in d.only_a))
        assert d.norm == pytest.approx(want)
        assert all(dag.level[r] == d.level for r, _ in d.only_a)
    shifted = copy.deepcopy(net)
    with torch.no_grad():
        shifted.b.weight[0, 0] += 0.25
    changed = {k: v for d in entry_diff(L, NumericLifting(unit_dag(shifted, x, "shifted"))) for k, v in d.changed.items()}
    assert changed == {("b[0]", "a[0]"): pytest.approx(0.25)}


def test_op_level_diff_is_structural():
    a, b = lifting(build_dag("mlp_skip")), lifting(build_dag("mlp"))
    diff = entry_diff(a, b)
    assert sum(len(d.only_a) for d in diff) > 0 and sum(len(d.only_b) for d in diff) > 0
    assert entry_diff(a, a) and all(d.n == 0 for d in entry_diff(a, a))
