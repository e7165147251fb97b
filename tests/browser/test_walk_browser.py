"""The walk (issue 17): every page walked in a real browser as its three users walk it, asserting what a
person would check there — not only that nothing raised.

- **Teacher**: classroom mode at 1280×720, lesson 1 step 1, then *Next* through every step of every lesson
  (across lessons: *Next lesson →*): the step's title, text, figure, try-this and question on the first
  screen; *Open this view* opens the page every control its try-this names is on (the lottery lessons on
  their results, never "No experiment of this kind yet"); *Learn* in the sidebar comes back to the step.
- **Researcher**: a torchvision model (resnet18, random init) and a model file uploaded through the page
  (`tests/user_models.py:LongSkipMLP`) at every granularity they have, on Architecture and Decomposition:
  the level count the page shows equals the longest input-to-node path of the library's graph (counted here
  on its arcs), Decomposition's badge says verified, each view's websocket payload is within 3 MB.
- **Demo-giver**: Prune on mlp_skip (op): a click on a node marker selects it; the removal counts equal the
  parameters and multiply-adds of the removed Linear maps (counted here with torch); Prune; the export
  downloads and the library reads it back; Retrain (one click) to the verdict, which names the dense run and
  both controls at the ticket's size.

Every wait is for a state with a generous limit (a loaded 2-core machine); nothing asserts a speed. Each
step's wall time is recorded: `WALK_TIMES=path.json` writes them (`bench/walk.py` prints them).
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import zipfile
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser_harness import IDLE_TIMEOUT, ROOT, assert_no_errors, open_page, pick, screenshot, wait_idle, wait_until
from test_click_select_browser import click_marker, selected_caption, selection_heading
from test_lessons_browser import FITS, PROJECTOR, _box_in_view, _plain

from explorer.lessons import LESSONS
from tests.test_lessons import named_controls

pytestmark = pytest.mark.browser

BUDGET = 3_000_000  # bytes a view may send the browser (tests/test_payload.py's budget, read off the websocket)
NO_RESULTS = "No experiment of this kind yet"
LONG = os.environ.get("WALK_LONG") == "1"  # bench/walk.py --long: more models, more model-file classes
TIMES: list[tuple[str, str, float]] = []  # (user, step, seconds)


@contextmanager
def timed(user: str, what: str):
    t0 = time.monotonic()
    yield
    TIMES.append((user, what, time.monotonic() - t0))


@pytest.fixture(scope="module", autouse=True)
def _write_times():
    yield
    if os.environ.get("WALK_TIMES"):
        Path(os.environ["WALK_TIMES"]).write_text(json.dumps(TIMES, indent=1))


class Frames:
    """Bytes the app sent this page over its websocket (Streamlit's messages), counted as they arrive."""

    def __init__(self, page) -> None:
        self.total = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload) -> None:
        self.total += len(payload) if isinstance(payload, (bytes, bytearray)) else len(payload.encode())

    @contextmanager
    def budget(self, what: str):
        before = self.total
        yield
        sent = self.total - before
        assert sent <= BUDGET, f"{what}: the app sent {sent:,} bytes, over the {BUDGET:,}-byte budget"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


# ---- the teacher -----------------------------------------------------------------------------------------------

CONTROL_LABELS = """() => Array.from(document.querySelectorAll(
    '[data-testid="stWidgetLabel"], label, button, [role="tab"], summary')).map(e => {
        const c = e.cloneNode(true);  // the label without its icon's ligature ("keyboard_arrow_down")
        c.querySelectorAll('[data-testid="stIconMaterial"]').forEach(i => i.remove());
        return c.textContent.replace(/\\s+/g, ' ').trim().toLowerCase();
    }).filter(Boolean)"""


def _controls_missing(page, names: list[str]) -> list[str]:
    labels = page.evaluate(CONTROL_LABELS)
    return [c for c in names if not any(lab.startswith(c.lower()) for lab in labels)]


def _nav_to(page, title: str) -> None:
    """Click the sidebar's page link `title` (as a person goes back to a page) and wait for it."""
    nav = page.locator('[data-testid="stSidebarNavLink"]').filter(
        has=page.locator('[data-testid="stMarkdownContainer"]', has_text=re.compile(rf"^\s*{title}\s*$")))
    nav.first.dispatch_event("click")  # classroom mode zooms the app with CSS: Playwright's geometry misses it
    page.wait_for_url(re.compile(rf"/{title.replace(' ', '_')}(\?|$)"), timeout=IDLE_TIMEOUT)
    wait_idle(page, settle_ms=300)  # the switch is seen (the URL): what is left is the page's drawing


@pytest.mark.timeout(1800)  # a state-bound walk of minutes: past pytest.ini's 600 s on a busy machine
def test_teacher_walks_every_lesson_step_in_classroom_mode(browser, app_url):
    ctx = browser.new_context(viewport=PROJECTOR)
    p = ctx.new_page()
    p.set_default_timeout(IDLE_TIMEOUT)
    frames = Frames(p)
    steps = [(les, n) for les in LESSONS for n in range(1, len(les.steps) + 1)]
    try:
        with timed("teacher", "lesson 1 step 1"), frames.budget("lesson 1 step 1"):
            open_page(p, app_url, LESSONS[0].link(1).path + "&classroom=1")
        for i, (les, n) in enumerate(steps):
            step, where = les.step(n), f"lesson {les.number} step {n}"
            main = p.locator('[data-testid="stMain"]')
            # the page shows the step Next brought us to, in classroom mode, on one projector screen
            assert step.title in main.locator("h2").first.inner_text(), where
            assert _query(p.url).get("lesson") == les.slug and _query(p.url).get("step", "1") == str(n), (where, p.url)
            assert p.get_by_text(f"Lesson {les.number}: {les.title} — step {n} of {len(les.steps)}").count() >= 1, where
            assert p.get_by_role("switch", name="Classroom mode").first.is_checked(), where
            assert_no_errors(p)
            _box_in_view(p, main.locator("h2").filter(has_text=step.title), f"{where}: the title")
            _box_in_view(p, main.locator('[data-testid="stMarkdownContainer"]').filter(has_text=_plain(step.text)),
                         f"{where}: the text")
            _box_in_view(p, main.get_by_text("Try this.", exact=False), f"{where}: try this")
            _box_in_view(p, main.get_by_text("Question.", exact=False), f"{where}: the question")
            if step.figure is not None:
                _box_in_view(p, main.locator(".js-plotly-plot"), f"{where}: the figure")
            assert not p.evaluate(FITS, PROJECTOR), where
            if step.link is not None:
                with timed("teacher", f"{where}: its view ({step.link.page})"), frames.budget(f"{where}: its view"):
                    _open_the_view(p, les, n)
                with timed("teacher", f"{where}: back to Learn"):
                    _nav_to(p, "Learn")
                assert step.title in main.locator("h2").first.inner_text(), f"{where}: Learn did not come back to it"
            if i + 1 == len(steps):
                last = p.get_by_role("button", name="Next →")  # above and below the step
                assert last.count() == 2 and all(last.nth(k).is_disabled() for k in range(2)), "Next after the last step"
                break
            nxt, (to, m) = "Next lesson →" if n == len(les.steps) else "Next →", steps[i + 1]
            with timed("teacher", f"{where}: {nxt}"), frames.budget(f"{where}: {nxt}"):
                p.get_by_role("button", name=nxt).first.click()
                wait_until(p, f"{nxt} from {where} to move on", lambda: _query(p.url).get("lesson") == to.slug
                           and _query(p.url).get("step", "1") == str(m), 120, shot="walk_teacher_next_timeout")
                wait_idle(p, settle_ms=300)  # the move is seen (the URL): what is left is the step's drawing
    except BaseException:
        screenshot(p, "walk_teacher_failed")
        raise
    finally:
        ctx.close()


def _config_default(page: str, key: str):
    """The default of setting `key` of the experiment the Playground or the Lottery page configures: these
    pages write into their URL only what differs from it (and the Playground no link version)."""
    from explorer.lottery.experiment import LotteryConfig
    from explorer.playground.config import PlaygroundConfig

    spec = {"Playground": PlaygroundConfig, "Lottery": LotteryConfig}.get(page)
    return next((s.default for s in spec.settings() if s.name == key), None) if spec else None


def _open_the_view(p, les, n: int) -> None:
    """*Open this view*: the page of the step's link, in its state, with every control the try-this names;
    a lottery lesson's page on results, not empty."""
    step, where = les.step(n), f"lesson {les.number} step {n}"
    p.get_by_role("button", name=f"Open this view on {step.link.page}").click()
    p.wait_for_url(f"**/{step.link.path.split('?')[0]}**", timeout=IDLE_TIMEOUT)
    wait_idle(p)
    assert_no_errors(p)
    got = _query(p.url)
    differs = {k: v for k, v in step.link.query.items() if k != "v" and got.get(k) != v
               and (k in got or str(_config_default(step.link.page, k)) != v)}
    assert not differs, f"{where}: {step.link.page} opened without {differs} ({p.url})"
    if les.number in (5, 8):  # the lottery lessons open on the shipped results
        assert NO_RESULTS not in _main_text(p), f"{where}: {step.link.page} opened empty"
        assert p.locator(".js-plotly-plot").count() > 0, f"{where}: no chart of the results"
    names, t0 = named_controls(step.try_this), time.monotonic()
    missing = _controls_missing(p, names)
    while missing and time.monotonic() - t0 < 180:  # the Playground's Play comes with the worker's first frame
        p.wait_for_timeout(500)
        missing = _controls_missing(p, names)
    if missing:
        screenshot(p, f"walk_teacher_{les.slug}_{n}_view")
    assert not missing, f"{where}: its try-this names {missing}, which {step.link.page} does not show"
    if (les.number, n) in ((5, 1), (8, 1)):
        screenshot(p, f"walk_teacher_{les.slug}_{n}_view")


# ---- the researcher --------------------------------------------------------------------------------------------

USER_FILE = ROOT / "tests" / "user_models.py"
TORCHVISION = ("resnet18", "mobilenet_v3_small") if LONG else ("resnet18",)
FILE_CLASSES = ("LongSkipMLP", "BranchyNet") if LONG else ("LongSkipMLP",)


def reference_levels(spec: str, g: str, depth: int | None = None) -> int:
    """The level count of `spec` at `g`, counted here: 1 + the longest path from an input over the arcs of
    the library's graph (Kahn's order), which must also be the library's own depth."""
    from explorer.graph import build_dag

    dag = build_dag(spec, g, depth if g == "block" else None)
    preds, succs = defaultdict(list), defaultdict(list)
    for a in dag.arcs:
        preds[a.dst].append(a.src)
        succs[a.src].append(a.dst)
    waiting = {n.id: len(preds[n.id]) for n in dag.nodes}
    ready, level = [v for v, k in waiting.items() if k == 0], {}
    while ready:
        v = ready.pop()
        level[v] = max((level[u] + 1 for u in preds[v]), default=0)
        for w in succs[v]:
            waiting[w] -= 1
            if waiting[w] == 0:
                ready.append(w)
    assert len(level) == len(dag.nodes), f"{spec} ({g}): the graph has a cycle"
    assert max(level.values()) == dag.depth, f"{spec} ({g}): the library's depth {dag.depth}, counted {max(level.values())}"
    return dag.depth + 1


def _sidebar_radio(page, label: str, option: str, url: tuple[str, str] | None = None) -> None:
    """Choose `option` of the sidebar radio `label` (a person's click), and wait for the rerun (and, given `url`
    = (key, value), for the address bar to hold it: the run that applied the choice has ended)."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').filter(has=page.get_by_text(label, exact=True))
    box.get_by_text(option, exact=True).click()
    if url is not None:
        wait_until(page, f"{label} {option} in the address bar", lambda: _query(page.url).get(url[0]) == url[1], 300,
                   shot="walk_radio_timeout")
    wait_idle(page)


def _metric(page, label: str) -> str:
    m = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))).first
    return m.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _slider_max(page, label: str) -> int:
    s = page.locator('[data-testid="stSlider"]').filter(has=page.get_by_text(label, exact=True)).first
    return int(s.inner_text().split()[-1])  # label, value, then the ends of its range: the last is its maximum


DAG_TITLE = """() => {
    for (const p of document.querySelectorAll('.js-plotly-plot'))
        if ((p.data || []).some(t => t.name === 'nodes')) return (p.layout.title && (p.layout.title.text || p.layout.title)) || '';
    return '';
}"""


def _check_architecture(page, spec: str, g: str, what: str) -> None:
    assert_no_errors(page)
    ref = reference_levels(spec, g, 2)
    shown = _metric(page, "levels").replace(",", "")
    assert shown == str(ref), f"{what}: the page shows {shown} levels, the graph has {ref}"
    title = page.evaluate(DAG_TITLE)  # and the graph drawn says so too: x runs over levels 0..L
    assert re.search(rf"levels 0\.\.{ref - 1}(?!\d)", title), f"{what}: the graph's title says {title!r}, the graph has {ref} levels"


def _check_decomposition(page, spec: str, g: str, what: str) -> None:
    assert_no_errors(page)
    depth = reference_levels(spec, g) - 1
    assert _slider_max(page, "level l") == depth, f"{what}: the level slider ends at {_slider_max(page, 'level l')}, not {depth}"
    badge = page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="verified")
    assert badge.count() == 1 and badge.first.inner_text().startswith("✓ verified"), f"{what}: no verified badge"


def test_researcher_opens_a_torchvision_model_and_a_model_file(page, app_url):
    frames = Frames(page)
    try:
        with timed("researcher", "Architecture"):
            open_page(page, app_url, "Architecture")
        for tv in TORCHVISION:
            with timed("researcher", f"{tv} op (Architecture)"), frames.budget(f"{tv} op on Architecture"):
                if page.get_by_text("torchvision model", exact=True).count() == 0:
                    _sidebar_radio(page, "Model source", "torchvision (random init)", ("src", "torchvision"))
                if tv != "resnet18":
                    pick(page, "torchvision model", tv)
            assert tv in page.locator('[data-testid="stMain"]').inner_text()
            _check_architecture(page, f"torchvision:{tv}", "op", f"{tv} op on Architecture")
            with timed("researcher", f"{tv} block (Architecture)"), frames.budget(f"{tv} block on Architecture"):
                _sidebar_radio(page, "Granularity", "block", ("g", "block"))
            _check_architecture(page, f"torchvision:{tv}", "block", f"{tv} block on Architecture")
            with timed("researcher", f"{tv} op (Decomposition)"), frames.budget(f"{tv} op on Decomposition"):
                _nav_to(page, "Decomposition")
            assert _query(page.url).get("model") == tv and _query(page.url).get("g") == "op", page.url
            _check_decomposition(page, f"torchvision:{tv}", "op", f"{tv} op on Decomposition")
            screenshot(page, f"walk_researcher_{tv}_decomposition")
            _nav_to(page, "Architecture")

        with timed("researcher", "upload the model file"):
            _sidebar_radio(page, "Model source", "Python file")
            page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type="file"]').set_input_files(
                str(USER_FILE))
            sidebar = page.locator('[data-testid="stSidebar"]')
            wait_until(page, "the uploaded code, shown before it runs", lambda: "class LongSkipMLP" in sidebar.inner_text(),
                       180, shot="walk_researcher_upload_timeout")
            wait_idle(page)
            page.get_by_role("button", name="Run this model file").click()
            wait_until(page, "the stored file's classes", lambda: sidebar.get_by_text(
                "Model class (models folder)", exact=True).count() > 0, 180, shot="walk_researcher_upload_timeout")
            wait_idle(page)
        for cls in FILE_CLASSES:
            box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
                has=page.get_by_text("Model class (models folder)", exact=True))
            if not box.inner_text().strip().splitlines()[-1].startswith(cls):
                box.click()
                page.get_by_role("option").filter(has_text=re.compile(rf"^{cls}\s")).first.click()
                wait_idle(page)
            spec = f"{USER_FILE}:{cls}"  # the same code as the uploaded copy in the server's models folder
            for g in ("op", "unit", "block"):
                with timed("researcher", f"{cls} {g} (Architecture)"), frames.budget(f"{cls} {g} on Architecture"):
                    _sidebar_radio(page, "Granularity", g, ("g", g))
                assert cls in page.locator('[data-testid="stMain"]').inner_text()
                _check_architecture(page, spec, g, f"{cls} {g} on Architecture")
            with timed("researcher", f"{cls} unit (Decomposition)"), frames.budget(f"{cls} unit on Decomposition"):
                _nav_to(page, "Decomposition")
            assert _query(page.url).get("g") == "unit" and _query(page.url)["model"].endswith(f".py:{cls}"), page.url
            _check_decomposition(page, spec, "unit", f"{cls} unit on Decomposition")
            with timed("researcher", f"{cls} op (Decomposition)"), frames.budget(f"{cls} op on Decomposition"):
                _sidebar_radio(page, "Granularity", "op", ("g", "op"))
            _check_decomposition(page, spec, "op", f"{cls} op on Decomposition")
            screenshot(page, f"walk_researcher_{cls}_decomposition")
            _nav_to(page, "Architecture")
    except BaseException:
        screenshot(page, "walk_researcher_failed")
        raise


# ---- the demo-giver --------------------------------------------------------------------------------------------

DEMO_MODEL, DEMO_NODE = "mlp_skip", "fc2"  # a residual branch: fc2 -> relu_1 -> fc3 goes, the skip keeps out fed


def _shown(n: int) -> str:
    """A count as the Prune page's metrics write it."""
    return next((f"{n / k:.2f}{u}" for u, k in (("M", 1e6), ("k", 1e3)) if abs(n) >= k), str(n))


def demo_reference() -> dict[str, int]:
    """What pruning DEMO_NODE removes: nodes and MACs as the library counts them, parameters counted here as
    the entries of the removed nodes' modules (torch's own numel), and the model's parameter total."""
    import torch

    from explorer import models
    from explorer.graph import build_dag
    from explorer.pruning.apply import removal_counts
    from explorer.pruning.selection import Selection
    from explorer.pruning.validity import check

    dag, lm = build_dag(DEMO_MODEL, "op"), models.load_cached(DEMO_MODEL, 0)
    v = check(dag, Selection("op", (DEMO_NODE,), (), DEMO_MODEL))
    lib = removal_counts(lm.model, dag, v)
    mods = {dag.node(n).module for n in v.removed_nodes if dag.node(n).module}
    params = sum(p.numel() for m in mods for p in lm.model.get_submodule(m).parameters(recurse=False))
    assert lib["params"] == params, f"the library counts {lib['params']:,} parameters removed, torch {params:,}"
    linear = [lm.model.get_submodule(m) for m in mods]  # mlp_skip's branch is Linear maps: in × out MACs each
    assert all(isinstance(m, torch.nn.Linear) for m in linear) and \
        lib["macs"] == sum(m.in_features * m.out_features for m in linear), (lib, mods)
    total = sum(p.numel() for p in lm.model.parameters())
    return {"nodes": len(v.removed_nodes), "params": params, "macs": lib["macs"], "total": total, "modules": mods}


@pytest.mark.timeout(1800)  # a state-bound walk of minutes: past pytest.ini's 600 s on a busy machine
def test_demo_giver_clicks_prunes_exports_and_retrains(page, own_app_url, tmp_path):
    from explorer.pruning.export import describe, load_pruned, read_selection

    ref = demo_reference()
    kept = ref["total"] - ref["params"]
    try:
        with timed("demo", "open Prune"):
            open_page(page, own_app_url, f"Prune?v=1&model={DEMO_MODEL}&g=op")
            page.wait_for_selector(".js-plotly-plot", timeout=IDLE_TIMEOUT)
            wait_idle(page)
        assert_no_errors(page)
        assert selection_heading(page) == "Selection: 0 nodes, 0 arcs"
        with timed("demo", f"click {DEMO_NODE}"):
            click_marker(page, "nodes", DEMO_NODE)
        assert selection_heading(page) == "Selection: 1 node, 0 arcs"
        assert selected_caption(page) == f"Selected: 1 node ({DEMO_NODE})"
        assert _metric(page, "nodes removed") == str(ref["nodes"])
        assert _metric(page, "params removed") == _shown(ref["params"]), (_metric(page, "params removed"), ref)
        assert _metric(page, "MACs removed") == _shown(ref["macs"]), (_metric(page, "MACs removed"), ref)
        screenshot(page, "walk_demo_selected")

        with timed("demo", "Prune"):
            page.get_by_role("button", name="Prune", exact=True).click()
            wait_until(page, "the pruned network", lambda: page.get_by_role("button", name="Export (zip)").count() > 0,
                       shot="walk_demo_prune_timeout")
            wait_idle(page)
        assert_no_errors(page)
        with timed("demo", "export"):
            with page.expect_download(timeout=IDLE_TIMEOUT) as dl:
                page.get_by_role("button", name="Export (zip)").click()
            with zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes())) as z:
                z.extractall(tmp_path)
            folder = tmp_path / dl.value.suggested_filename.removesuffix(".zip")  # the zip holds the export's folder
            got = load_pruned(folder)  # the library reads the download back
        assert describe(folder).model == DEMO_MODEL and read_selection(folder).nodes == (DEMO_NODE,)
        assert sum(int((got.mask[n] != 0).sum()) if n in got.mask else p.numel()
                   for n, p in got.model.named_parameters()) == kept, "the export keeps another count than the page said"
        for m in ref["modules"]:
            assert all(not p.any() for p in got.model.get_submodule(m).parameters(recurse=False)), f"{m} survives the export"

        with timed("demo", "Retrain to the verdict"):
            page.get_by_role("button", name="Retrain: ticket vs dense vs controls").click()
            page.wait_for_url("**/Train**", timeout=IDLE_TIMEOUT)
            wait_idle(page, live=True)
            wait_until(page, "the started comparison", lambda: page.get_by_text("Started from the Prune page").count() > 0)
            wait_until(page, "every run of the group to finish", lambda: page.get_by_text("all finished").count() > 0,
                       900, shot="walk_demo_train_timeout")
            wait_idle(page)
        assert_no_errors(page)
        verdict = page.locator('[data-testid="stMarkdown"]', has_text="Verdict.").first.inner_text()
        size = f"{kept:,} of {ref['total']:,} parameters kept"
        assert " vs dense " in verdict and f"({size})" in verdict, verdict  # the ticket against the dense run
        controls = verdict.split("Controls:")[1]
        for control in ("reinit control", "random-mask control"):
            assert f"{control} ({size}, as the ticket)" in controls, (control, verdict)
        screenshot(page, "walk_demo_verdict")
    except BaseException:
        screenshot(page, "walk_demo_failed")
        raise
