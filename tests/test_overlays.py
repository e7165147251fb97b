"""Overlays (explorer.overlays) against direct counts and independent computations: parameters and MACs
against the modules' own counts, path mass against an explicit enumeration of paths, criterion scores
against the criterion's own per-unit output, latency positive on every node, the Jacobian spread against
autograd; the CLI's `levels --metric`; the figure's colour bar."""

from __future__ import annotations

import json
import math

import networkx as nx
import numpy as np
import pytest
import torch
from torch import nn

from explorer import models
from explorer.cli import main
from explorer.figures.dag_plot import dag_figure
from explorer.graph.build import build_dag
from explorer.graph.unit import unit_dag
from explorer.overlays import METRICS, OverlayError, available, overlay
from explorer.pruning import coupling as C
from explorer.pruning.criteria import CRITERIA, Context
from explorer.pruning.criteria import targets as T


class SkipNet(nn.Module):
    """3 -> 4 -> 3 -> 2 with a skip from the first hidden layer to the output."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = nn.Linear(3, 4), nn.Linear(4, 3), nn.Linear(3, 2)
        self.skip = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        h = torch.relu(self.a(x))
        return self.out(torch.relu(self.b(h))) + self.skip(h)


def test_params_and_macs_are_the_modules_own_counts():
    lm = models.load_cached("mlp_skip")
    dag = build_dag("mlp_skip")
    p, m = overlay("params", dag).values, overlay("macs", dag).values
    for name, mod in lm.model.named_children():
        assert p[name] == sum(t.numel() for t in mod.parameters())
        assert m[name] == mod.in_features * mod.out_features  # one example: in x out multiply-adds
    assert p["relu"] == 0 and m["add"] == 0
    unit = build_dag("mlp_skip", "unit")
    pu = overlay("params", unit).values
    assert sum(v for k, v in pu.items() if k.startswith("fc2[")) == sum(t.numel() for t in lm.model.fc2.parameters())


def _enumerated_mass(dag) -> dict[str, float]:
    """Path mass by listing every input->output path and its product of |w| (the definition)."""
    g = dag.to_networkx()
    w = {(a.src, a.dst): abs(a.weight) for a in dag.arcs}
    mass = {n: 0.0 for n in dag.order()}
    ins = [n.id for n in dag.nodes if n.op == "input"]
    for s in ins:
        for t in dag.outputs:
            for path in nx.all_simple_paths(g, s, t):
                prod = math.prod(w[(u, v)] for u, v in zip(path, path[1:]))
                for n in path:
                    mass[n] += prod
    return mass


def test_path_mass_equals_an_explicit_path_enumeration():
    torch.manual_seed(1)
    net = SkipNet().eval()
    dag = unit_dag(net, torch.randn(1, 3), "skipnet")
    assert any(dag.level[a.dst] - dag.level[a.src] > 1 for a in dag.arcs), "the test graph has skip arcs"
    got = overlay("path_mass", dag, net).values
    want = _enumerated_mass(dag)
    assert set(got) == set(want)
    for n in want:
        assert got[n] == pytest.approx(want[n], rel=1e-9, abs=1e-12), n


def test_op_level_path_mass_and_spread_are_their_layers_units():
    model = models.load_cached("mlp_skip").model
    unit, op, block = (build_dag("mlp_skip", g) for g in ("unit", "op", "block"))
    mu, mo, mb = (overlay("path_mass", g, model).values for g in (unit, op, block))
    for layer in ("fc1", "fc2", "fc3", "out"):
        want = sum(v for k, v in mu.items() if k.startswith(layer + "["))
        assert mo[layer] == pytest.approx(want, rel=1e-12) and mb[layer] == pytest.approx(want, rel=1e-12)
    assert math.isnan(mo["relu"]) and math.isnan(mo["add"]), "nodes without a layer have no value"
    su, so = (overlay("jacobian_spread", g, model).values for g in (unit, op))
    assert so["fc2"] == pytest.approx(su["fc2[0]"], rel=1e-12)  # one level per layer: its spread
    with pytest.raises(OverlayError, match="unit level"):  # a model without a unit level says so
        overlay("path_mass", build_dag("transformer_tiny"), models.load_cached("transformer_tiny").model)


@pytest.mark.parametrize("name", ["magnitude", "synflow", "snip"])
def test_unit_scores_are_the_criterions_own_per_unit_scores(name):
    lm = models.load_cached("mlp_skip")
    dag = build_dag("mlp_skip", "unit")
    got = overlay(name, dag, lm.model).values
    crit = CRITERIA[name]
    x = lm.example_input
    work = __import__("copy").deepcopy(lm.model)
    layers = C.find_layers(work, x)
    groups = T.unit_groups(work, x, layers)[0]
    batch = None
    if crit.needs_data:
        from explorer.data.sample import default_batch

        bx, by, _ = default_batch(None, tuple(x.shape[1:]), None, 256, 0)
        batch = (bx, by)
    w = crit.weight_scores(Context(work, x, layers, "units", "layer", 0, None, groups, None, batch))
    per_unit = T.unit_scores(groups, w, crit.reduce)  # what a units proposal ranks
    # a group fed by several layers (fc1 and fc3 meet in the residual add) scores the coupled units together;
    # a node is one layer's neuron, so compare where the group is one layer's units
    single = [g.name for g in groups if len(g.producers) == 1]
    assert single, "the test model has uncoupled units"
    for g in single:
        for k, v in enumerate(per_unit[g].tolist()):
            assert got[f"{g}[{k}]"] == pytest.approx(v, rel=1e-9, abs=1e-15), (g, k)
    assert got["x[0]"] == 0.0


def test_op_scores_sum_the_layers_weight_scores():
    lm = models.load_cached("mlp_skip")
    dag = build_dag("mlp_skip")
    got = overlay("synflow", dag, lm.model).values
    from explorer.overlays.scores import layer_scores

    s, _, _ = layer_scores("synflow", lm.model, lm.example_input)
    assert got["fc2"] == pytest.approx(float(s["fc2.weight"].sum()))
    assert got["relu"] == 0.0
    spline = overlay("spline", dag, lm.model).values  # ranks of removal, averaged over the layer's units
    assert 0 < spline["fc1"] < 100 and spline["add"] == 0


def test_latency_is_positive_and_covers_every_node():
    lm = models.load_cached("resnet_tiny")
    for g in ("op", "block"):
        dag = build_dag("resnet_tiny", g)
        ov = overlay("latency", dag, lm.model)
        assert set(ov.values) == set(dag.order())
        assert all(v > 0 for k, v in ov.values.items() if dag.node(k).op not in ("input", "output")), g
        assert ov.flagged <= set(ov.values) and "noisy" in ov.notes[0]


def test_jacobian_spread_is_the_std_of_each_levels_singular_values():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)).double().eval()
    x0 = torch.randn(1, 3, dtype=torch.float64)
    dag = unit_dag(net, x0, "mlp3")
    got = overlay("jacobian_spread", dag, net, x0).values
    g = torch.Generator().manual_seed(0)
    xs = torch.cat([x0, torch.randn(3, 3, generator=g, dtype=torch.float64)])
    svs = {1: [], 2: [], 3: []}
    for xk in xs:  # each layer's Jacobian by autograd: d(act(layer(h)))/dh
        h = xk
        for l, (lin, act) in enumerate([(net[0], net[1]), (net[2], net[3]), (net[4], nn.Identity())], start=1):
            J = torch.autograd.functional.jacobian(lambda v: act(lin(v)), h)
            svs[l].append(torch.linalg.svdvals(J).numpy())
            h = act(lin(h)).detach()
    for n in dag.order():
        l = dag.level[n]
        want = 0.0 if l == 0 else float(np.concatenate(svs[l]).std())
        assert got[n] == pytest.approx(want, rel=1e-9, abs=1e-12), n


def test_unknown_metric_and_onnx_like_graphs_get_clear_errors():
    dag = build_dag("mlp_skip")
    with pytest.raises(OverlayError, match="choose one of"):
        overlay("flops", dag)
    with pytest.raises(OverlayError, match="structure only"):
        overlay("latency", dag, None)
    assert available(dag, with_model=False) == ["level", "params", "macs"]
    assert set(available(build_dag("mlp_skip", "unit"))) == set(METRICS) - {"latency"}
    assert set(available(dag)) == set(METRICS)


def test_cli_levels_metric_json(capsys):
    assert main(["levels", "mlp_skip", "--metric", "params", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["overlay"]["name"] == "params" and doc["overlay"]["unit"] == "parameters"
    assert {n["id"]: n["params"] for n in doc["nodes"]} == doc["overlay"]["values"]
    assert main(["levels", "mlp_skip", "--granularity", "unit", "--metric", "synflow"]) == 0
    assert "synflow [score]" in capsys.readouterr().out
    assert main(["levels", "mlp_skip", "--metric", "flops"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_the_figure_colours_nodes_by_the_metric_with_a_unit_on_the_colour_bar():
    dag = build_dag("mlp_skip")
    ov = overlay("macs", dag)
    fig = dag_figure(dag, overlay=ov)
    nodes = fig.data[-1]
    assert nodes.marker.colorbar.title.text == "macs (MACs), log scale"
    by_id = dict(zip(nodes.customdata, nodes.marker.color))
    assert by_id["fc2"] == pytest.approx(math.log10(1 + 10000)) and by_id["relu"] == 0
    sized = dag_figure(dag, overlay=ov, overlay_by="size").data[-1]
    size = dict(zip(sized.customdata, sized.marker.size))
    assert size["fc2"] > size["out"] > size["relu"]


def test_a_tied_output_layer_is_scored_under_its_one_parameter():
    """An LLM's lm_head often reads its token embedding's weight (one parameter, named once by
    named_parameters()): the |w| overlay once failed on it with KeyError 'lm_head.weight'."""
    import torch
    from torch import nn

    from explorer.overlays.scores import layer_scores

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc = nn.Embedding(10, 4), nn.Linear(4, 4)
            self.lm_head = nn.Linear(4, 10, bias=False)
            self.lm_head.weight = self.emb.weight

        def forward(self, x):
            return self.lm_head(torch.relu(self.fc(self.emb(x))))

    model = Tied()
    scores, layers, _ = layer_scores("magnitude", model, torch.zeros(1, 3, dtype=torch.long))
    assert [(l.name, l.weight) for l in layers] == [("fc", "fc.weight"), ("lm_head", "emb.weight")]
    assert torch.equal(scores["emb.weight"], model.emb.weight.detach().abs().double())
