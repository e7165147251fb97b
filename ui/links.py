"""Every page's view in its address bar, and a link that opens it again (`explorer.links` owns the
schema; this module is the one place that touches `st.query_params` for the model pages).

    LINK = (Setting(Param("l", int, 1, lo=1, label="level"), "dec.level"), ...)
    with guard(), linked("dec", LINK):
        main()

On entry, a URL the session did not write itself (a link pasted or opened) is applied: the model
(source, name, granularity, block depth, seed) goes to `ui.state`, each page setting to its widget's
session key, and whatever could not be used is listed in a notice on the page. On a normal exit
the page's current settings are written back, so the address bar always holds the view, and the
sidebar's "Share this view" box shows the whole link with a copy button.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import streamlit as st

from explorer.links import MAX_URL_CHARS, MODEL_PARAMS, LinkDoc, Param, encode, url_length
from explorer.links.codec import check_model
from explorer.links.pages import CLASSROOM, PAGES
from ui import state
from ui.classroom import classroom, set_classroom
from ui.join import carried, without_identity

WRITTEN = "links.written"  # the query this session last wrote (so its own URL is not re-applied)
RECENT = "links.recent"  # [(query, monotonic time)] this session wrote in the last LAG_S
LAG_S = 10.0  # how long the browser's address bar may lag this session's own writes
APPLIED = "links.applied"  # (page, query) of the last link applied
NOTICES = "links.notices"  # what the last applied link carried and could not be used
FROM_LINK = "links.from_link"  # session keys the last applied link set
SELECTION_FROM_LINK = "links.selection_from_link"  # the current selection came from a link
REPLACE = "links.replace"  # the next link applied replaces the view: settings it leaves out go to their defaults


@dataclass(frozen=True)
class Setting:
    """A page setting in the link: its `param` and the widget's session `key`; or, for settings that
    are not one widget, `put(value)` to apply it and `get() -> value` to read it."""

    param: Param
    key: str = ""
    put: Callable[[Any], None] | None = None
    get: Callable[[], Any] | None = None
    clear: Callable[[], None] | None = None  # back to the default, for a `put` setting a preset leaves out

    def apply(self, value: Any) -> None:
        if self.put is not None:
            self.put(value)
        else:
            st.session_state[self.key] = value

    def read(self) -> Any:
        return self.get() if self.get is not None else st.session_state.get(self.key)


def _model_settings(page: str) -> tuple[Setting, ...]:
    """The model keys every page shares: they live in `ui.state`; the page's picker widgets are
    reset so that they take the state's value as their default."""
    by = {p.key: p for p in MODEL_PARAMS}
    ss = st.session_state

    def put_g(g: str) -> None:
        state.pick(granularity=g)
        ss[f"{page}.granularity"] = g

    def get_g() -> Any:
        return ss.get(f"{page}.granularity", state.MODEL.get() and state.model().granularity)

    def put_depth(d: int) -> None:
        state.pick(depth=int(d))
        ss.pop(f"{page}.depth", None)

    def get_depth() -> Any:
        return state.model().depth if get_g() == "block" else None

    def put_seed(s: int) -> None:
        state.pick(seed=int(s))
        ss.pop(f"{page}.seed", None)

    def get(k: str) -> Any:  # what the session's model key puts in a link
        return state.model().to_link().get(k) if state.MODEL.get() else None

    return (Setting(by["src"], get=lambda: get("src"), put=lambda v: None),  # applied with the model
            Setting(by["model"], get=lambda: get("model"), put=lambda v: None),
            Setting(by["g"], put=put_g, get=get_g),
            Setting(by["depth"], put=put_depth, get=get_depth),
            Setting(by["seed"], put=put_seed, get=lambda: get("seed")))


def _apply_model(page: str, values: dict[str, Any], notices: list[str]) -> None:
    if "model" not in values:
        if "src" in values or "g" in values:
            values.pop("src", None)
        return
    src = values.get("src", "zoo")
    why = check_model(src, values["model"])
    if why is not None:
        notices.append(f"ignored the model: {why}")
        for k in ("model", "src", "g", "depth"):
            values.pop(k, None)
        return
    state.pick(spec=values["model"], source=src)
    ss = st.session_state
    for w in ("source", "zoo", "tv", "file"):  # the picker then opens on the state's model
        ss.pop(f"{page}.{w}", None)
    ss[f"{page}.model_id"] = f"{src}:{values['model']}" if "g" in values else None


def _settings(page: str, extra: Sequence[Setting], model: bool = True) -> tuple[Setting, ...]:
    return (*(_model_settings(page) if model else ()),
            Setting(CLASSROOM, get=lambda: classroom() or None, put=set_classroom), *extra)


def apply_link(page: str, extra: Sequence[Setting] = (), model: bool = True,
               on_link: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Apply the URL if this session did not write it (see the module doc); then `on_link(values)`, for a
    page whose widget keys depend on several settings at once (the Lottery's, on experiment and model)."""
    qp = without_identity(st.query_params.to_dict())  # a class member's token is not a view setting
    ss = st.session_state
    replace = ss.pop(REPLACE, False)
    if not qp and not replace or qp == ss.get(WRITTEN) or ss.get(APPLIED) == (page, qp):
        return
    if not replace and _own_lagging(qp):
        return
    settings = _settings(page, extra, model)
    doc = LinkDoc.parse(qp, [s.param for s in settings])
    if model:
        _apply_model(page, doc.values, doc.notices)
    if replace:  # a lesson or a preset: what it leaves out is the default, as in a fresh browser
        for s in settings:
            if s.param.key not in doc.values:
                if s.key:
                    ss.pop(s.key, None)
                elif s.clear is not None:
                    s.clear()
    for s in settings:
        if s.param.key in doc.values and s.param.key not in ("src", "model"):
            try:
                s.apply(doc.values[s.param.key])
            except ValueError as e:
                doc.notices.append(f"ignored {s.param.key}: {e}")
    if on_link is not None:
        try:
            on_link(doc.values)
        except ValueError as e:
            doc.notices.append(str(e))
    ss[APPLIED] = (page, qp)
    ss[NOTICES] = doc.notices
    ss[FROM_LINK] = {s.key for s in settings if s.key and s.param.key in doc.values}


def _own_lagging(qp: dict[str, str]) -> bool:
    """Whether `qp` is an address this session wrote itself moments ago, sent back by a browser that has not
    yet shown the newer ones. Fast key presses on a slider send reruns with the URL of two runs before: applied
    as a link, it pulled the slider back (the level fell short by 2-5 of 11 presses on resnet50). A move in
    the browser's history (Back) is a link, however recent."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and getattr(ctx, "is_history_navigation", False):
        return False
    now = time.monotonic()
    return any(q == qp and now - t <= LAG_S for q, t in st.session_state.get(RECENT, []))


def notices() -> None:
    """The last applied link's problems, on the page once."""
    msgs = st.session_state.pop(NOTICES, None)
    if msgs:
        st.warning("This link could not be followed in full; the rest of the view is as it said.\n\n"
                   + "\n".join(f"- {m}" for m in msgs), icon=":material/link:")


def clamp(key: str, lo: int, hi: int, label: str) -> None:
    """Keep a numeric widget's state inside the range this model allows (a link made on a deeper
    model, or an older one, may ask for more); says so when the out-of-range value came from a link."""
    ss = st.session_state
    v = ss.get(key)
    if v is None or lo <= v <= hi:
        return
    ss[key] = min(max(v, lo), hi)
    if key in ss.get(FROM_LINK, ()):
        st.warning(f"The link asks for {label} {v}; this graph allows {lo}..{hi}, so it shows {ss[key]}.", icon=":material/link:")


def current_query(page: str, extra: Sequence[Setting] = (), model: bool = True) -> dict[str, str]:
    settings = _settings(page, extra, model)
    values = {s.param.key: s.read() for s in settings}
    if values.get("model") is None:
        values = {k: v for k, v in values.items() if k not in ("src", "g", "depth", "seed")}
    if values.get("src") == "zoo" and values.get("model"):
        values["src"] = None  # the default source: left out
    return encode(values, [s.param for s in settings])


def write_link(page: str, extra: Sequence[Setting] = (), model: bool = True) -> dict[str, str]:
    """Put the page's current view in the address bar; returns the query."""
    q = current_query(page, extra, model)
    if st.query_params.to_dict() != q | carried():
        st.query_params.from_dict(q | carried())  # a class member's link keeps their identity (ui.join)
    st.session_state[WRITTEN] = q
    now = time.monotonic()
    recent = [(w, t) for w, t in st.session_state.get(RECENT, []) if now - t <= LAG_S and w != q]
    st.session_state[RECENT] = [*recent[-15:], (q, now)]
    return q


def share_box(query: dict[str, str], model: bool = True, left_out: str = "") -> None:
    """Sidebar: the whole link of this view, with a copy button (st.code's). `model`: the page shows the
    session's model (an uploaded ONNX file cannot travel); `left_out`: what else the link cannot carry."""
    from urllib.parse import urlencode

    base = str(st.context.url or "").split("?")[0]
    query = without_identity(query)  # a shared view never signs anyone in as its sender
    with st.sidebar.popover("Share this view", icon=":material/link:", use_container_width=True):
        link = f"{base}?{urlencode(query)}" if query else base
        st.code(link, language=None, wrap_lines=True)
        n = url_length(base, query)
        if left_out:
            st.caption(left_out)
        elif model and state.model().is_onnx:
            st.caption("An uploaded ONNX file cannot travel in a link: the link opens the page without it.")
        elif n > MAX_URL_CHARS:
            st.caption(f"{n} characters: longer than the {MAX_URL_CHARS} every mail and chat client passes on.")
        else:
            st.caption("Opens this page with this model and these settings (copy with the icon).")


@contextmanager
def linked(page: str, extra: Sequence[Setting] = (), presets: str | None = None, model: bool = True,
           on_link: Callable[[dict[str, Any]], None] | None = None) -> Iterator[None]:
    """Apply an incoming link, run the page, then write its view back and offer the link. `presets`: the
    page's title in `explorer.lessons.PRESETS`, whose one-click views are drawn in the sidebar. `model`:
    the page has the shared model keys (the Learn page has none). `on_link`: see `apply_link`."""
    if presets:
        preset_box(page, presets)
    apply_link(page, extra, model, on_link)
    notices()
    yield
    q = write_link(page, extra, model)
    share_box(q, model)


def follow(page: str, query: dict[str, str]) -> None:
    """Open page `page` (a title in `explorer.links.pages.PAGES`) on the view `query` describes, replacing
    the view it had in this session — what a lesson's "Open this view" does."""
    ss = st.session_state
    for k in (APPLIED, WRITTEN):
        ss.pop(k, None)
    if PAGES[page].model or page == "Learn":  # the pages that apply links through `linked`
        ss[REPLACE] = True
    ss.pop("pg.url_loaded", None)  # the Playground (`ui.playground.url_state`) reads its URL again
    st.switch_page(PAGES[page].file, query_params=query or None)


def _preset_chosen(key: str, title: str) -> None:
    from explorer.lessons import PRESETS

    name = st.session_state.get(key)
    st.session_state[key] = None  # an action, not a setting: the same preset can be chosen again
    if name in PRESETS.get(title, {}):
        for k in (APPLIED, WRITTEN):
            st.session_state.pop(k, None)
        st.session_state[REPLACE] = True
        st.session_state.pop("pg.url_loaded", None)  # the Playground (`ui.playground.url_state`) reads its URL again
        st.query_params.from_dict(PRESETS[title][name].query)  # applied as a link, at the top of this run


def preset_box(page: str, title: str) -> None:
    """Sidebar: this page's presets (`explorer.lessons.PRESETS`); choosing one applies it as a link."""
    from explorer.lessons import PRESETS

    names = list(PRESETS.get(title, {}))
    if names:
        key = f"{page}.preset"
        st.sidebar.selectbox("Presets", names, index=None, key=key, placeholder="one click to a view…",
                             on_change=_preset_chosen, args=(key, title),
                             help="a ready-made view (model, granularity, level, selection): the same as opening "
                                  "its link")


def selection_setting(param: Param) -> Setting:
    """The Prune selection in the link (`explorer.links.selection`: inline or by content hash)."""
    from explorer.links.selection import decode_selection, encode_selection

    def put(value: str) -> None:
        state.SELECTION.put(decode_selection(value))  # SelectionError (a ValueError) becomes a notice
        st.session_state[SELECTION_FROM_LINK] = True

    def get() -> Any:
        sel = state.SELECTION.get()
        return None if sel is None or sel.is_empty() else encode_selection(sel)

    return Setting(param, put=put, get=get, clear=state.SELECTION.pop)


def selection_fits(fits: bool) -> None:
    """Say so when the selection a link carried does not belong to the graph the link opened."""
    if st.session_state.pop(SELECTION_FROM_LINK, False) and not fits:
        st.warning("The link's selection was made on another graph (model, seed or granularity): "
                   "it is not applied here.", icon=":material/link:")

