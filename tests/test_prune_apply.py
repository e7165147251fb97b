"""apply: random selections on every zoo model at unit and op level are either applied validly
(the pruned model runs and the lifting composition of the dense graph with the removed
entries zeroed equals its forward) or refused with the model untouched; masks stay zero
through training; rewinding; residual-branch removal leaves add(x, 0) = x."""

import copy
import functools
import random

import pytest
import torch

from explorer import models
from explorer.lifting import LiftingError, lifting
from explorer.pruning.mask import Mask
from explorer.pruning import operations as ops
from explorer.training.rewind import rewind
from explorer.pruning.apply import apply
from explorer.pruning.selection import Selection
from explorer.pruning.validity import InvalidSelection, check
from explorer.graph.trace import trace
from explorer.graph.unit import unit_dag

# transformer_tiny: its tokens are not flat features; lottery_mlp: 280k unit-level arcs (its 40-500-500-10
# weights) make each lifting composition minutes long, and the smaller MLPs exercise the same code
UNIT_MODELS = [n for n in models.zoo_names() if n not in ("transformer_tiny", "lottery_mlp")]


@functools.lru_cache(maxsize=None)
def built(name: str, granularity: str):
    lm = models.load(name)
    dag = unit_dag(lm.model, lm.example_input, name) if granularity == "unit" else trace(lm.model, lm.example_input,
                                                                                         name)
    return lm, dag, lifting(dag, lm.example_input)


def reference_output(L, dag, verdict, x, shape):
    """The dense decomposition with the removed rows/columns/entries zeroed (docs/science.md §2, sub-architectures)."""
    gone = set(verdict.removed_nodes)
    arcs = [a for a in verdict.removed_arcs if a.split("->")[1] not in gone]
    if dag.granularity == "unit":
        outs = [torch.as_tensor(L.function_at(o, x, verdict.removed_nodes, arcs)).reshape(-1) for o in dag.outputs]
        return torch.stack(outs, -1).reshape(shape)
    return torch.as_tensor(L.function_at("output", x, verdict.removed_nodes, arcs)).reshape(shape)


def random_selection(dag, rng):
    inner = [n.id for n in dag.nodes if n.id not in dag.inputs and n.id not in dag.outputs]
    nodes = rng.sample(inner, rng.randint(0, min(3, len(inner))))
    arcs = rng.sample([a.id for a in dag.arcs], rng.randint(0 if nodes else 1, min(3, len(dag.arcs))))
    return Selection(dag.granularity, tuple(nodes), tuple(arcs), dag.name)


@pytest.mark.parametrize("granularity,name", [("unit", n) for n in UNIT_MODELS]
                         + [("op", n) for n in models.zoo_names()])
def test_random_selections_apply_validly_or_are_refused(granularity, name):
    lm, dag, L = built(name, granularity)
    x = lm.example_input
    before = copy.deepcopy(lm.model.state_dict())
    rng = random.Random(hash((name, granularity)) % 1000)
    applied = refused = 0
    for _ in range(8):
        sel = random_selection(dag, rng)
        v = check(dag, sel)
        if not v.ok:
            refused += 1
            assert v.reasons
            with pytest.raises(InvalidSelection):
                apply(lm.model, dag, sel, x)
            if v.suggestion is not None:
                assert check(dag, v.suggestion).ok
        else:
            applied += 1
            p = apply(lm.model, dag, sel, x)
            with torch.no_grad():
                y = p.model(x).double()
            assert torch.isfinite(y).all()
            # the dense decomposition with the removed entries zeroed computes the pruned model
            try:
                ref = reference_output(L, dag, v, x, y.shape)
            except LiftingError as e:
                assert "not a tensor" in str(e)  # the symbolic lifting will not cut tuple values (chunk)
            else:
                assert (ref - y).abs().max() < 1e-5, (sel, float((ref - y).abs().max()))
            # the pruned network's own decomposition composes to its forward
            comp = torch.as_tensor(lifting(p.dag, x).compose(x)).reshape(y.shape)
            assert (comp - y).abs().max() < 1e-5
            if granularity == "op":  # the pruned graph's nodes are the survivors
                assert {n.id for n in p.dag.nodes} == {n.id for n in dag.nodes} - set(v.removed_nodes)
        # the dense model is never touched
        after = lm.model.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
    assert applied + refused == 8


def test_refused_selection_leaves_model_and_mask_unchanged():
    lm, dag, _ = built("resnet_tiny", "op")
    before = copy.deepcopy(lm.model.state_dict())
    mask = Mask.ones_like(lm.model)
    mask_before = Mask(mask)
    sel = Selection.from_ids(dag, ["output"])
    with pytest.raises(InvalidSelection, match="output"):
        apply(lm.model, dag, sel, lm.example_input)
    assert mask == mask_before
    assert all(torch.equal(before[k], v) for k, v in lm.model.state_dict().items())


def test_removing_a_residual_branch_leaves_the_skip():
    lm, dag, _ = built("resnet_tiny", "op")
    heads = [h for h in ops.merge_heads(dag) if dag.node(h).op == "add"]
    assert heads, "resnet_tiny has residual adds"
    head = heads[0]
    branches = ops.branches_of(dag, head)
    body = max(branches, key=lambda b: len(b.nodes))  # the conv branch, not the identity skip
    assert check(dag, body).ok
    p = apply(lm.model, dag, body, lm.example_input)
    # the head now computes add(skip, 0): the pruned model's value there equals the skip's value
    gm = p.model
    vals = {}
    hooks = []
    import torch.fx as fx

    class Rec(fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            vals[n.name] = out
            return out

    with torch.no_grad():
        Rec(gm).run(lm.example_input)
    skip_src = [a.src for a in dag.in_arcs(head) if a.src not in body.nodes][0]
    assert torch.equal(vals[head], vals[skip_src])
    # the branch's convolutions are masked to zero
    dead = [k for k, m in p.mask.items() if m.sum() == 0]
    assert dead and all(k.startswith("block") for k in dead)
    # removing the skip instead keeps the branch
    skip = [b for b in branches if b is not body][0]
    assert check(dag, skip).ok
    apply(lm.model, dag, skip, lm.example_input)
    del hooks


def test_unit_removal_zeroes_rows_biases_and_folded_batchnorm():
    lm, dag, _ = built("resnet_tiny", "unit")
    sel = Selection.from_ids(dag, ["block1.conv1[3]"])
    p = apply(lm.model, dag, sel, lm.example_input)
    m = p.model
    assert m.block1.conv1.weight[3].abs().sum() == 0
    assert m.block1.bn1.weight[3] == 0 and m.block1.bn1.bias[3] == 0
    assert m.block1.conv2.weight[:, 3].abs().sum() == 0
    assert m.block1.conv1.weight[2].abs().sum() > 0


def test_unit_refusals_name_shared_and_identity_arcs():
    lm, dag, _ = built("mlp_skip", "unit")
    ident = next(a for a in dag.arcs if a.kind == "identity")
    v = check(dag, Selection.from_ids(dag, [ident.id]))
    assert not v.ok and f"cannot remove arc {ident.id} with a mask" in v.reasons[0]
    assert "no weight" in v.reasons[0]
    # removing the source unit instead works
    assert check(dag, Selection.from_ids(dag, [ident.src])).ok


def test_masked_entries_stay_zero_through_sgd_with_reapplication_and_rewind():
    lm, dag, _ = built("mlp", "unit")
    init = copy.deepcopy(lm.model.state_dict())
    sel = ops.units_of(dag, "hidden.0").without([f"hidden.0[{i}]" for i in range(50)])
    p = apply(lm.model, dag, sel, lm.example_input)
    model = p.model
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(0)
    xs, ys = torch.randn(64, 40, generator=g), torch.randint(0, 10, (64,), generator=g)
    model.train()
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xs), ys).backward()
        opt.step()
        p.reapply_mask()
    params = dict(model.named_parameters())
    for k, m in p.mask.items():
        assert (params[k][m == 0] == 0).all()
        assert (params[k][m == 1] != init[k][m == 1]).any()  # it trained
    rewind(p.model, p.mask, init)
    for k, v in model.state_dict().items():
        m = p.mask.get(k)
        expect = init[k] * m if m is not None else init[k]
        assert torch.equal(v, expect)


def test_block_level_is_refused_with_advice():
    from explorer.graph.dag import Arc, Dag, Node
    from explorer.pruning.apply import ApplyError

    dag = Dag.build([Node("x", "input"), Node("b", "block"), Node("c", "block"), Node("y", "linear")],
                    [Arc("x", "b"), Arc("x", "c"), Arc("b", "y"), Arc("c", "y")], "block")
    with pytest.raises(ApplyError, match="op"):
        apply(torch.nn.Identity(), dag, Selection("block", ("b",)))


def test_zeroing_entries_at_once_equals_one_by_one():
    """`unit_mask` zeroes a unit's thousands of entries in one indexing write per shape of index: the same
    tensor as zeroing each entry on its own (weights, kernels of a conv, and indices with lists)."""
    import random

    from explorer.pruning.apply import _zero_entries

    rng = random.Random(0)
    for shape in [(6, 5), (4, 3, 3, 3)]:
        idxs = {(rng.randrange(shape[0]), rng.randrange(shape[1])) for _ in range(12)}
        idxs = [*idxs, (rng.randrange(shape[0]),), (rng.randrange(shape[0]), [0, 1])]
        fast, slow = torch.ones(shape), torch.ones(shape)
        _zero_entries(fast, idxs)
        for i in idxs:
            slow[i] = 0.0
        assert torch.equal(fast, slow) and int((fast == 0).sum()) > 0
