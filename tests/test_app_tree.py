"""The Architecture page's module tree on a 32-layer Llama decoder (`bench/models/llama_decoder.py:Llama32`,
from the models folder as a user loads it): it opens rolled up, a run and a block open and close in place,
the search jumps to `layers_17_self_attn`, and the open blocks travel in the page's link."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "bench" / "models" / "llama_decoder.py"
TIMEOUT = 900
RUN = "model.layers.0-31"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "models").mkdir()
    shutil.copy(FILE, data / "models" / "llama_decoder.py")
    return data


def _open(data: Path, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(data))
    at = AppTest.from_file(str(ROOT / "pages" / "1_Architecture.py"), default_timeout=TIMEOUT)
    at.query_params.update({"src": "file", "model": f"{data / 'models' / 'llama_decoder.py'}:Llama32", **query})
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _shown(at: AppTest) -> dict[str, str]:
    """Visible node id -> its trace (ops, modules, runs), read from the figure the page sent."""
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return {cd: t["name"] for t in spec["data"] if t.get("name") in ("ops", "modules", "runs")
            for cd in t.get("customdata") or []}


def _toggle(at: AppTest, node: str) -> AppTest:
    sb = at.selectbox(key="arch.tree_pick")
    sb.set_value(node).run()
    at.button(key="arch.tree_toggle").click().run()
    _ok(at)
    return at


def test_the_decoder_opens_rolled_up_and_a_run_opens_and_closes_in_place(folder, monkeypatch):
    at = _open(folder, monkeypatch)
    _ok(at)
    assert at.toggle(key="arch.tree").value, "a 1,645-op graph opens in the module tree"
    # the counts are those of the graph the tree draws (the op graph: its residual adds are skip arcs), not the
    # block graph's (7 nodes, "skip arcs 0" under the orange residual arcs of an opened layer)
    from explorer.graph import build_dag

    op = build_dag(f"{folder / 'models' / 'llama_decoder.py'}:Llama32", "op").summary()
    facts = {m.label: m.value for m in at.metric}
    assert facts["nodes"] == f"{op['nodes']:,}" and facts["levels"] == f"{op['levels']:,}", (facts, op)
    assert facts["skip arcs"] == f"{op['skip_arcs']:,}" and op["skip_arcs"] >= 2 * 32, facts
    assert any("the counts are the op graph's" in c.value for c in at.caption)
    shown = _shown(at)
    assert shown.get(RUN) == "runs", shown
    assert not any(k.startswith("model.layers.5") for k in shown)
    assert any("LlamaDecoderLayer × 32" in c.value or "rolled-up run" in c.value for c in at.caption)
    before = {k for k, v in shown.items() if v == "ops"}
    _toggle(at, RUN)
    shown = _shown(at)
    assert RUN not in shown and sum(1 for k in shown if k.startswith("model.layers.")) == 32
    assert {f"model.layers.{i}" for i in range(32)} <= set(shown)
    assert before <= set(shown), "opening the run removed ops that were on show"
    assert RUN in at.query_params["open"][0] if isinstance(at.query_params["open"], list) else at.query_params["open"]
    _toggle(at, "model.layers.3")  # a block opens into its sub-modules and ops
    shown = _shown(at)
    assert "model.layers.3" not in shown and "model.layers.3.self_attn" in shown and "model.layers.4" in shown
    assert any(b.label == "Decomposition →" for b in at.button)
    _toggle(at, "model.layers.3")
    assert "model.layers.3" in _shown(at)
    _toggle(at, RUN)  # closing the run rolls it up again
    assert _shown(at).get(RUN) == "runs"


def test_search_jumps_to_a_module_and_the_link_keeps_it(folder, monkeypatch):
    at = _open(folder, monkeypatch)
    at.text_input(key="arch.search").input("layers_17_self_attn").run()
    _ok(at)
    shown = _shown(at)
    assert shown.get("model.layers.17.self_attn") == "modules", sorted(shown)[:40]
    assert RUN not in shown  # the run holding it was un-rolled
    assert any("model.layers.17.self_attn" in c.value for c in at.caption)
    opened = at.query_params["open"]
    opened = opened[0] if isinstance(opened, list) else opened
    assert "model.layers.17" in opened.split(",")
    # the link opens the same view in a fresh session
    again = _open(folder, monkeypatch, open=opened, q="layers_17_self_attn")
    _ok(again)
    assert set(_shown(again)) == set(shown)
    # a search that names nothing says so and keeps the view
    at.text_input(key="arch.search").input("no_such_block").run()
    _ok(at)
    assert any("No module path or op matches" in w.value for w in at.warning)
