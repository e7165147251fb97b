"""Lessons and presets: every link they carry opens its page with no notice (checked against the page
schemas and the graphs themselves), the facts their answers state hold on the zoo models, the CLI lists
and checks them, and the Learn page draws every step of every lesson (AppTest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lessons import LESSONS, PRESETS, Figure, LessonError, Link
from explorer.lessons.check import check, links, presets
from explorer.links import LinkDoc, decode_selection
from explorer.links.pages import PAGES, LinkError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180


def test_every_lesson_link_and_preset_opens_as_it_says():
    problems = check()
    assert not problems, "\n".join(map(str, problems))


def test_every_link_parses_with_no_notice_and_stays_short():
    from urllib.parse import urlencode

    for where, link in [*links(), *presets()]:
        doc = LinkDoc.parse(link.query, PAGES[link.page].params)
        assert doc.notices == [], (where, doc.notices)
        assert len("http://localhost:8501/" + link.path) < 2000 and urlencode(link.query) in link.path, where


def test_the_catalogue_has_eight_lessons_each_step_complete():
    assert [les.number for les in LESSONS] == list(range(1, 9))
    assert len({les.slug for les in LESSONS}) == 8
    for les in LESSONS:
        assert 2 <= len(les.steps) <= 6, les.slug
        for s in les.steps:
            assert s.text and s.try_this and s.question.endswith("?") and s.answer, (les.slug, s.title)
            assert s.cite.startswith("§") and f"## {s.cite[1:]}." in (ROOT / "docs/science.md").read_text()
    pages = {s.link.page for les in LESSONS for s in les.steps if s.link}
    assert {"Signal propagation", "Playground", "Lottery"} <= pages  # lessons 6-8 open the labs


def test_a_link_a_page_would_refuse_cannot_be_built():
    with pytest.raises(LinkError, match="no link setting level"):
        Link.to("Decomposition", level=2)
    with pytest.raises(LinkError, match="level must be at least 1"):
        Link.to("Decomposition", l=0)
    with pytest.raises(LinkError, match="Playground"):
        Link.to("Playground", hidden="4,x")
    with pytest.raises(LinkError, match="no page"):
        Link.to("Nowhere")
    with pytest.raises(LessonError, match="steps 1..3"):
        LESSONS[0].step(9)


def test_a_wrong_level_or_foreign_selection_is_found_by_the_check():
    from explorer.lessons.check import problems_of

    assert "not in 1..4" in " ".join(problems_of(Link.to("Decomposition", model="mlp_skip", g="unit", l=9)))
    sel = PRESETS["Prune"]["a residual branch"].query["sel"]
    assert "made on resnet_tiny" in " ".join(problems_of(Link.to("Prune", model="mlp_skip", g="op", sel=sel)))


def test_the_facts_the_answers_state_hold_on_the_graphs():
    from explorer.graph import build_dag
    from explorer.pruning.selection import Selection
    from explorer.pruning.validity import check as valid

    res = build_dag("resnet_tiny", granularity="op")
    assert (res.level["stem_2"], res.level["add"]) == (3, 9)  # lesson 1 step 3: the arc spans 6 levels
    assert "stem_2->add" in {f"{a.src}->{a.dst}" for a in res.arcs}
    assert {res.level[n] for n in ("block1_conv1", "block1_bn2")} == {4, 8}
    assert not valid(res, Selection("op", ("stem_2",), (), "resnet_tiny")).ok  # lesson 4 step 3
    op = build_dag("mlp_skip", granularity="op")  # lesson 1 step 2: relu (2) reaches add (6) and cat (8) directly
    assert (op.level["relu"], op.level["add"], op.level["cat"]) == (2, 6, 8)
    assert {"relu->add", "relu->cat"} <= {f"{a.src}->{a.dst}" for a in op.arcs}
    from explorer.lessons import lesson

    step = lesson("dag").step(2)
    assert step.figure.g == step.link.query["g"] == "op" and step.figure.model == step.link.query["model"]
    skip = build_dag("mlp_skip", granularity="unit")
    arcs = {f"{a.src}->{a.dst}": a for a in skip.arcs}
    assert arcs["fc1[0]->fc3[0]"].kind == "identity"  # lesson 4 step 1
    op = build_dag("mlp_skip", granularity="op")
    assert (op.level["relu"], op.level["cat"]) == (2, 8) and "relu->cat" in {f"{a.src}->{a.dst}" for a in op.arcs}
    assert "identity arc" in valid(skip, Selection("unit", (), ("fc1[0]->fc3[0]",), "mlp_skip")).reasons[0]
    import torch

    from explorer.lottery.magnitude import imp_step, ones

    w = {"a": torch.randn(100, 100, generator=torch.Generator().manual_seed(0))}  # lesson 8 step 1: 5 rounds of 0.2
    mask = ones(w)
    for _ in range(5):
        mask = imp_step(w, mask, 0.2)
    assert 1 - float(mask["a"].float().mean()) == pytest.approx(0.672, abs=5e-4)
    for les in LESSONS:  # lesson 2 step 1: every T_l is unit lower-triangular (the figure the step draws)
        for s in les.steps:
            if s.figure is not None and s.figure.kind == "T":
                import numpy as np

                from explorer.lifting import lifting, views

                ids, M, _ = views.node_matrix(lifting(build_dag(s.figure.model, granularity=s.figure.g)), s.figure.l)
                assert np.allclose(np.triu(M, 1), 0) and np.allclose(np.diag(M), 1), s.title


def test_preset_selections_are_inline_and_name_their_graph():
    for name, link in PRESETS["Prune"].items():
        if "sel" in link.query:
            assert link.query["sel"].startswith("z"), name  # no file in the data folder: opens anywhere
            assert decode_selection(link.query["sel"]).model == link.query["model"]


def test_every_step_figure_draws():
    from explorer.lessons.figures import draw

    for les in LESSONS:
        for s in les.steps:
            if s.figure is not None:
                assert draw(s.figure).data, s.title
    with pytest.raises(LessonError, match="levels 1..3"):
        draw(Figure("T", "mlp", "unit", l=7))


def test_the_page_forms_and_the_schema_agree():
    from explorer.links.pages import LOTTERY_FIELDS, SCHEMES, SPP_CRITERIA
    from ui import lottery_forms, signal_lab

    assert set(lottery_forms.TRAINING) | {f for fs in lottery_forms.FIELDS.values() for f in fs} <= set(LOTTERY_FIELDS)
    assert tuple(signal_lab.SCHEME_CHOICES) == SCHEMES and tuple(signal_lab.CRITERIA) == SPP_CRITERIA


def test_cli_lists_and_checks_the_lessons():
    run = lambda *a: subprocess.run([sys.executable, "-m", "explorer", "lessons", *a], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True, timeout=300)
    out = run("--json", "--base", "http://localhost:8501")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [les["slug"] for les in doc["lessons"]] == [les.slug for les in LESSONS]
    assert doc["lessons"][1]["steps"][0]["path"].startswith("http://localhost:8501/Decomposition?v=1&")
    assert "a residual branch" in doc["presets"]["Prune"]
    text = run()
    assert "1. A network as a DAG-DNN" in text.stdout and "Decomposition?v=1" in text.stdout
    checked = run("--check")
    assert checked.returncode == 0 and "all open as their lessons say" in checked.stdout, checked.stdout


# ---- the Learn page, presets, classroom mode (AppTest) -----------------------------------------------

def _page(path: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _q(at: AppTest) -> dict[str, str]:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


@pytest.mark.parametrize("les", LESSONS, ids=[les.slug for les in LESSONS])
def test_the_learn_page_draws_every_step(les):
    at = _page("pages/8_Learn.py", les.link(1).query)
    for n, step in enumerate(les.steps, 1):
        _ok(at)
        assert at.header[0].value == f"{n}. {step.title}"
        assert _q(at).get("lesson") == les.slug and int(_q(at).get("step", 1)) == n
        assert any(step.answer in e.markdown[0].value for e in at.expander if e.markdown), "answer in the expander"
        if step.figure is not None:
            assert at.get("plotly_chart")
        if n < len(les.steps):
            at.button(key="learn.next.top").click().run()
    last = les is LESSONS[-1]
    assert at.button(key="learn.next.top").disabled == last  # Next moves on to the next lesson, but at the very end
    if not last:
        assert at.button(key="learn.next.top").label == "Next lesson →"
        at.button(key="learn.next.top").click().run()
        _ok(at)
        nxt = LESSONS[LESSONS.index(les) + 1]
        assert _q(at).get("lesson") == nxt.slug and int(_q(at).get("step", 1)) == 1
        assert at.header[0].value == f"1. {nxt.step(1).title}" and at.selectbox(key="learn.pick").value == nxt.slug
        at.button(key="learn.prev.top").click().run()  # and Previous goes back to this lesson's last step
        assert _q(at).get("lesson") == les.slug and int(_q(at).get("step", 1)) == len(les.steps)
    if les is LESSONS[0]:
        at = _page("pages/8_Learn.py", les.link(1).query)
        assert at.button(key="learn.prev.top").disabled  # nothing before the very first step


def test_a_bad_lesson_link_is_a_notice():
    at = _page("pages/8_Learn.py", {"v": "1", "lesson": "no_such", "step": "0"})
    _ok(at)
    text = " ".join(w.value for w in at.warning)
    assert "no_such" in text and "step must be at least 1" in text
    assert at.header[0].value.startswith("1. ")


def test_open_this_view_opens_the_step_on_its_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/8_Learn.py").run()
    at.selectbox(key="learn.pick").set_value("dag").run()
    at.button(key="learn.next.top").click().run()
    at.button(key="learn.next.top").click().run()
    at.button(key="learn.open").click().run()
    _ok(at)
    assert at.text_input(key="arch.search").value == "add"
    assert at.session_state["explorer.model"].spec == "resnet_tiny"


def test_a_preset_sets_the_whole_view_in_one_click():
    at = _page("pages/2_Decomposition.py", {})
    _ok(at)
    at.sidebar.selectbox(key="dec.preset").set_value("the local affine map").run()
    _ok(at)
    assert at.session_state["explorer.model"].spec == "mlp_skip"
    assert at.slider(key="dec.level").value == 4 and at.toggle(key="dec.masked").value
    assert _q(at) == PRESETS["Decomposition"]["the local affine map"].query
    at.sidebar.selectbox(key="dec.preset").set_value("a residual add").run()  # replaces the view: masks off
    _ok(at)
    assert _q(at) == PRESETS["Decomposition"]["a residual add"].query


def test_classroom_mode_travels_in_the_link_and_hides_expert_parts():
    at = _page("pages/1_Architecture.py", {"v": "1", "model": "mlp", "g": "op", "classroom": "1"})
    _ok(at)
    assert at.session_state["explorer.classroom"] is True and _q(at).get("classroom") == "1"
    assert any("Look at" in i.value for i in at.info)
    assert not at.get("download_button") and not at.expander  # downloads and the node table are for desks
    plain = _page("pages/1_Architecture.py", {"v": "1", "model": "mlp", "g": "op"})
    assert plain.get("download_button") and not any("Look at" in i.value for i in plain.info)


def test_the_lab_pages_open_their_links(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    at = _page("pages/5_Lottery.py", {"v": "1", "model": "lottery_mlp", "kind": "sweep", "sweep": "0.5,0.9",
                                      "steps": "300"})
    _ok(at)
    assert at.radio(key="lottery.kind").value == "One-shot sweep"
    assert at.text_input(key="lottery.sweep.sweep.lottery_mlp").value == "0.5,0.9"
    assert _q(at) == {"v": "1", "model": "lottery_mlp", "kind": "sweep", "steps": "300", "sweep": "0.5,0.9"}
    bad = _page("pages/5_Lottery.py", {"v": "1", "kind": "lotto", "rounds": "many"})
    _ok(bad)
    assert "kind=lotto" in " ".join(w.value for w in bad.warning)


NEW_PRESET_PAGES = {"Home": "app.py", "Train": "pages/4_Train.py", "Lottery": "pages/5_Lottery.py",
                    "Signal propagation": "pages/6_Signal_propagation.py", "Playground": "pages/7_Playground.py"}
PRESET_KEY = {"Home": "home.preset", "Train": "train.preset", "Lottery": "lottery.preset",
              "Signal propagation": "spp.preset", "Playground": "pg.preset"}


@pytest.mark.parametrize("title", list(NEW_PRESET_PAGES))
def test_every_page_with_a_view_has_presets_that_set_it(title, tmp_path, monkeypatch):
    """Choosing each preset in turn (from the page's defaults, then from the previous preset) leaves the
    page on exactly the view its link opens in a fresh session (the query both write back, which leaves
    out the settings at their defaults), and that view holds everything the preset says."""
    from explorer.jobs import backends as backend_mod

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(backend_mod, "ensure_worker", lambda *a, **k: None)  # nothing trains here
    at = _page(NEW_PRESET_PAGES[title], {})
    _ok(at)
    model_keys = {"v", "src", "model", "g", "depth", "seed"}
    assert set(_q(at)) <= model_keys, f"{title} opens on settings its link schema does not call defaults: {_q(at)}"
    for name, link in PRESETS[title].items():
        at.sidebar.selectbox(key=PRESET_KEY[title]).set_value(name).run()
        _ok(at)
        got = {k: v for k, v in _q(at).items() if k != "v"}
        fresh = _page(NEW_PRESET_PAGES[title], link.query)
        _ok(fresh)
        assert got == {k: v for k, v in _q(fresh).items() if k != "v"}, (title, name, got)
        assert all(link.query[k] == v for k, v in got.items()), (title, name, got, link.query)


def test_a_preset_without_a_selection_clears_the_one_held():
    at = _page("pages/3_Prune.py", {})
    _ok(at)
    at.sidebar.selectbox(key="prune.preset").set_value("a skip arc").run()
    _ok(at)
    assert "sel" in _q(at) and not at.session_state["explorer.selection"].is_empty()
    at.sidebar.selectbox(key="prune.preset").set_value("a pruned ticket").run()
    _ok(at)
    held = at.session_state["explorer.selection"] if "explorer.selection" in at.session_state else None
    assert "sel" not in _q(at) and (held is None or held.is_empty())


CONTROL_TYPES = ("button", "download_button", "slider", "select_slider", "selectbox", "multiselect", "radio", "toggle",
                 "checkbox", "number_input", "text_input", "text_area", "expander", "tab")


def _controls(at: AppTest) -> set[str]:
    """The labels of every control the page shows (sidebar included), lower case."""
    out = set()
    for kind in CONTROL_TYPES:
        for w in at.get(kind):
            label = getattr(w, "label", None) or getattr(getattr(w, "proto", None), "label", None)
            if label:
                out.add(str(label).strip().lower())
    return out


def named_controls(text: str) -> list[str]:
    """What a "try this" names as a control: its *italic* phrases (values are written `like this`)."""
    import re

    return re.findall(r"(?<![*\w])\*([^*]+)\*(?![*\w])", text)


def test_named_controls_are_the_italic_phrases():
    assert named_controls("Move the *level l* slider, then press *Prune*; type `add` in *Search nodes*.") == \
        ["level l", "Prune", "Search nodes"]


@pytest.mark.parametrize("les", LESSONS, ids=[les.slug for les in LESSONS])
def test_every_try_this_names_controls_on_the_page_it_opens(les, tmp_path, monkeypatch):
    """Each step's "try this" names at least one control, and every control it names is on the page its
    link opens (on a fresh install: the lottery lessons' pages install the shipped results themselves)."""
    from explorer.jobs import backends as backend_mod
    from explorer.jobs.worker import run_next
    from explorer.training.store import RunStore

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(backend_mod, "ensure_worker", lambda *a, **k: None)
    for n, step in enumerate(les.steps, 1):
        names = named_controls(step.try_this)
        assert names, f"lesson {les.number} step {n}: its try-this names no control in *italics*"
        at = _page(step.link.file, step.link.query)
        if step.link.page == "Playground":  # the worker draws the run's first frame
            store = RunStore(tmp_path)
            while run_next(store, "test") is not None:
                pass
            at.run()
        _ok(at)
        labels = _controls(at)
        missing = [c for c in names if not any(lab.startswith(c.lower()) for lab in labels)]
        assert not missing, f"lesson {les.number} step {n} ({step.link.page}) names {missing}; the page has {labels}"


def test_classroom_zoom_grows_a_figure_the_way_plotly_lays_it_out():
    """A matrix laid out in pixels grows whole — size, margins (its labels' room), every font — and a DAG
    grows its type, legend and tick labels (which Streamlit's theme would otherwise size); the figure given
    (a cached one) is left as it was."""
    import numpy as np

    from explorer.figures.matrix_plot import matrix_figure
    from explorer.lessons.figures import draw
    from ui.classroom import zoomed

    m = matrix_figure(["x", "block1_conv1", "add"], np.eye(3), title="T_1")
    before = m.to_plotly_json()
    z = zoomed(m, 1.5)
    assert m.to_plotly_json() == before
    assert (z.layout.width, z.layout.height) == (int(m.layout.width * 1.5), int(m.layout.height * 1.5))
    assert z.layout.margin.l == m.layout.margin.l * 1.5 and z.layout.margin.b == m.layout.margin.b * 1.5
    assert z.layout.yaxis.tickfont.size == m.layout.yaxis.tickfont.size * 1.5
    assert z.layout.title.font.size == m.layout.title.font.size * 1.5
    d = draw(Figure("dag", "resnet_tiny", "op", search="add"), height=300)
    zd = zoomed(d, 1.5, height=450)
    assert zd.layout.height == 450 and zd.layout.legend.font.size == zd.layout.xaxis.tickfont.size == 18
    assert d.layout.legend.font.size is None  # untouched
