"""The lifting decomposition against independent references: the model's forward, autograd, path sums,
hand-masked models."""

from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from explorer import models
from explorer.lifting import LiftingError, lifting
from explorer.graph.trace import trace
from explorer.graph.unit import unit_dag

UNIT_ZOO = ["mlp", "mlp_skip", "cnn1d", "resnet_tiny", "densenet_tiny", "inception_tiny", "unet_tiny", "moons_mlp"]
OP_ZOO = UNIT_ZOO + ["transformer_tiny"]
TORCHVISION = ["resnet18", "densenet121", "mobilenet_v3_small", "vit_b_16"]


@lru_cache(maxsize=None)
def unit(name: str):
    lm = models.load(name)
    dag = unit_dag(lm.model, lm.example_input, name)
    return lm, dag, lifting(dag)


def double(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).to(torch.float64).eval()


def rand(lm, b: int, seed: int) -> torch.Tensor:
    return torch.randn(b, *lm.info.input_shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- unit level ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", UNIT_ZOO)
def test_unit_T_is_unit_lower_triangular(name):
    _, dag, L = unit(name)
    L.assert_lower_triangular()
    for l in range(1, L.L + 1):
        T = L.T(l)
        assert T.shape == (L.N, L.N)
        assert np.all(T.diagonal() == 1)
        assert sp.triu(T, k=1).nnz == 0  # nothing above the diagonal
        changed = np.unique((T - sp.identity(L.N)).tocoo().row)
        assert set(changed) <= set(L.rows[l])  # T_l only touches level-l rows


@pytest.mark.parametrize("name", UNIT_ZOO)
def test_unit_compose_equals_forward_and_local_map_equals_jacobian(name):
    lm, dag, L = unit(name)
    m = double(lm.model)
    x = rand(lm, 4, seed=1)
    with torch.no_grad():
        assert (L.compose(x) - m(x)).abs().max() < 1e-10
    for b in range(3):
        J, offset = L.local_map(x[b])
        ref = torch.autograd.functional.jacobian(lambda a: m(a.unsqueeze(0)).reshape(-1), x[b])
        assert (J - ref.reshape(J.shape)).abs().max() < 1e-10
        if all(n.meta["phi"] in ("relu", "identity") for n in dag.nodes):  # piecewise linear: exact affine form
            with torch.no_grad():
                y = m(x[b:b + 1]).reshape(-1)
            assert (J @ x[b].reshape(-1) + offset - y).abs().max() < 1e-10


def test_masked_product_is_the_local_affine_map():
    lm, dag, L = unit("resnet_tiny")
    x = rand(lm, 1, seed=2)[0]
    P = L.product(1, L.L, x=x)  # M_L ... M_1 at x
    z0 = np.zeros(L.N)
    z0[0] = 1
    z0[L.in_slots] = x.reshape(-1).numpy()
    with torch.no_grad():
        y = double(lm.model)(x.unsqueeze(0)).reshape(-1).numpy()
    assert np.abs((P @ z0)[L.out_slots] - y).max() < 1e-10


def test_D_is_the_relu_mask():
    lm, dag, L = unit("mlp")
    x = rand(lm, 1, seed=3)[0]
    z = L.state(x)
    for l in range(1, L.L):
        d = L.D(l, x).diagonal()
        rows = L.rows[l]
        assert set(np.unique(d[rows])) <= {0.0, 1.0}
        np.testing.assert_array_equal(d[rows], (z[rows] > 0).astype(float))
        others = np.setdiff1d(np.arange(L.N), rows)
        assert np.all(d[others] == 1)


class LinearSkip(nn.Module):
    """A linear network with a skip spanning two levels. Linear layers alone make no nodes (they compose into
    one arc), so the hidden neurons are marked by an identity activation: LeakyReLU with slope 1."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(3, 4), nn.Linear(4, 4), nn.Linear(4, 2)
        self.id = nn.LeakyReLU(1.0)

    def forward(self, x):
        h = self.id(self.a(x))
        return self.c(self.id(self.b(h)) + h)


def test_product_paths_equals_matrix_product_on_a_linear_net():
    torch.manual_seed(0)
    deep = nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(1.0), nn.Linear(5, 4), nn.LeakyReLU(1.0), nn.Linear(4, 2))
    for model in (LinearSkip().eval(), deep.eval()):
        dag = unit_dag(model, torch.randn(1, 3))
        L = lifting(dag)
        assert L.L == 3
        for lo, hi in [(1, L.L), (1, 1), (2, L.L), (2, 2)]:
            np.testing.assert_allclose(L.product_paths(lo, hi), L.product(lo, hi).toarray(), atol=1e-12)
        # the full product is the linear network: output rows = [b_eff, W_eff] on (1, x)
        eff = L.product()[L.out_slots][:, np.r_[0, L.in_slots]].toarray()
        x = torch.randn(2, 3, dtype=torch.float64)
        with torch.no_grad():
            np.testing.assert_allclose(eff[:, 1:] @ x.numpy().T + eff[:, :1], double(model)(x).numpy().T, atol=1e-12)
    # path sums and the product agree on any net of scalar arcs (both leave phi out)
    _, _, L = unit("mlp_skip")
    np.testing.assert_allclose(L.product_paths(), L.product().toarray(), atol=1e-12)
    with pytest.raises(LiftingError, match="scalar arcs"):
        unit("cnn1d")[2].product_paths()


def test_function_at_with_removed_arcs_and_nodes_equals_a_hand_masked_model():
    lm, dag, L = unit("mlp_skip")
    x = rand(lm, 3, seed=4)
    removed_arcs = ["x[0]->fc1[0]", "x[5]->fc1[2]", "fc2[1]->fc3[4]", "fc1[7]->fc3[7]"]
    removed_nodes = ["fc2[3]"]
    m = double(lm.model)
    with torch.no_grad():
        m.fc1.weight[0, 0] = 0
        m.fc1.weight[2, 5] = 0
        m.fc3.weight[4, 1] = 0
        m.fc2.weight[3] = 0
        m.fc2.bias[3] = 0
        m.fc3.weight[:, 3] = 0
        h1 = torch.relu(m.fc1(x))
        h2 = torch.relu(m.fc2(h1))
        skip = h1.clone()
        skip[:, 7] = 0  # the arc fc1[7] -> fc3[7] is the identity skip of unit 7
        h3 = torch.relu(m.fc3(h2) + skip)
    for k in (0, 4, 7):
        got = L.function_at(f"fc3[{k}]", x, removed_nodes, removed_arcs)
        assert (got.reshape(-1) - h3[:, k]).abs().max() < 1e-12
    assert (L.function_at("fc1[2]", x, removed_nodes, removed_arcs).reshape(-1) - h1[:, 2]).abs().max() < 1e-12


def test_function_at_without_the_resnet_skip_is_the_branch_alone():
    lm, dag, L = unit("resnet_tiny")
    skips = [a.id for a in dag.arcs if a.dst.startswith("block1.conv2[") and a.kind == "identity"]
    x = rand(lm, 2, seed=5)
    m = double(lm.model)
    blk = m.block1
    with torch.no_grad():
        h0 = m.stem(x)
        branch = torch.relu(blk.bn2(blk.conv2(torch.relu(blk.bn1(blk.conv1(h0))))))  # no shortcut
        full = blk(h0)
    for c in (0, 5):
        got = L.function_at(f"block1.conv2[{c}]", x, removed_arcs=skips)
        assert (got.reshape(2, -1) - branch[:, c].reshape(2, -1)).abs().max() < 1e-12
        kept = L.function_at(f"block1.conv2[{c}]", x)
        assert (kept.reshape(2, -1) - full[:, c].reshape(2, -1)).abs().max() < 1e-12


def test_node_matrix_values():
    lm, dag, L = unit("moons_mlp")
    ids, M = L.node_matrix(2)
    assert ids == dag.order() and np.all(np.diag(M) == 1)
    pos = {i: k for k, i in enumerate(ids)}
    arcs = {(a.dst, a.src): a.weight for a in dag.arcs if dag.level[a.dst] == 2}
    for (d, s), w in arcs.items():
        assert M[pos[d], pos[s]] == pytest.approx(w)
    mask = np.zeros_like(M, dtype=bool)
    for d, s in arcs:
        mask[pos[d], pos[s]] = True
    np.fill_diagonal(mask, True)
    assert np.all(M[~mask] == 0)
    # channel blocks: the Frobenius norm of the T_l block
    lm, dag, L = unit("cnn1d")
    ids, M = L.node_matrix(2)
    pos = {i: k for k, i in enumerate(ids)}
    T = L.T(2).toarray()
    sl = lambda n: slice(L.start[n], L.start[n] + L.size[n])  # noqa: E731
    assert M[pos["conv2[3]"], pos["conv1[5]"]] == pytest.approx(np.linalg.norm(T[sl("conv2[3]"), sl("conv1[5]")]))


def test_level_and_range_errors_say_what_is_valid():
    _, _, L = unit("moons_mlp")
    with pytest.raises(LiftingError, match="1..3"):
        L.T(0)
    with pytest.raises(LiftingError, match="not an arc"):
        L.function_at("out[0]", torch.randn(1, 2), removed_arcs=["x[0]->out[0]"])


# ---- op level -----------------------------------------------------------------------------


@lru_cache(maxsize=None)
def op(name: str):
    lm = models.load(name)
    dag = trace(lm.model, lm.example_input, name)
    return lm, dag, lifting(dag)


@pytest.mark.parametrize("name", OP_ZOO)
def test_op_lifting_lower_triangular_and_compose_equals_forward(name):
    lm, dag, L = op(name)
    L.assert_lower_triangular()
    for l in range(1, L.L + 1):
        for e in L.T(l):
            assert dag.level[e.row] == l and dag.level[e.col] < l
        ids, M = L.node_matrix(l)
        assert np.all(np.diag(M) == 1) and np.all(np.triu(M, 1) == 0)
    x = rand(lm, 3, seed=6)
    with torch.no_grad():
        assert (L.with_dtype(torch.float64).compose(x) - double(lm.model)(x)).abs().max() < 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("name", TORCHVISION)
def test_op_lifting_on_torchvision(name):
    lm = models.load(name)
    # the CNNs pool adaptively, so a 64x64 image keeps the run short; ViT needs its 224x224
    shape = lm.info.input_shape if name.startswith("vit") else (3, 64, 64)
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
    dag = trace(lm.model, x, name)
    L = lifting(dag)
    L.assert_lower_triangular()
    with torch.no_grad():
        assert (L.compose(x) - lm.model(x)).abs().max() < 1e-4


def test_op_joint_entries_are_marked():
    lm, dag, L = op("transformer_tiny")
    joint = [e for l in range(1, L.L + 1) for e in L.T(l) if e.joint]
    assert joint and all(dag.node(e.row).op in ("matmul", "mul", "bmm") for e in joint)
    rows = {e.row for e in joint}
    for r in rows:  # a joint entry spans all its input columns
        assert {e.col for e in joint if e.row == r} == set(dag.predecessors(r))
    assert all(L.labels(dag.level[e.row])[(e.row, e.col)].endswith("[joint]") for e in joint)


def test_op_product_counts_paths():
    lm, dag, L = op("mlp_skip")
    P = L.product().toarray()
    pos = {i: k for k, i in enumerate(L.order)}
    # the input reaches the output along 3 paths: h1 -> out via cat directly, via h3's skip, and via h2
    assert P[pos["output"], pos[dag.inputs[0]]] == 3


def test_op_function_at_zeroes_add_inputs_and_refuses_others():
    lm, dag, L = op("resnet_tiny")
    add = next(n for n in dag.order() if dag.node(n).op == "add")
    shortcut_src = [a.src for a in dag.in_arcs(add) if a.kind == "identity"]
    skip = next(s for s in shortcut_src if not dag.node(s).op.startswith("batchnorm"))
    x = rand(lm, 2, seed=7).float()
    m = lm.model
    with torch.no_grad():
        blk = m.block1
        branch = blk.bn2(blk.conv2(torch.relu(blk.bn1(blk.conv1(m.stem(x))))))
    got = L.function_at(add, x, removed_arcs=[f"{skip}->{add}"])
    assert (got - branch).abs().max() < 1e-5
    conv = next(n for n in dag.order() if dag.node(n).op.startswith("conv"))
    src = dag.predecessors(conv)[0]
    with pytest.raises(LiftingError, match=f"{conv}.*without its input"):
        L.function_at(add, x, removed_arcs=[f"{src}->{conv}"])


def test_function_at_removing_a_maxpool_arc_zeroes_that_pool_channel():
    lm, dag, L = unit("inception_tiny")
    pool = next(a for a in dag.arcs if a.kind == "nonlinear")
    x = rand(lm, 2, seed=8)
    assert L.function_at(pool.dst, x).abs().max() > 0
    assert L.function_at(pool.dst, x, removed_arcs=[pool.id]).abs().max() == 0
    other = next(a for a in dag.arcs if a.kind == "nonlinear" and a.dst != pool.dst and dag.level[a.dst] == dag.level[pool.dst])
    torch.testing.assert_close(L.function_at(other.dst, x, removed_arcs=[pool.id]), L.function_at(other.dst, x))
