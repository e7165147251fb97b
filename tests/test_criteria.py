"""Pruning criteria: exact sparsity for every criterion × target × scope, and each score
against an independent computation."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from explorer.models import load as load_model
from explorer.graph.dag import Arc, Dag, Node
from explorer.pruning.criteria import CRITERIA, CriterionError, allocate, propose
from explorer.pruning.criteria.allocate import n_pruned
from explorer.data.sample import default_batch
from explorer.pruning.criteria.spline import removal_order

FAST = {"iterations": 3, "batch_size": 64}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def models():
    return {n: load_model(n) for n in ("mlp", "cnn1d", "resnet_tiny", "mlp_skip")}


# ---- exact sparsity ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "cnn1d", "resnet_tiny"])
@pytest.mark.parametrize("crit", list(CRITERIA))
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_requested_sparsity_is_met_exactly(models, name, crit, scope):
    lm = models[name]
    before = copy.deepcopy(lm.model.state_dict())
    for target in CRITERIA[crit].targets:
        for s in (0.1, 0.55, 0.9):
            p = propose(lm, crit, s, target=target, scope=scope, **FAST)
            n_gone = round(p.achieved * p.total)
            assert n_gone == n_pruned(s, p.total), (crit, target, scope, s)
            assert abs(p.achieved - s) <= 1.0 / p.total
            # the mask says the same: count pruned groups independently from the mask
            assert _groups_pruned_in_mask(lm.model, p, target) == n_gone
            if scope == "layer":  # every layer at the same rate, up to one group
                for layer, n_l in p.sizes.items():
                    assert abs(len(p.pruned[layer]) - s * n_l) <= 1.0 + 1e-9, (layer, target)
    for k, v in lm.model.state_dict().items():  # the model is never modified
        assert torch.equal(v, before[k]), k


def _groups_pruned_in_mask(model, p, target):
    m = p.mask
    if target == "weights":
        return m.total - m.kept
    if target == "arcs":
        return sum(int((m[w].reshape(m[w].shape[0], m[w].shape[1], -1).sum(-1) == 0).sum()) for w in m)
    return sum(len(v) for v in p.pruned.values())


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_output_layer_at_lower_rate_keeps_total_exact(models, scope):
    lm = models["mlp"]
    p = propose(lm, "magnitude", 0.6, scope=scope, output_scale=0.5)
    assert round(p.achieved * p.total) == n_pruned(0.6, p.total)
    assert p.kept["out"] == pytest.approx(1 - 0.3, abs=1e-3)
    assert p.mask["out.weight"].mean() > p.mask["hidden.0.weight"].mean()


def test_units_never_empty_a_layer_and_refuse_impossible_sparsity(models):
    lm = models["mlp"]
    p = propose(lm, "magnitude", 0.99, target="units", scope="global")
    assert all(k > 0 for k in p.kept.values())
    with pytest.raises(CriterionError, match="at most"):
        propose(lm, "magnitude", 1.0, target="units")


# ---- allocation against an independent reference ---------------------------------------
def test_allocate_global_is_the_k_lowest_scores():
    rng = np.random.default_rng(0)
    scores = {f"l{i}": torch.tensor(rng.normal(size=n)) for i, n in enumerate((7, 30, 13))}
    flat = np.concatenate([v.numpy() for v in scores.values()])
    for s in np.linspace(0, 1, 11):
        out = allocate(scores, float(s), scope="global")
        got = np.concatenate([v.numpy() for v in out.values()])
        k = int(math.floor(s * flat.size + 0.5))
        ref = np.zeros(flat.size, bool)
        ref[np.argsort(flat, kind="stable")[:k]] = True
        assert (got == ref).all()


def test_allocate_layer_prunes_the_lowest_in_each_layer_at_the_same_rate():
    rng = np.random.default_rng(1)
    scores = {f"l{i}": torch.tensor(rng.normal(size=n)) for i, n in enumerate((5, 40, 17, 3))}
    total = sum(v.numel() for v in scores.values())
    for s in (0.13, 0.5, 0.77):
        out = allocate(scores, s, scope="layer")
        assert sum(int(v.sum()) for v in out.values()) == n_pruned(s, total)
        for k, v in out.items():
            n = v.numel()
            assert abs(int(v.sum()) - s * n) <= 1.0 + 1e-9
            kept_min = scores[k][~v].min() if (~v).any() else math.inf
            pruned_max = scores[k][v].max() if v.any() else -math.inf
            assert pruned_max <= kept_min


# ---- each score against an independent computation ----------------------------------------
def test_magnitude_prunes_the_smallest_weights_per_layer(models):
    lm = models["mlp"]
    p = propose(lm, "magnitude", 0.4, scope="layer")
    for name, w in lm.model.named_parameters():
        if name in p.mask:
            a = w.detach().abs().flatten()
            kept = a[p.mask[name].flatten().bool()]
            gone = a[~p.mask[name].flatten().bool()]
            assert gone.max() <= kept.min()


def test_snip_matches_gradient_with_respect_to_a_mask(models):
    """SNIP's score |dL/dc| with c = 1, computed here by differentiating through an explicit mask."""
    lm = models["mlp"]
    x, y, _ = default_batch("mnist1d", (40,), 10, n=64, seed=0)
    model = copy.deepcopy(lm.model)
    names = [n for n, p in model.named_parameters() if p.dim() == 2]
    c = {n: torch.ones_like(dict(model.named_parameters())[n], requires_grad=True) for n in names}
    params = {n: (p.detach() * c[n] if n in c else p.detach()) for n, p in model.named_parameters()}
    logits = torch.func.functional_call(model, params, (x,))
    torch.nn.functional.cross_entropy(logits, y).backward()
    ref = torch.cat([c[n].grad.abs().flatten() for n in names]).double()
    p = propose(lm, "snip", 0.7, scope="global", data=(x, y))
    got_pruned = torch.cat([(1 - p.mask[n]).flatten() for n in names]).bool()
    k = int(got_pruned.sum())
    ref_pruned = torch.zeros_like(got_pruned)
    ref_pruned[torch.sort(ref, stable=True).indices[:k]] = True
    # identical up to float ties at the threshold
    assert (got_pruned != ref_pruned).sum() <= 2
    assert ref[got_pruned].max() <= ref[~got_pruned].min() * (1 + 1e-5) + 1e-12


def test_snip_unsupervised_needs_no_labels_and_differs_from_supervised(models):
    lm = models["cnn1d"]
    x, y, src = default_batch("mnist1d", (40,), 10, n=64)
    assert src == "mnist1d" and x.shape == (64, 40) and int(y.max()) < 10
    a = propose(lm, "snip_unsupervised", 0.5, data=(x, y))
    b = propose(lm, "snip_unsupervised", 0.5, data=(x, torch.zeros_like(y)))
    assert a.mask == b.mask  # labels are ignored
    assert a.mask != propose(lm, "snip", 0.5, data=(x, y)).mask


def test_synflow_single_round_matches_closed_form():
    """For y = W2 relu(W1 x), |W|-network on ones: dR/dW1_ij = (1ᵀ|W2|)_i · 1, score_ij = |W1_ij| Σ_k |W2_ki|."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5, bias=False), nn.ReLU(), nn.Linear(5, 2, bias=False))
    w1, w2 = model[0].weight.detach().abs().double(), model[2].weight.detach().abs().double()
    ref1 = w1 * w2.sum(0)[:, None]
    ref2 = w2 * (w1 @ torch.ones(3, dtype=torch.float64))[None, :]
    ref = torch.cat([ref1.flatten(), ref2.flatten()])
    p = propose(model, "synflow", 0.4, scope="global", example_input=torch.zeros(1, 3), iterations=1)
    got = torch.cat([(1 - p.mask["0.weight"]).flatten(), (1 - p.mask["2.weight"]).flatten()]).bool()
    assert ref[got].max() <= ref[~got].min()


def test_synflow_iterative_keeps_every_layer_alive_at_high_global_sparsity():
    lm = load_model("mlp")
    p = propose(lm, "synflow", 0.99, scope="global", iterations=10)
    assert all(k > 0 for k in p.kept.values())


def test_spline_removes_the_weaker_of_coinciding_hyperplanes():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 2))
    with torch.no_grad():
        w, b = model[0].weight, model[0].bias
        w[:] = torch.randn(6, 2)
        b[:] = torch.randn(6)
        w[1], b[1] = 3.0 * w[0], 3.0 * b[0]  # same boundary as unit 0, larger norm: unit 0 is redundant
        w[3], b[3] = -0.5 * w[2], -0.5 * b[2]  # same boundary as unit 2 (flipped), smaller: unit 3 redundant
    p = propose(model, "spline", 2 / 6, target="units", example_input=torch.zeros(1, 2))
    assert sorted(p.pruned["0"]) == [0, 3]
    order = removal_order(torch.cat([w.detach(), b.detach()[:, None]], 1).double())
    assert [u for _, u in order[:2]] in ([0, 3], [3, 0]) and order[0][0] == pytest.approx(1.0)


def test_spline_global_merges_layers_by_similarity():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        model[2].weight[1] = 2 * model[2].weight[0]
        model[2].bias[1] = 2 * model[2].bias[0]
    p = propose(model, "spline", 1 / 8, target="units", scope="global", example_input=torch.zeros(1, 2))
    assert p.pruned == {"0": [], "2": [0]}


# ---- level-based -------------------------------------------------------------------------
class _Skip(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 2)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(torch.cat([torch.relu(self.fc1(x)), x], 1))


def _skip_unit_dag() -> Dag:
    nodes = [Node(f"x{i}", "input") for i in range(2)]
    nodes += [Node(f"h{j}", "linear", module="fc1", meta={"layer": "fc1", "unit": j, "weight": "fc1.weight",
                                                          "bias": "fc1.bias", "row": j}) for j in range(2)]
    nodes += [Node("y0", "linear", module="out", meta={"layer": "out", "unit": 0, "weight": "out.weight",
                                                       "bias": "out.bias", "row": 0})]
    arcs = [Arc(f"x{i}", f"h{j}", meta={"param": "fc1.weight", "index": [j, i]}) for i in range(2) for j in range(2)]
    arcs += [Arc(f"h{j}", "y0", meta={"param": "out.weight", "index": [0, j]}) for j in range(2)]
    arcs += [Arc(f"x{i}", "y0", meta={"param": "out.weight", "index": [0, 2 + i]}) for i in range(2)]
    return Dag.build(nodes, arcs, "unit", name="skip")


def test_level_span_prunes_long_skip_arcs_first():
    dag = _skip_unit_dag()
    model = _Skip()
    p = propose(model, "level", 2 / 8, target="arcs", scope="global", dag=dag, level_mode="span",
                example_input=torch.zeros(1, 2))
    assert p.mask["out.weight"].tolist() == [[1.0, 1.0, 0.0, 0.0]]
    assert p.selection is not None and set(p.selection.arcs) == {"x0->y0", "x1->y0"}


def test_level_deepest_prunes_the_deepest_layer_first(models):
    lm = models["mlp"]
    n_out = lm.model.out.weight.numel()
    total = sum(lm.model.get_parameter(f"{n}.weight").numel() for n in ("hidden.0", "hidden.1", "out"))
    p = propose(lm, "level", n_out / total, scope="global")
    assert p.mask["out.weight"].sum() == 0 and p.kept["hidden.0"] == 1.0 and p.kept["hidden.1"] == 1.0


def test_level_span_without_a_graph_is_refused_with_the_fix(models):
    with pytest.raises(CriterionError, match="unit_dag"):
        propose(models["mlp"], "level", 0.5, level_mode="span")


def test_units_selection_names_unit_nodes():
    dag = _skip_unit_dag()
    p = propose(_Skip(), "magnitude", 0.5, target="units", dag=dag, example_input=torch.zeros(1, 2))
    assert len(p.selection.nodes) == 1 and p.selection.nodes[0] in ("h0", "h1")
    assert p.selection.granularity == "unit" and p.selection.model == "skip"


def test_op_level_arcs_by_span():
    nodes = [Node("x", "input"), Node("a", "linear"), Node("b", "linear"), Node("s", "add"), Node("y", "linear")]
    arcs = [Arc("x", "a"), Arc("a", "b"), Arc("b", "s"), Arc("x", "s", kind="identity"), Arc("s", "y")]
    dag = Dag.build(nodes, arcs, "op", name="res")
    p = propose(nn.Linear(1, 1), "level", 0.5, target="arcs", dag=dag, example_input=torch.zeros(1, 1))
    assert p.selection.arcs == ("x->s",) and p.total == 2 and len(p.mask) == 0
    with pytest.raises(CriterionError, match="op level"):
        propose(nn.Linear(1, 1), "snip", 0.5, target="arcs", dag=dag, example_input=torch.zeros(1, 1))


# ---- errors ------------------------------------------------------------------------------
def test_errors_name_the_problem_and_the_choices(models):
    lm = models["mlp"]
    with pytest.raises(CriterionError, match="magnitude"):
        propose(lm, "magnitud", 0.5)
    with pytest.raises(CriterionError, match="units"):
        propose(lm, "spline", 0.5, target="weights")
    with pytest.raises(CriterionError, match=r"\[0, 1\]"):
        propose(lm, "random", 1.5)
    with pytest.raises(CriterionError, match="example_input"):
        propose(lm.model, "random", 0.5)


def test_registry_entries_are_documented():
    for c in CRITERIA.values():
        assert c.explanation and "\n" not in c.explanation
        assert c.reference and set(c.targets) <= {"weights", "units", "arcs"}


def test_default_batch_falls_back_to_random_when_no_dataset_fits():
    x, y, src = default_batch(None, (3, 16, 16), 1000, n=8)
    assert x.shape == (8, 3, 16, 16) and src.startswith("random") and int(y.max()) < 1000
    x, y, src = default_batch("digits", (1, 8, 8), 10, n=8)
    assert src == "digits" and float(x.max()) <= 1.0


# ---- with the real unit-level graph (explorer.graph.unit) -------------------------------------
def test_span_on_the_unit_dag_of_mlp_skip_prunes_the_long_concat_arcs_first():
    from explorer.graph.unit import unit_dag

    lm = load_model("mlp_skip")
    dag = unit_dag(lm.model, lm.example_input, "mlp_skip")
    w = lm.model.out.weight  # (10, 2 width): columns width.. read h1 (3 levels below), columns ..width read h3
    width = lm.model.fc1.out_features
    total = sum(lm.model.get_parameter(f"{n}.weight").numel() for n in ("fc1", "fc2", "fc3", "out"))
    p = propose(lm, "level", (w.shape[0] * width) / total, scope="global", dag=dag, level_mode="span")
    assert p.mask["out.weight"][:, width:].sum() == 0 and p.mask["out.weight"][:, :width].all()
    spans = {dag.level[a.dst] - dag.level[a.src] for a in dag.arcs if a.id in set(p.selection.arcs)}
    assert spans == {3} and len(p.selection.arcs) == 10 * width


def test_units_selection_on_the_unit_dag_names_every_coupled_producer():
    from explorer.graph.unit import unit_dag

    lm = load_model("resnet_tiny")
    dag = unit_dag(lm.model, lm.example_input, "resnet_tiny")
    p = propose(lm, "magnitude", 0.5, target="units", dag=dag)
    ids = {n.id for n in dag.nodes}
    assert set(p.selection.nodes) <= ids and len(p.selection.nodes) >= sum(len(v) for v in p.pruned.values())
    for nid in p.selection.nodes:  # each selected node's incoming row is zero in the mask
        meta = dag.node(nid).meta
        assert p.mask[meta["weight"]][meta["row"]].sum() == 0


# ---- properties over random layer sizes ---------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6), s=st.floats(0, 1),
       scope=st.sampled_from(["layer", "global"]), out_scale=st.sampled_from([1.0, 0.5, 0.0]),
       min_keep=st.sampled_from([0, 1]), seed=st.integers(0, 2**16))
def test_allocate_is_exact_and_respects_caps(sizes, s, scope, out_scale, min_keep, seed):
    g = torch.Generator().manual_seed(seed)
    scores = {f"l{i}": torch.randn(n, generator=g) for i, n in enumerate(sizes)}
    total = sum(sizes)
    k = n_pruned(s, total)
    if k > total - min_keep * len(sizes):
        with pytest.raises(ValueError, match="at most"):
            allocate(scores, s, scope=scope, output=f"l{len(sizes) - 1}", output_scale=out_scale, min_keep=min_keep)
        return
    out = allocate(scores, s, scope=scope, output=f"l{len(sizes) - 1}", output_scale=out_scale, min_keep=min_keep)
    assert sum(int(v.sum()) for v in out.values()) == k
    for key, v in out.items():
        assert int((~v).sum()) >= min_keep
        if v.any() and (~v).any():  # within a layer, the pruned are the lowest scored
            assert scores[key][v].max() <= scores[key][~v].min()


def test_global_proposals_at_rising_sparsity_are_nested(models):
    lm = models["cnn1d"]
    masks = [propose(lm, "magnitude", s, scope="global").mask for s in (0.2, 0.5, 0.8)]
    assert masks[2].is_subset_of(masks[1]) and masks[1].is_subset_of(masks[0])


def test_level_reads_each_arc_at_its_weights_own_index():
    """An arc's index is its weight's own: (in, out) for a transposed conv, and a list where a channel is
    flattened into several inputs of a Linear. The level criterion once read every index as (out, in) ints:
    it crashed on cnn1d's unit graph and dropped (or transposed) a ConvTranspose's arcs. Each head level
    is checked against the graph itself: every weight entry of a layer gets its arc's head level."""
    from torch import nn

    from explorer.graph.build import build_dag
    from explorer.models.spec import LoadedModel, ZooInfo
    from explorer.pruning.coupling import find_layers
    from explorer.pruning.criteria.base import Context
    from explorer.pruning.criteria.level import _levels_from_dag

    cnn = load_model("cnn1d")
    p = propose(cnn, "level", 0.5, dag=build_dag(cnn, "unit"))
    assert abs(p.achieved - 0.5) < 1e-3  # layerwise: each layer rounds its own count
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Unflatten(1, (3, 2)), nn.ConvTranspose1d(3, 2, 2, stride=2),
                        nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    lm = LoadedModel(net.eval(), torch.zeros(1, 3), ZooInfo("t", (3,), "t"))
    dag = build_dag(lm, "unit")
    layers = find_layers(lm.model, lm.example_input)
    head, _ = _levels_from_dag(Context(lm.model, lm.example_input, layers, "weights", "layer", 0, dag))
    for name, lv in head.items():
        want = {dag.level[a.dst] for a in dag.arcs if a.meta.get("param") == name}
        assert not torch.isnan(lv).any() and set(lv.unique().tolist()) == want, name
