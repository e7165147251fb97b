"""Classroom mode: the app on a projector. Larger type and figures, the expert controls hidden, and
captions that say what to look at. A sidebar toggle turns it on, and so does `classroom=1` in a link
(`ui.links` carries the flag on every linked page, so a shared lesson link opens in classroom mode).

    render(slot)                 # app.py, after the page ran: the toggle, and the style when on
    if not classroom(): ...      # a page, before drawing an expert expander
    look("the orange curves")    # a page: "Look at ..." on the projector, nothing otherwise
    st.plotly_chart(scaled(fig)) # a figure: bigger fonts and height when on
"""

from __future__ import annotations

from typing import Any

import streamlit as st

CLASSROOM_KEY = "explorer.classroom"
FONT_SCALE = 1.35  # figure fonts in classroom mode
HEIGHT_SCALE = 1.2  # figure heights in classroom mode

STYLE = """
<style>
/* classroom mode: legible from the back of a room at 1280x720 */
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.5; }
[data-testid="stMain"] h1 { font-size: 2.6rem; }
[data-testid="stMain"] h2, [data-testid="stMain"] h3 { font-size: 1.9rem; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {
    font-size: 1.15rem !important; color: rgba(20, 20, 30, 0.85) !important; }
[data-testid="stWidgetLabel"] p { font-size: 1.15rem !important; }
[data-testid="stSidebar"] [data-testid="stMarkdownContainer"] p { font-size: 1.1rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
[data-testid="stMetricLabel"] p { font-size: 1.15rem !important; }
[data-testid="stAlertContainer"] p { font-size: 1.25rem; }
.js-plotly-plot .xtick text, .js-plotly-plot .ytick text { font-size: 15px !important; }
.js-plotly-plot .legendtext { font-size: 16px !important; }
.js-plotly-plot .textpoint text { font-size: 14px !important; }
[data-testid="stMain"] [data-baseweb="select"] div, [data-testid="stMain"] input { font-size: 1.15rem; }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }  /* the first screen is the projector's */
[data-testid="stHeader"] { background: transparent; }
</style>
"""


def classroom() -> bool:
    return bool(st.session_state.get(CLASSROOM_KEY, False))


def set_classroom(on: bool) -> None:
    st.session_state[CLASSROOM_KEY] = bool(on)


def _toggled(key: str) -> None:
    set_classroom(bool(st.session_state.get(key)))


def render(slot: Any = None) -> None:
    """The sidebar toggle (in `slot`, a container made before the page ran, so it sits at the top of the
    sidebar yet shows the state the page's link set) and, when on, the classroom style."""
    on = classroom()
    key = f"classroom.toggle.{int(on)}"  # a new widget when a link flips the mode: it then shows the mode
    (slot or st.sidebar).toggle("Classroom mode", value=on, key=key, on_change=_toggled, args=(key,),
                                help="larger type and figures for a projector, expert controls hidden, captions "
                                     "that say what to look at; links made now carry it (classroom=1)")
    if on:
        st.html(STYLE)


def look(text: str) -> None:
    """In classroom mode, a caption saying what to look at; nothing otherwise."""
    if classroom():
        st.info(f"**Look at:** {text}", icon=":material/visibility:")


def scaled(fig: Any) -> Any:
    """`fig` with larger fonts and height in classroom mode (unchanged otherwise)."""
    if not classroom():
        return fig
    size = (fig.layout.font.size or 12) * FONT_SCALE
    fig.update_layout(font={"size": size}, title_font={"size": size * 1.1})
    top = fig.layout.margin.t
    if top is not None:  # the bigger title and a legend above the plot need the room
        fig.update_layout(margin={"t": int(top * 1.8)})
    if fig.layout.height:
        fig.update_layout(height=int(fig.layout.height * HEIGHT_SCALE))
    return fig
