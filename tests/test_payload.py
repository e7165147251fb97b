"""Heavy views stay light (issue 17): every preset, every lesson step (its link and the Learn page
showing it) and every zoo model at every granularity on Architecture, Decomposition and Prune opens
with a page payload of at most 3 MB — the bytes of the messages Streamlit sends the browser for one
page run (each a serialised `ForwardMsg`: the websocket frame's payload), collected from AppTest's
script runner. Bytes are deterministic, so the budget is asserted; times are benchmarks
(`bench/bench_views.py`), never asserted here.

The heaviest views are also walked one interaction further: the "a pruned ticket" preset after
*Propose* (224,000 arcs selected on lottery_mlp) and at level 2 (a 1,000 x 1,000 T_2 with 200,000
entries zeroed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import local_script_runner as lsr

from explorer.lessons import LESSONS, PRESETS
from explorer.links.pages import PAGES
from explorer.models.zoo import ZOO

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 3_000_000  # bytes per page run
TIMEOUT = 600
MODEL_PAGES = {"Architecture": ("unit", "op", "block"), "Decomposition": ("unit", "op"), "Prune": ("unit", "op")}
NO_UNIT_LEVEL = {"transformer_tiny"}  # token embeddings: its picker offers op and block only


def _views() -> dict[str, tuple[str, dict[str, str]]]:
    """Every view to walk: name -> (page file, link query); a view reached twice is walked once."""
    views: dict[str, tuple[str, dict[str, str]]] = {}

    def add(name: str, file: str, query: dict[str, str]) -> None:
        if all((file, query) != v for v in views.values()):
            views[name] = (file, dict(query))

    for page, presets in PRESETS.items():
        for name, link in presets.items():
            add(f"preset {page}: {name}", link.file, link.query)
    for les in LESSONS:
        for n, step in enumerate(les.steps, 1):
            add(f"lesson {les.number}.{n} (Learn)", PAGES["Learn"].file, les.link(n).query)
            if step.link is not None:
                add(f"lesson {les.number}.{n} link", step.link.file, step.link.query)
    for model in sorted(ZOO):
        for page, grans in MODEL_PAGES.items():
            for g in grans:
                if not (g == "unit" and model in NO_UNIT_LEVEL):
                    add(f"{page} {model} {g}", PAGES[page].file, {"v": "1", "model": model, "g": g})
    return views


VIEWS = _views()
TICKET = "preset Prune: a pruned ticket"  # walked by its own test, one interaction further


class Payload:
    """The bytes of the messages each AppTest script run sent (a patch of AppTest's script runner)."""

    def __init__(self) -> None:
        self.runs: list[int] = []
        self._run = lsr.LocalScriptRunner.run

    def __enter__(self) -> Payload:
        outer, runs = self._run, self.runs

        def run(runner, *args, **kwargs):
            tree = outer(runner, *args, **kwargs)
            runs.append(sum(m.ByteSize() for m in runner.forward_msgs()))
            return tree

        lsr.LocalScriptRunner.run = run
        return self

    def __exit__(self, *exc) -> None:
        lsr.LocalScriptRunner.run = self._run


@pytest.fixture
def quiet(tmp_path, monkeypatch):
    """A data folder of the test's own, and no worker (nothing trains on a walk)."""
    from explorer.jobs import backends as backend_mod

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(backend_mod, "ensure_worker", lambda *a, **k: None)


def _open(file: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / file), default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def _ok(at: AppTest, name: str) -> None:
    assert not at.exception, (name, [e.value for e in at.exception])


def test_the_walk_covers_every_preset_lesson_step_and_zoo_view():
    presets = sum(len(p) for p in PRESETS.values())
    steps = sum(len(les.steps) for les in LESSONS)
    assert sum(k.startswith("preset ") for k in VIEWS) == presets  # no two presets share a link
    assert sum(k.endswith("(Learn)") for k in VIEWS) == steps
    assert {("Architecture", "lottery_mlp", "unit"), ("Prune", "lottery_mlp", "unit")} <= {
        tuple(k.split()) for k in VIEWS}


@pytest.mark.parametrize("name", [k for k in VIEWS if k != TICKET])
def test_every_view_fits_the_payload_budget(name, quiet):
    file, query = VIEWS[name]
    with Payload() as p:
        at = _open(file, query).run()
    _ok(at, name)
    assert p.runs[-1] <= BUDGET, f"{name}: {p.runs[-1] / 1e6:.2f} MB sent for one page run (budget 3 MB)"


def test_a_proposed_ticket_on_lottery_mlp_stays_in_budget(quiet):
    """The "a pruned ticket" preset, then *Propose* (80% of the weights per layer: 224,000 arcs), then
    the T_l slider at level 2, where 200,000 of the zeroed entries lie."""
    file, query = VIEWS[TICKET]
    with Payload() as p:
        at = _open(file, query).run()
        _ok(at, "preset")
        at.button(key="prune.btn_propose").click().run()
        _ok(at, "propose")
        sel = at.session_state["explorer.selection"]
        assert len(sel.arcs) == 224_000  # the ticket is the selection: every pruned weight one arc
        at.select_slider(key="prune.level").set_value(2).run()
        _ok(at, "level 2")
        title = next(c.proto.spec for c in at.get("plotly_chart") if '"T_2' in c.proto.spec)
    from explorer.graph import build_dag
    from explorer.pruning.validity import check

    dag = build_dag("lottery_mlp", granularity="unit")
    verdict = check(dag, sel)  # what the page says it zeroes, counted here from the verdict
    into_2 = sum(1 for a in verdict.removed_arcs if dag.level[a.split("->")[1]] == 2)
    assert verdict.ok and into_2 >= 200_000 and f"{into_2:,} entries zeroed" in title
    assert len(p.runs) == 3 and max(p.runs) <= BUDGET, [f"{b / 1e6:.2f} MB" for b in p.runs]
