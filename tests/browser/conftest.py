"""Browser harness: the real app (`streamlit run app.py`) driven by Playwright in Debian's Chromium.

Fixtures
- `app_url` (session): starts `streamlit run app.py` on a free port with
  `EXPLORER_DATA_DIR` in a temp dir, waits for `/_stcore/health`, yields the URL and
  kills the server's whole process group afterwards (workers the app started included).
- `browser` (session): headless Chromium at /usr/bin/chromium.
- `class_url` (module): `python -m explorer serve --classroom` on a free port (join code
  `maple-42`, teacher code `oak-tree-7`), its own data folder; no warm-up (the join form comes first).
- `class_server` (module): another such server, yielded with its data folder: (url, dir).
- `page`: a fresh 1400×1000 page; console errors are collected in `page.console_errors`.

- `app`: the helpers bound to this test's page: `app.open("Architecture")`, `app.idle()`,
  `app.shot("name")`, `app.no_errors()`, `app.page`.

Helpers live in `browser_harness.py` (`from browser_harness import wait_idle, screenshot, ...`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_harness import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, IDLE_TIMEOUT, ROOT,  # noqa: E402
                             assert_no_errors, open_page, screenshot, wait_idle)

SERVER_START_TIMEOUT = 90  # s; two shared cores make a cold start slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


@pytest.fixture(scope="session")
def app_url(browser, tmp_path_factory):
    yield from _serve(browser, tmp_path_factory.mktemp("explorer-data"), "streamlit-server.log", warm_up=True)


@pytest.fixture(scope="module")
def own_app_url(browser, tmp_path_factory):
    """A server and data folder of this module's own, for tests that train in the background: their
    runs and jobs neither queue behind another module's nor show up in its store."""
    yield from _serve(browser, tmp_path_factory.mktemp("explorer-data-own"), "streamlit-server-own.log",
                      warm_up=True)


@pytest.fixture(scope="module")
def cold_app_url(browser, tmp_path_factory):
    """A server no session has visited yet: what a shared deep link meets after a restart."""
    yield from _serve(browser, tmp_path_factory.mktemp("explorer-data-cold"), "streamlit-server-cold.log",
                      warm_up=False)


CLASS_CODES = {"join": "maple-42", "teacher": "oak-tree-7"}


def class_command(port: int) -> list[str]:
    """The class server's command line, as the README gives it (codes `CLASS_CODES`)."""
    return [sys.executable, "-m", "explorer", "serve", "--classroom", "--address", "127.0.0.1", "--port",
            str(port), "--join-code", CLASS_CODES["join"], "--teacher-code", CLASS_CODES["teacher"]]


@pytest.fixture(scope="module")
def class_url(browser, tmp_path_factory):
    yield from _serve(browser, tmp_path_factory.mktemp("explorer-data-class"), "streamlit-server-class.log",
                      warm_up=False, command=class_command)


@pytest.fixture(scope="module")
def class_server(browser, tmp_path_factory):
    """A class server like `class_url`, and its data folder (for a test that puts work in its store): (url, dir)."""
    data = tmp_path_factory.mktemp("explorer-data-class-work")
    for url in _serve(browser, data, "streamlit-server-class-work.log", warm_up=False, command=class_command):
        yield url, data


def _serve(browser, data_dir: Path, log_name: str, warm_up: bool, command=None):
    """Start a server on a free port (`command(port)`: its command line; default `streamlit run app.py`),
    yield its URL once healthy, and stop its whole process group."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log_path = ARTIFACTS / log_name
    env = {**os.environ, "EXPLORER_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.setdefault("OMP_NUM_THREADS", "2")
    cmd = command(port) if command else [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # own process group: killed as a whole below
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode} before becoming healthy:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {SERVER_START_TIMEOUT}s:\n{_tail(log_path)}")
            time.sleep(0.5)
        if warm_up:
            _warm_up(browser, url)
        yield url
    finally:
        _stop(proc)
        # the app's queue worker runs in a session of its own (it outlives a server restart): stop this
        # folder's, so a module's unfinished background work does not load the machine for the next ones
        subprocess.run(["pkill", "-f", f"explorer.jobs.worker --data-dir {data_dir}"], check=False)


def _warm_up(browser, url: str) -> None:
    """Run app.py once. Until the main script has called st.navigation, a fresh Streamlit server
    routes a deep link (e.g. /Architecture) the old pages/-folder way, running that page alone
    without app.py; one visit to the root switches the server to st.navigation for good."""
    ctx = browser.new_context()
    try:
        p = ctx.new_page()
        p.goto(url, wait_until="domcontentloaded", timeout=IDLE_TIMEOUT)
        p.wait_for_selector('[data-testid="stSidebarNav"], [data-testid="stSidebarNavItems"]', timeout=IDLE_TIMEOUT)
        wait_idle(p)
    finally:
        ctx.close()


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group (workers) too
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _local(url: str) -> bool:
    """The app works offline: every request stays on this machine (or is an inline data/blob URL)."""
    from urllib.parse import urlparse

    u = urlparse(url)
    return u.scheme in ("data", "blob", "about") or u.hostname in ("127.0.0.1", "localhost", "::1")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    p = ctx.new_page()
    p.set_default_timeout(IDLE_TIMEOUT)
    p.console_errors = []  # type: ignore[attr-defined]
    p.external_requests = []  # type: ignore[attr-defined]
    p.on("console", lambda m: m.type == "error" and p.console_errors.append(m.text))  # type: ignore[attr-defined]
    p.on("request", lambda r: _local(r.url) or p.external_requests.append(r.url))  # type: ignore[attr-defined]
    try:
        yield p
    finally:
        ctx.close()


@pytest.fixture
def app(page, app_url):
    """The helpers bound to this test's page: `app.open("Architecture")`, `app.shot("name")`, ..."""

    class _App:
        url = app_url

        def __init__(self, p):
            self.page = p

        def open(self, path: str = "") -> None:
            open_page(self.page, app_url, path)

        def idle(self) -> None:
            wait_idle(self.page)

        def shot(self, name: str) -> Path:
            return screenshot(self.page, name)

        def no_errors(self) -> None:
            assert_no_errors(self.page)

    return _App(page)
