"""Real browser: a deep link (e.g. a shared /Prune URL) opened on a server no session has
visited yet still gets the app's navigation and page config (see ui/nav.py)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from browser_harness import assert_no_errors, screenshot, wait_idle

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path,title", [("Train", "Train & Compare"), ("Architecture", "Architecture")])
def test_deep_link_on_a_cold_server_gets_the_navigation(page, cold_app_url, path, title):
    page.goto(f"{cold_app_url}/{path}", wait_until="domcontentloaded")
    page.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_errors(page)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Home" in nav and "Prune" in nav, nav  # app.py's st.navigation, not the bare pages/ listing
    assert urlparse(page.url).path.rstrip("/").endswith(path)  # the page then writes its view into the query
    screenshot(page, f"deep_link_{path.lower()}")
