"""Entering pages through `app.py`'s navigation, also from a deep link.

Until some session has run `app.py`, Streamlit's legacy discovery of the `pages/` folder
serves a deep link such as `/Train` by running that page alone: no navigation menu, no page
config. A page calls `through_navigation(__file__)` first; in that case it re-enters
through `app.py`, which then switches to the page the link named.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

NAV_FLAG = "explorer.nav"  # set by app.py on every run, before the page runs
GOTO = "explorer.goto"  # the page file a deep link asked for


def through_navigation(page_file: str) -> None:
    import pandas  # noqa: F401 - see below
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    # pandas is imported in full before the page can draw: plotly takes pandas from `sys.modules`
    # without importing it, so a page drawing while another session's thread is halfway through
    # importing pandas failed ("partially initialized module 'pandas' has no attribute 'Series'").
    # This import waits for that one to finish.

    ctx = get_script_run_ctx()
    if ctx is None or Path(ctx.main_script_path).name != "app.py" or st.session_state.get(NAV_FLAG):
        return  # run by app.py's navigation, or on its own (AppTest of a single page)
    st.session_state[GOTO] = (f"pages/{Path(page_file).name}", st.query_params.to_dict())
    st.switch_page("app.py")


def mark_navigation() -> None:
    st.session_state[NAV_FLAG] = True


def pending_page() -> tuple[str, dict[str, str]] | None:
    """The page a deep link asked for and the link's query (its view: `ui.links`), once."""
    return st.session_state.pop(GOTO, None)
