"""Op-level tracing: levels against the fx graph's own edges, shapes against a real forward,
parameter counts, arc kinds, and the fallbacks for models fx cannot trace."""

from functools import lru_cache
from pathlib import Path

import networkx as nx
import pytest
import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from explorer import models
from explorer.graph.trace import TraceError, trace

USER = Path(__file__).parent / "user_models.py"
USER_MODELS = ["LongSkipMLP", "ConcatPoolCNN", "BranchyNet", "DeepNarrowConvNet"]


def fx_reference_levels(dag):
    """Levels by a memoised DFS over the GraphModule's own `all_input_nodes` (not the Dag's arcs)."""
    gm = dag.meta["graph_module"]
    ids = {n.id for n in dag.nodes}
    by_name = {n.name: n for n in gm.graph.nodes}
    memo = {}

    def level(n):
        if n.name not in memo:
            preds = [p for p in n.all_input_nodes if p.name in ids]
            memo[n.name] = 0 if not preds else 1 + max(level(p) for p in preds)
        return memo[n.name]

    return {i: level(by_name[i]) for i in ids}


def nx_reference_levels(dag):
    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in dag.nodes)
    g.add_edges_from((a.src, a.dst) for a in dag.arcs)
    return {v: nx.dag_longest_path_length(g.subgraph(nx.ancestors(g, v) | {v})) for v in g}


@lru_cache(maxsize=None)
def zoo_dag(name):
    lm = models.load(name)
    return lm, trace(lm.model, lm.example_input, name)


def load_user(cls):
    return models.load(f"{USER}:{cls}")


ALL = models.zoo_names()


@pytest.mark.parametrize("name", ALL)
def test_zoo_levels_match_fx_graph(name):
    _, dag = zoo_dag(name)
    assert dag.meta["tracer"] == "fx"
    assert dag.level == fx_reference_levels(dag)
    assert dag.level == nx_reference_levels(dag)


@pytest.mark.parametrize("name", ALL)
def test_zoo_shapes_match_real_forward(name):
    lm, dag = zoo_dag(name)
    gm = dag.meta["graph_module"]
    ShapeProp(gm).propagate(lm.example_input)  # real tensors, torch's own pass
    by_name = {n.name: n for n in gm.graph.nodes}
    for node in dag.nodes:
        tm = by_name[node.id].meta.get("tensor_meta")
        if node.shape is not None and hasattr(tm, "shape"):
            assert node.shape == tuple(tm.shape[1:]), node.id
    with torch.no_grad():
        y = lm.model(lm.example_input)
    assert dag.node("output").shape == tuple(y.shape[1:])


@pytest.mark.parametrize("name", ALL)
def test_zoo_params_sum_and_graph_module_runs(name):
    lm, dag = zoo_dag(name)
    assert sum(n.params for n in dag.nodes) == sum(p.numel() for p in lm.model.parameters())
    gm = dag.meta["graph_module"]
    names = {n.name for n in gm.graph.nodes}
    assert {n.id for n in dag.nodes} <= names  # node ids are fx node names
    with torch.no_grad():
        torch.testing.assert_close(gm(lm.example_input), lm.model(lm.example_input))
    assert dag.inputs == ("x",) and dag.outputs == ("output",)
    assert all(a.kind in ("linear", "identity", "nonlinear", "joint") for a in dag.arcs)


@pytest.mark.parametrize("cls", USER_MODELS)
def test_user_models_trace(cls):
    lm = load_user(cls)
    dag = trace(lm.model, lm.example_input, cls)
    assert dag.level == fx_reference_levels(dag)
    assert sum(n.params for n in dag.nodes) == sum(p.numel() for p in lm.model.parameters())
    assert dag.summary()["skip_arcs"] >= 1


def test_arc_kinds_and_labels_on_skip_mlp_and_transformer():
    _, dag = zoo_dag("mlp_skip")
    add = dag.in_arcs("add")
    assert {a.kind for a in add} == {"identity"} and {a.label for a in add} == {"id"}
    cat = sorted(dag.in_arcs("cat"), key=lambda a: a.label)
    assert [a.label for a in cat] == ["slot 0 of cat", "slot 1 of cat"] and {a.kind for a in cat} == {"linear"}
    assert dag.level["cat"] - dag.level["relu"] > 3  # the concatenated skip arc spans several levels
    fc1 = dag.in_arcs("fc1")[0]
    assert (fc1.label, fc1.kind) == ("linear 40→100", "linear")
    _, tdag = zoo_dag("transformer_tiny")
    assert {a.kind for a in tdag.in_arcs("matmul")} == {"joint"}
    # the positional parameter is folded into the add: one in-arc, noted as a constant
    (emb,) = tdag.in_arcs("add")
    assert emb.src == "embed" and tdag.node("add").meta["constants"] == ["pos"]
    assert "pos" not in {n.id for n in tdag.nodes}
    assert {a.kind for a in tdag.in_arcs("softmax")} == {"nonlinear"}


def test_conv_label_macs_and_sub_negation():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)

        def forward(self, x):
            h = self.conv(x)
            return h - torch.relu(h), h * h

    dag = trace(Net(), torch.zeros(1, 3, 16, 16))
    conv = dag.node("conv")
    assert conv.shape == (8, 8, 8)
    assert conv.macs == 8 * 8 * 8 * 3 * 9 and conv.params == 8 * 3 * 9 + 8
    assert dag.in_arcs("conv")[0].label == "conv2d 3×3 3→8 s2"
    sub = {a.src: a for a in dag.in_arcs("sub")}
    assert (sub["conv"].label, sub["relu"].label) == ("id", "−id")
    (sq,) = dag.in_arcs("mul")  # the same tensor twice: one arc, joint, multiplicity noted
    assert sq.kind == "joint" and sq.meta["multiplicity"] == 2
    assert len(dag.in_arcs("output")) == 2


def test_trace_leaves_the_model_alone():
    lm = models.load("resnet_tiny")
    model = lm.model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trace(model, lm.example_input)
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats untouched


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.c = nn.Linear(4, 2)

    def forward(self, x):
        h = torch.relu(self.a(x))
        if h.sum() > 0:  # control flow on a tensor value: fx and export both refuse
            h = h + self.b(h)
        return self.c(h)


class ShapeDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)

    def forward(self, x):
        h = self.a(x)
        if x.shape[-1] > 3:  # control flow on a shape: fx refuses, export specialises
            h = torch.relu(h) * 2
        return h


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.c = nn.Linear(5, 2)

    def forward(self, x):
        return self.c(torch.relu(self.a(x)))


def test_data_dependent_control_flow_is_refused_with_the_line_and_a_fix():
    """One recorded forward is one branch: never presented as the model."""
    with pytest.raises(TraceError) as e:
        trace(DataDependent(), torch.ones(1, 4))
    msg = str(e.value)
    assert "decides on the input's values" in msg and "test_trace.py:" in msg and "if h.sum() > 0" in msg
    assert "MODEL@submodule" in msg and "torch.cond" in msg


def test_a_recording_without_value_decisions_is_kept():
    """Control flow on values that do not come from the input (a parameter) is no decision on the input."""

    class ParamGate(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

        def forward(self, x):
            h = torch.relu(self.a(x))
            if self.a.weight.sum() > -1e9:  # fx refuses control flow here; the decision reads no input
                h = h * 2
            n = h.nonzero().shape[0]  # a data-dependent shape: export refuses it
            return self.b(h) + 0 * n

    dag = trace(ParamGate(), torch.ones(1, 4))
    assert dag.meta["tracer"] in ("hooks", "export")
    assert {"a", "b"} <= {n.module for n in dag.nodes}
    assert dag.level == nx_reference_levels(dag)

def test_shape_dependent_control_flow_falls_back_to_export():
    dag = trace(ShapeDependent(), torch.ones(1, 4))
    assert dag.meta["tracer"] == "export"
    assert [dag.node(i).op for i in dag.order()] == ["input", "linear", "relu", "mul", "output"]
    assert dag.in_arcs("mul")[0].label == "×2"
    gm = dag.meta["graph_module"]
    assert {n.id for n in dag.nodes} <= {n.name for n in gm.graph.nodes}


def test_untraceable_model_raises_naming_the_module_with_partial_graph():
    with pytest.raises(TraceError, match=r"module c \(Linear\)") as info:
        trace(Broken(), torch.ones(1, 4))
    assert "Broken" in str(info.value) and len(info.value.attempts) == 3
    assert info.value.partial is not None and "a" in info.value.partial.order()


# ---- torchvision: built on the meta device (no weights, no init cost) ---------------------

TV = ["resnet50", "densenet121", "googlenet", "vit_b_16"]


def tv_meta(name):
    import torchvision

    kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    with torch.device("meta"):
        return torchvision.models.get_model(name, weights=None, **kw).eval()


@pytest.mark.slow
@pytest.mark.parametrize("name", TV)
def test_torchvision_levels_match_independent_longest_path(name):
    model = tv_meta(name)
    dag = trace(model, torch.zeros(1, 3, 224, 224), name)
    assert dag.meta["tracer"] == "fx"
    assert dag.level == fx_reference_levels(dag)
    assert sum(n.params for n in dag.nodes) + dag.meta["unused_params"] == sum(p.numel() for p in model.parameters())
    assert dag.node("output").shape == (1000,)
    assert len(dag.nodes) > 100


@pytest.mark.slow
def test_torchvision_shapes_match_real_forward_resnet18():
    import torchvision

    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(1, 3, 64, 64)
    dag = trace(model, x)
    gm = fx.symbolic_trace(model)
    ShapeProp(gm).propagate(x)
    real = {n.name: tuple(n.meta["tensor_meta"].shape[1:]) for n in gm.graph.nodes if "tensor_meta" in n.meta
            and hasattr(n.meta["tensor_meta"], "shape")}
    assert all(dag.node(i).shape == s for i, s in real.items() if i in dag.level)
    assert sum(n.params for n in dag.nodes) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("cfg", [dict(k=3, s=2, p=1, d=1), dict(k=5, s=1, p="same", d=2), dict(k=4, s=3, p=0, d=1),
                                 dict(k=3, s=1, p="valid", d=1), dict(k=1, s=2, p=0, d=1, g=2)])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_shape_formula_matches_the_kernel(cfg, dims):
    conv_cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
    conv = conv_cls(4, 6, cfg["k"], stride=cfg["s"], padding=cfg["p"], dilation=cfg["d"], groups=cfg.get("g", 1))
    x = torch.zeros(2, 4, *[11] * dims)
    dag = trace(nn.Sequential(conv), x)
    assert dag.node("_0").shape == tuple(conv(x).shape[1:])


class FunctionalGate(nn.Module):
    """No submodules at all, parameters used functionally, a branch on a parameter's value (no input)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 3))

    def forward(self, x):
        h = torch.relu(x @ self.w)
        return h * 2 if self.w.mean() > -1e9 else h


def test_recording_fallback_on_a_model_without_submodules():
    dag = trace(FunctionalGate(), torch.ones(1, 3))
    assert dag.meta["tracer"] == "hooks"
    assert [dag.node(i).op for i in dag.order()] == ["input", "matmul", "relu", "mul", "output"]
    mm = dag.node("matmul")
    assert mm.params == 9 and mm.meta["constants"] == ["w"] and dag.in_arcs("matmul")[0].kind == "linear"


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kw", [dict(need_weights=False), dict(), dict(average_attn_weights=False)])
def test_attention_shapes_match_the_module(batch_first, kw):
    class Att(nn.Module):
        def __init__(self):
            super().__init__()
            self.att = nn.MultiheadAttention(8, 2, batch_first=batch_first)

        def forward(self, x, mem):
            y, w = self.att(x, mem, mem, **kw)
            return y if w is None else (y, w)

    x = torch.randn(2, 5, 8)  # (N, L, E) batch first, else (L, N, E)
    mem = torch.randn(2, 7, 8) if batch_first else torch.randn(7, 5, 8)
    model = Att().eval()
    dag = trace(model, (x, mem))
    with torch.no_grad():
        real = model(x, mem)
    real = real if isinstance(real, tuple) else (real,)
    node = dag.node("att")
    # the batch is the example's leading dimension (here L when not batch first): dropped where it
    # comes first, kept (and marked) where it does not, as in the sequence-first weights (N, L, S)
    assert node.meta["shapes"] == [list(t.shape[1:]) if batch_first or k == 0 else list(t.shape)
                                   for k, t in enumerate(real)]
    assert {a.kind for a in dag.in_arcs("att")} == {"joint"}  # query and memory: two distinct inputs


@pytest.mark.slow
def test_swin_window_attention_shape_rule_matches_real_forward():
    import torchvision

    model = torchvision.models.swin_v2_t(weights=None).eval()
    x = torch.randn(1, 3, 64, 64)
    dag = trace(model, x)
    gm = fx.symbolic_trace(model)
    ShapeProp(gm).propagate(x)
    wsa = [n for n in gm.graph.nodes if n.op == "call_function" and "shifted_window" in str(n.target)]
    assert wsa
    assert all(dag.node(n.name).shape == tuple(n.meta["tensor_meta"].shape[1:]) for n in wsa)
    assert dag.node("output").shape == (1000,)
