"""A class server started as the README says (`python -m explorer serve --classroom ...`), in a real
browser: the join form comes before any page; a wrong code is refused; a student who joined keeps
their identity in the link through navigation and a reload; the shared view's link does not carry
it; a hand-edited identity is refused; the Python-file model source is gone; and WebSockets from a
Host the server was not started for are refused (DNS rebinding)."""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import parse_qs, urlparse

from browser_harness import assert_no_errors, error_texts, screenshot, wait_idle
from conftest import CLASS_CODES


def _who(url: str) -> str | None:
    return parse_qs(urlparse(url).query).get("who", [None])[0]


def _join(page, url: str, code: str, name: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page)
    page.get_by_label("Class code", exact=True).fill(code)
    page.get_by_label("Display name", exact=True).fill(name)
    page.get_by_role("button", name="Join").click()
    wait_idle(page)


def _badge(page) -> str:
    loc = page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]').filter(has_text="in this class")
    return loc.first.inner_text() if loc.count() else ""


def test_join_keep_identity_and_refuse_a_forged_one(class_url, page, browser):
    page.goto(class_url, wait_until="domcontentloaded")
    wait_idle(page)
    assert page.get_by_role("heading", name="Join the class").count() == 1
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # no page before joining
    screenshot(page, "class_join")

    _join(page, class_url, "not-the-code", "Ada")
    assert any("not this class's code" in e for e in error_texts(page)) and _who(page.url) is None

    _join(page, class_url, CLASS_CODES["join"], "Ada")
    token = _who(page.url)
    assert token and "Ada" in _badge(page) and "student" in _badge(page)
    assert_no_errors(page)

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Architecture", exact=True).click()
    wait_idle(page)
    assert "/Architecture" in page.url and _who(page.url) == token  # the page's own link keeps the identity
    radio = page.locator('[data-testid="stRadio"]').filter(has_text="Model source").first
    assert "ONNX upload" in radio.inner_text() and "Python file" not in radio.inner_text()

    page.get_by_text("Share this view").first.click()
    shared = page.locator('[data-testid="stPopoverBody"] code').first
    shared.wait_for(timeout=10_000)
    assert "who=" not in shared.inner_text() and "model=" in shared.inner_text()  # a view, not a sign-in
    page.keyboard.press("Escape")

    page.reload(wait_until="domcontentloaded")
    wait_idle(page)
    assert "Ada" in _badge(page) and page.get_by_role("heading", name="Join the class").count() == 0
    screenshot(page, "class_student_architecture")

    sid, role, mac = token.split(".")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = ctx.new_page()
        other.goto(f"{class_url}/?who={sid}.teacher.{mac}", wait_until="domcontentloaded")
        wait_idle(other)
        assert any("not valid on this server" in e for e in error_texts(other))
        assert other.get_by_role("heading", name="Join the class").count() == 1
    finally:
        ctx.close()


def _upgrade(url: str, host: str) -> str:
    """The status line of a WebSocket upgrade of Streamlit's stream sent with Host/Origin `host`."""
    u = urlparse(url)
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{u.port}\r\nOrigin: http://{host}:{u.port}\r\n"
           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n")
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(req.encode())
        return s.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_websockets_only_from_the_hosts_the_class_was_started_for(class_url):
    assert " 101 " in _upgrade(class_url, "127.0.0.1")
    assert " 101 " not in _upgrade(class_url, "evil.example")
