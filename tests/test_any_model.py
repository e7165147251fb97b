"""Any model, honestly: models nobody here wrote (timm, Hugging Face transformers from small
configs, torchvision segmentation, detection and optical flow, hand-written corner cases) either
give a graph that is faithful — every parameter, levels vs an independent longest path, MACs
within 1% of fvcore, the composition equal to the forward — or a refusal that names the cause.
No model may give a wrong graph without saying so."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import networkx as nx
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "models"))
from external import CASES  # noqa: E402
from reference import fvcore_macs  # noqa: E402

from explorer.graph.shapes import tensors_in  # noqa: E402
from explorer.graph.trace import TraceError, trace  # noqa: E402
from explorer.lifting import lifting  # noqa: E402
from explorer.lifting.inputs import view_input  # noqa: E402
from explorer.lifting.verify import verify, verify_model  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def longest_path_levels(dag) -> dict[str, int]:
    g = dag.to_networkx()
    level = {}
    for v in nx.topological_sort(g):
        level[v] = max((level[u] + 1 for u in g.predecessors(v)), default=0)
    return level


@pytest.mark.parametrize("case", [c for c in CASES if c.refuse], ids=lambda c: f"{c.family}:{c.name}")
def test_refused_with_the_cause(case):
    m, x = case.build()
    with pytest.raises(TraceError) as e:
        trace(m, x, case.name)
    assert case.refuse in str(e.value), str(e.value)


@pytest.mark.parametrize("case", [c for c in CASES if not c.refuse], ids=lambda c: f"{c.family}:{c.name}")
def test_faithful_graph_that_verifies(case):
    m, x = case.build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dag = trace(m, x, case.name)
    assert not any("covers" in w for w in dag.meta["warnings"]), dag.meta["warnings"]
    assert sum(n.params for n in dag.nodes) == sum(p.numel() for p in m.parameters())
    assert dag.level == longest_path_levels(dag)
    assert dag.in_arcs(dag.outputs[0]), "the output must depend on the network"
    ours, ref = sum(n.macs for n in dag.nodes), fvcore_macs(m, x)
    assert abs(ours - ref) <= 0.01 * ref, f"MACs {ours:,} vs fvcore {ref:,.0f}"
    v = verify(m, dag)
    assert v.ok, str(v)
    x = view_input(dag, seed=1)  # what the Decomposition page shows: drawn like the example (token ids stay ids)
    page = verify_model(m, dag, x, seed=1)
    assert page.ok, str(page)
    got = tensors_in(lifting(dag).function_at(dag.outputs[0], x))  # the sub-architecture panel, nothing removed
    with torch.no_grad():
        want = tensors_in(m(*x) if isinstance(x, tuple) else m(x))
    assert [t.shape for t in got] == [t.shape for t in want]
    assert all(torch.allclose(a.double(), b.double(), atol=1e-3 * max(1.0, float(b.abs().max())))
               for a, b in zip(got, want) if b.is_floating_point())
