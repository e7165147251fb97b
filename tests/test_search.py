"""Search finds a module in both of its spellings: the module path (`layers.1.self_attn`) and the node
id torch.fx makes of it (`layers_1_self_attn`), on the graph and on the Architecture page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.figures.dag_plot import search_nodes
from explorer.graph import build_dag

ROOT = Path(__file__).resolve().parents[1]
DECODERS = ROOT / "tests" / "models" / "decoders.py"


@pytest.mark.parametrize("spec, dotted", [("resnet_tiny", "block2.conv1"),
                                          (f"{DECODERS}:TinyLlama", "layers.1.self_attn")])
def test_both_spellings_find_the_same_nodes(spec, dotted):
    dag = build_dag(spec, "op")
    hits, nbrs = search_nodes(dag, dotted)
    assert hits, f"{dotted} found nothing in {spec}"
    assert search_nodes(dag, dotted.replace(".", "_")) == (hits, nbrs)
    assert search_nodes(dag, dotted.upper()) == (hits, nbrs)
    for i in hits:  # every hit is that module's, by its path or by its id
        n = dag.node(i)
        assert dotted in (n.module or "") or dotted.replace(".", "_") in n.id, (i, n.module)
    assert search_nodes(dag, "no_such_module") == ([], set())


def _matches(q: str) -> int:
    at = AppTest.from_file(str(ROOT / "pages" / "1_Architecture.py"), default_timeout=300)
    for k, v in {"v": "1", "model": "resnet_tiny", "g": "op", "q": q}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    found = [c.value for c in at.caption if "match(es)" in c.value]
    assert found, [c.value for c in at.caption]
    return int(re.match(r"(\d+) match", found[0]).group(1))


def test_the_architecture_search_box_takes_either_spelling():
    assert _matches("block2.conv1") == _matches("block2_conv1") > 0
