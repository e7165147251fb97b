"""Progress while a model opens: the library reports its stages (sandbox child, building, which
tracer, the graph's size), a page shows them with the elapsed time, and the user can stop waiting."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

from explorer.concurrency import Progress, reporting, stage
from explorer.graph import build_dag
from explorer.models.sandbox import probe

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def test_stages_go_to_the_progress_of_their_own_thread_only():
    mine, theirs = Progress(), Progress()

    def other() -> None:
        with reporting(theirs):
            stage("their stage")

    with reporting(mine):
        stage("one")
        t = threading.Thread(target=other)
        t.start()
        t.join()
        stage("two")
    assert [s for s, _ in mine.stages()] == ["one", "two"] and mine.done
    assert [s for s, _ in theirs.stages()] == ["their stage"]
    assert all(sec >= 0 for _, sec in mine.stages())
    stage("after")  # nobody listens: nothing happens
    assert len(mine.stages()) == 2


def test_opening_a_user_file_reports_the_sandbox_child_the_build_and_the_tracer(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "data"))  # probe reports and traced graphs are kept there
    src = tmp_path / "mine.py"  # a path of its own: the sandbox runs it afresh (results are kept per file)
    shutil.copy(ROOT / "tests" / "user_models.py", src)
    p = Progress()
    with reporting(p):
        probe(f"{src}:BranchyNet")
        dag = build_dag(f"{src}:BranchyNet", "op")
    stages = [s for s, _ in p.stages()]
    child = [s for s in stages if "sandboxed child process" in s]
    assert [s.rpartition(": ")[2] for s in child] == ["starting Python and torch",
                                                       "importing the file and constructing the model",
                                                       "running its forward pass", "tracing its graph"], stages
    assert any(s.startswith("read the traced graph from ") for s in stages), stages  # traced once, in the child
    assert stages[-1] == (f"op graph: {len(dag.nodes)} nodes, {len(dag.arcs)} arcs, {dag.depth + 1} levels "
                          "(traced by fx)")


# ---- the page --------------------------------------------------------------------------------------


def _record(at: AppTest) -> list:
    """(label, text) of the expanders that keep the record of a model's opening."""
    return [(e.label, "\n".join(getattr(m, "value", "") or "" for m in e.children.values()))
            for e in at.expander if e.label.startswith("Opening ")]


def test_a_page_opening_a_user_file_shows_each_stage_and_its_time(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    (tmp_path / "models").mkdir()
    shutil.copy(ROOT / "tests" / "user_models.py", tmp_path / "models" / "staged.py")
    at = AppTest.from_file(str(ROOT / "pages" / "1_Architecture.py"), default_timeout=TIMEOUT).run()
    at.sidebar.radio(key="arch.source").set_value("file").run()
    at.sidebar.selectbox(key="arch.file").set_value(f"{tmp_path / 'models' / 'staged.py'}:BranchyNet").run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    boxes = _record(at)
    assert boxes, "no record of the stages the file went through"
    label, shown = boxes[0]
    assert label.startswith("Opening staged.py:BranchyNet: ready in ") and label.endswith(" s"), label
    for what in ("sandboxed child process: importing the file and constructing the model",
                 "sandboxed child process: tracing its graph", "op graph: "):
        assert what in shown, shown
    assert all(line.rstrip().endswith(" s") for line in shown.splitlines() if line.startswith("- "))
    at.run()  # the graph is cached now: no progress shown
    assert not _record(at) and at.metric


HELD = threading.Event()  # released by the test: the work the page waits for


def _slow_page() -> None:
    import streamlit as st

    from tests.test_progress import HELD
    from ui.progress import wait_for

    got = wait_for("t", "slow job", "Opening a slow model", lambda: HELD.wait(600) and "the graph")
    st.write(f"result: {got}")
    st.button("another widget", key="t.other")


def test_stop_waiting_leaves_the_work_running_and_the_page_usable():
    HELD.clear()
    at = AppTest.from_function(_slow_page, default_timeout=TIMEOUT)
    at.session_state["progress.stopped"] = {"slow job"}  # what the "Stop waiting" button's click leaves
    at.run()
    assert not at.exception
    assert any("Stopped waiting for opening a slow model" in i.value and "goes on in the background" in i.value
               for i in at.info), [i.value for i in at.info]
    assert [m.value for m in at.markdown] == ["result: None"]
    at.button(key="t.other").click().run()  # the page stays usable while the work goes on
    assert not at.exception and [m.value for m in at.markdown] == ["result: None"]
    HELD.set()  # the work finishes in the background
    at.button[0].click().run()  # "Wait for it"
    assert not at.exception and [m.value for m in at.markdown] == ["result: the graph"]
    assert not at.info
