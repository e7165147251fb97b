"""Sessions at once, in a real browser against one fresh server of this module's own: the five links
of issue 17 opened together in five browser contexts each show their lone-session facts; a
token-input transformer (a user file in the models folder) opens on Decomposition with a verify
result; a slow user model shows its stages and can be left to finish in the background."""

from __future__ import annotations

import re
import shutil
import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_harness import ROOT, error_texts, screenshot, wait_idle, wait_until  # noqa: E402

pytestmark = pytest.mark.browser
LONG = 900_000  # ms: five sessions on two shared cores, one of them a 280,000-arc graph
LINKS = [("Architecture", "mlp_skip", "unit"), ("Prune", "lottery_mlp", "unit"), ("Architecture", "resnet_tiny", "op"),
         ("Decomposition", "densenet_tiny", "op"), ("Prune", "cnn1d", "op")]
SLOW = '''"""A model that takes its time in the sandbox's child process (nowhere else)."""
import sys
import time

import torch


class SlowNet(torch.nn.Sequential):
    input_shape = (4,)

    def __init__(self):
        if sys.argv and sys.argv[0].endswith("sandbox.py"):  # the sandboxed check of the file
            time.sleep(120)
        super().__init__(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
'''


@pytest.fixture(scope="module")
def fresh(browser, tmp_path_factory):
    """(url, data folder) of a server no session has visited, with the decoders and a slow model in its
    models folder."""
    from tests.browser.conftest import _serve

    data = tmp_path_factory.mktemp("explorer-data-sessions")
    (data / "models").mkdir()
    shutil.copy(ROOT / "tests" / "models" / "decoders.py", data / "models" / "decoders.py")
    (data / "models" / "slow.py").write_text(SLOW)
    for url in _serve(browser, data, "streamlit-server-sessions.log", warm_up=False):
        yield url, data


def _context_page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = ctx.new_page()
    p.set_default_timeout(LONG)
    return ctx, p


def _metrics(page) -> dict[str, str]:
    out = {}
    for m in page.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def _texts(page, testid: str) -> list[str]:
    return [e.inner_text() for e in page.locator(f'[data-testid="{testid}"]').all()]


def _alone(model: str, g: str) -> dict:
    """What a lone session's page shows of this graph, from the library."""
    from explorer.graph import build_dag

    s = build_dag(model, g).summary()
    return {"nodes": f"{s['nodes']:,}", "arcs": f"{s['arcs']:,}", "levels": f"{s['levels']}",
            "skip arcs": f"{s['skip_arcs']:,}"}


def test_five_sessions_opened_at_once_show_their_lone_session_pages(browser, fresh):
    url, _ = fresh
    opened = [_context_page(browser) for _ in LINKS]
    for (_, p), (page, model, g) in zip(opened, LINKS):  # all five requests leave before any page is done
        p.goto(f"{url}/{page}?v=1&model={model}&g={g}", wait_until="commit")
    try:
        for (_, p), (page, model, g) in zip(opened, LINKS):
            wait_idle(p, timeout=LONG)
            shot = screenshot(p, f"sessions_{page}_{model}")
            assert not error_texts(p), (page, model, error_texts(p), shot)
            warnings = " ".join(_texts(p, "stAlertContentWarning"))
            assert "recorded from one real forward pass" not in warnings, (page, model, warnings)
            facts = _alone(model, g)
            if page == "Architecture":
                shown = _metrics(p)
                assert {k: shown.get(k) for k in facts} == facts, (model, shown, facts)
            elif page == "Prune":
                assert any(c.startswith(f"{facts['skip arcs']} skip arc") for c in _texts(p, "stCaptionContainer")), \
                    (model, _texts(p, "stCaptionContainer"))
                assert _metrics(p).get("nodes removed") == "0"
            else:  # Decomposition: the lone page's verify badge and value
                badge = _texts(p, "stAlertContentSuccess")
                assert badge and badge[0].startswith("✓ verified"), badge
                assert float(_metrics(p)["‖value‖ intact"]) > 0
    finally:
        for ctx, _ in opened:
            ctx.close()


def _user_file(data: Path, name: str) -> str:
    """A link's model value for a class of a file in the models folder."""
    return urllib.parse.quote(f"{data / 'models' / name}")


def test_a_gpt2_user_file_opens_on_decomposition_with_a_verify_result(browser, fresh):
    url, data = fresh
    ctx, p = _context_page(browser)
    try:
        p.goto(f"{url}/Decomposition?v=1&src=file&model={_user_file(data, 'decoders.py:TinyGPT2')}",
               wait_until="commit")
        wait_idle(p, timeout=LONG)
        shot = screenshot(p, "sessions_decomposition_gpt2")
        assert not error_texts(p), (error_texts(p), shot)
        badge = _texts(p, "stAlertContentSuccess")
        assert badge and badge[0].startswith("✓ verified") and "forward error" in badge[0], (badge, shot)
        assert any("token ids" in c for c in _texts(p, "stCaptionContainer")), shot
        assert re.match(r"[\d.]+$", _metrics(p)["max |difference|"])
    finally:
        ctx.close()


def test_a_slow_user_model_shows_its_stage_and_can_be_left_to_finish(browser, fresh):
    url, data = fresh
    ctx, p = _context_page(browser)
    try:
        p.goto(f"{url}/Architecture?v=1&src=file&model={_user_file(data, 'slow.py:SlowNet')}", wait_until="commit")
        main = p.locator('[data-testid="stMain"]').first
        seen: list[str] = []

        def stage_shown() -> bool:  # the model sits in this stage for two minutes
            seen.append(main.text_content() or "")
            return "sandboxed child process: importing the file and constructing the model" in seen[-1]
        wait_until(p, "the progress box", stage_shown, limit_s=300, shot="sessions_slow_no_status")
        assert "Opening slow.py:SlowNet…" in seen[-1], seen[-1]  # the spinner
        assert re.search(r"constructing the model — \d+ s \(\d+ s in all\)", seen[-1]), seen[-1]  # elapsed
        screenshot(p, "sessions_slow_progress")
        p.get_by_role("button", name="Stop waiting").click()
        wait_idle(p, timeout=LONG)
        info = " ".join(_texts(p, "stAlertContentInfo"))
        assert "Stopped waiting for opening slow.py:SlowNet" in info and "goes on in the background" in info, info
        p.get_by_text("Zoo (small models)", exact=True).click()  # the session stays usable
        wait_idle(p, timeout=LONG)
        assert not error_texts(p), error_texts(p)
        assert _metrics(p).get("nodes") == _alone("resnet_tiny", "op")["nodes"]
    finally:
        ctx.close()


def test_a_model_picked_before_the_first_run_ends_is_the_one_shown(browser, cold_app_url):
    """On a fresh server the first run is long (torch's import, the first trace): a model chosen in the
    sidebar meanwhile must be the one the page ends on, not the page's default."""
    ctx, p = _context_page(browser)
    try:
        p.goto(f"{cold_app_url}/Architecture", wait_until="commit")
        box = p.locator('[data-testid="stSelectbox"]').filter(has=p.get_by_text("Zoo model", exact=True)).first
        box.wait_for()
        box.click()
        p.get_by_role("option", name="mlp_skip", exact=True).click()
        wait_idle(p, timeout=LONG)
        shot = screenshot(p, "sessions_early_pick")
        assert not error_texts(p), (error_texts(p), shot)
        assert "model=mlp_skip" in p.url, (p.url, shot)
        assert any(c.startswith("mlp_skip (op)") for c in _texts(p, "stCaptionContainer")), shot
        assert _metrics(p).get("nodes") == _alone("mlp_skip", "op")["nodes"], (_metrics(p), shot)
    finally:
        ctx.close()
