"""Classroom mode: the app on a projector. Larger type and figures, the expert controls hidden, and
captions that say what to look at. A sidebar toggle turns it on, and so does `classroom=1` in a link
(`ui.links` carries the flag on every linked page, so a shared lesson link opens in classroom mode).

    render(slot)                 # app.py, after the page ran: the toggle, and the style when on
    if not classroom(): ...      # a page, before drawing an expert expander
    look("the orange curves")    # a page: "Look at ..." on the projector, nothing otherwise
    st.plotly_chart(scaled(fig)) # a figure: bigger fonts and height when on
"""

from __future__ import annotations

import threading
import weakref
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
[data-testid="stMain"] [data-baseweb="select"] div, [data-testid="stMain"] input { font-size: 1.15rem; }
[data-testid="stMainBlockContainer"] { padding: 2.5rem 2rem 2rem 2rem; }  /* the first screen is the projector's */
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


def _fonts(x: Any, s: float) -> None:
    """Every explicit font size in a plotly JSON tree times `s` (in place)."""
    if isinstance(x, dict):
        for k, v in x.items():
            if k.endswith("font") and isinstance(v, dict) and isinstance(v.get("size"), (int, float)):
                v["size"] = v["size"] * s
            _fonts(v, s)
    elif isinstance(x, list):
        for v in x:
            _fonts(v, s)


def zoomed(fig: Any, s: float, height: int | None = None) -> Any:
    """`fig` drawn `s` times larger: fonts, margins and — for a figure laid out in pixels (autosize off,
    a width set: a matrix whose margins hold its labels) — its width, height and markers too, so every
    label keeps the room it was given. Plotly sizes legends and margins for the fonts it is handed, so
    text is scaled here, never with CSS (which grows the glyphs after plotly made room for them). `height`:
    the zoomed figure's height instead."""
    import plotly.graph_objects as go

    d = fig.to_plotly_json()
    lay = d.setdefault("layout", {})
    _fonts(d, s)
    base = (lay.get("font", {}).get("size") or 12) * s
    lay["font"] = {**lay.get("font", {}), "size": base}
    # Streamlit's plotly theme sizes the legend and tick labels itself unless the figure does: set them
    lay["legend"] = {**lay.get("legend", {}), "font": {"size": base, **lay.get("legend", {}).get("font", {})}}
    for ax in [k for k in lay if k.startswith(("xaxis", "yaxis"))] or ["xaxis", "yaxis"]:
        lay[ax] = {**lay.get(ax, {}), "tickfont": {"size": base, **lay.get(ax, {}).get("tickfont", {})}}
    lay["margin"] = {k: (v * s if isinstance(v, (int, float)) else v) for k, v in lay.get("margin", {}).items()}
    if lay.get("autosize") is False and lay.get("width"):
        lay["width"], lay["height"] = int(lay["width"] * s), int((lay.get("height") or 450) * s)
        for tr in d.get("data", []):
            m = tr.get("marker") or {}
            if isinstance(m.get("size"), (int, float)):
                m["size"] = m["size"] * s
            bar = tr.get("colorbar") or {}
            for k in ("thickness", "len") if bar.get("lenmode") == "pixels" else ("thickness",):
                if isinstance(bar.get(k), (int, float)):
                    bar[k] = bar[k] * s
    elif lay.get("height"):
        lay["height"] = int(lay["height"] * HEIGHT_SCALE)
    if height is not None:
        lay["height"] = int(height)
    return go.Figure(d)


_ZOOMED: dict[int, tuple[Any, Any]] = {}  # id(figure) -> (a weak reference to it, its classroom zoom)
_LOCK = threading.Lock()  # sessions run in threads of one process


def scaled(fig: Any) -> Any:
    """`fig` with larger type (and size) in classroom mode (unchanged otherwise). A new figure: a cached one
    (`ui.cache.dag_figure`) is never changed, and its zoom is kept beside it while it lives, for the next
    rerun (treat both as read-only)."""
    if not classroom():
        return fig
    key = id(fig)
    with _LOCK:
        ref, z = _ZOOMED.get(key, (None, None))
    if ref is None or ref() is not fig:
        z = zoomed(fig, FONT_SCALE)
        with _LOCK:
            _ZOOMED[key] = (weakref.ref(fig, lambda _r, k=key: _ZOOMED.pop(k, None)), z)
    return z
