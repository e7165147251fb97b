"""A protocol-level Streamlit client: one browser session without a browser, for load tests
(`bench/load_class.py`). It speaks Streamlit's own WebSocket protocol (`/_stcore/stream`): it sends
`BackMsg.rerun_script` (the page, its query, the widget values: what the browser sends when a widget
changes or a page opens) and reads `ForwardMsg`s (deltas of elements, navigation, the query the page
wrote, fragment auto-reruns, script_finished), keeping the elements on show by their delta path.

    async with Session(url) as s:
        await s.open("", "")                           # app.py's default page, no query
        await s.submit({"join.code": "maple-42", "join.name": "Ada"}, "join")   # a form
        await s.open("Prune", "model=mlp&g=unit")      # a page by its url path, with a query
        await s.click("prune.btn_prune")
        s.texts()                                      # what the page shows, as text

Fragments with `run_every` are rerun by `tick()` at their interval, as the browser's timer would.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = {0: "done", 1: "compile error", 2: "rerun", 3: "fragment done"}


class AppError(RuntimeError):
    """The page showed an exception, or the session broke."""


class Session:
    """One simulated browser tab on `url` (see the module doc)."""

    def __init__(self, url: str, timeout: float = 120.0):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.ws: Any = None
        self.pages: dict[str, str] = {}  # url path ("" = default) -> page script hash
        self.page_hash, self.query = "", ""
        self.elements: dict[tuple[int, ...], tuple[str, Any]] = {}  # delta path -> (type, proto)
        self.touched: set[tuple[int, ...]] = set()
        self.fragment_of: dict[tuple[int, ...], str] = {}  # delta path -> the fragment that drew it ("" = none)
        self.touched_now: set[tuple[int, ...]] = set()  # paths drawn in the run under way
        self.widgets: dict[str, WidgetState] = {}  # values this session set (widget id -> state)
        self.fragments: dict[str, float] = {}  # fragment id -> interval s
        self.next_tick: dict[str, float] = {}
        self.exceptions: list[str] = []

    async def __aenter__(self) -> Session:
        ws_url = self.url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2 ** 28,
                                           open_timeout=self.timeout, ping_interval=None)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.ws.close()

    # ---- what a person does ----------------------------------------------------------------------------
    async def open(self, path: str, query: str = "") -> float:
        """Open a page (its url path; "" the default) with `query`; returns the seconds until it finished."""
        if path and path not in self.pages:
            raise AppError(f"no page {path!r}; the app has {sorted(self.pages)}")
        self.page_hash, self.query = self.pages.get(path, ""), query
        self.widgets.clear()  # a new page: the browser sends no widget values of the last one
        return await self._rerun()

    async def click(self, key: str) -> float:
        """Press the button whose key is `key`; returns the seconds until the run (and any it caused) finished."""
        wid = self.widget_id(key)
        return await self._rerun({wid: WidgetState(id=wid, trigger_value=True)})

    async def submit(self, values: dict[str, str], form: str) -> float:
        """Fill a form's text inputs (by key) and press its submit button."""
        states = {}
        for k, v in values.items():
            wid = self.widget_id(k)
            states[wid] = WidgetState(id=wid, string_value=v)
        sub = next((i for _, (t, e) in self.elements.items() if t == "button" and (i := e.id)
                    and f"FormSubmitter:{form}-" in i), None)
        if sub is None:
            raise AppError(f"no submit button of form {form!r} on the page")
        states[sub] = WidgetState(id=sub, trigger_value=True)
        return await self._rerun(states)

    async def tick(self) -> float | None:
        """Rerun the fragments whose interval has passed (the browser's timer); the seconds it took, or None."""
        now = time.monotonic()
        due = [f for f, t in self.next_tick.items() if t <= now]
        if not due:
            return None
        t = 0.0
        for f in due:
            self.next_tick[f] = now + self.fragments[f]
            t += await self._rerun(fragment=f)
        return t

    # ---- what the page shows ----------------------------------------------------------------------------
    def widget_id(self, key: str) -> str:
        for t, e in self.elements.values():
            wid = getattr(e, "id", "")
            if isinstance(wid, str) and wid.endswith(f"-{key}"):
                return wid
        raise AppError(f"no widget with key {key!r} on the page")

    def element(self, kind: str, key: str) -> Any:
        """The element of type `kind` whose widget key is `key` (or None)."""
        for t, e in self.elements.values():
            if t == kind and str(getattr(e, "id", "")).endswith(f"-{key}"):
                return e
        return None

    def texts(self) -> list[str]:
        """Every text on show: markdown, headings, captions, alerts, labels, progress texts, options."""
        out = []
        for t, e in self.elements.values():
            for f in ("body", "label", "text"):
                v = getattr(e, f, None)
                if isinstance(v, str) and v:
                    out.append(v)
            if t == "selectbox":
                out.extend(e.options)
        return out

    def figure(self, key: str) -> dict | None:
        e = self.element("plotly_chart", key)
        return json.loads(e.spec) if e is not None and e.spec else None

    # ---- the protocol -----------------------------------------------------------------------------------
    async def _rerun(self, changed: dict[str, WidgetState] | None = None, fragment: str = "") -> float:
        self.widgets.update(changed or {})
        b = BackMsg()
        rs = b.rerun_script
        rs.query_string, rs.page_script_hash = self.query, self.page_hash
        rs.context_info.url = f"{self.url}/?{self.query}"
        rs.widget_states.widgets.extend(self.widgets.values())
        if fragment:
            rs.fragment_id, rs.is_auto_rerun = fragment, True
        t0 = time.monotonic()
        self.touched_now = set()
        await self.ws.send(b.SerializeToString())
        await self._until_finished(fragment)
        for wid, s in list(self.widgets.items()):  # a button's press lasts one run
            if s.WhichOneof("value") == "trigger_value":
                del self.widgets[wid]
        return time.monotonic() - t0

    async def _until_finished(self, fragment: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AppError(f"the page did not finish within {self.timeout:.0f} s")
            m = ForwardMsg()
            m.ParseFromString(await asyncio.wait_for(self.ws.recv(), left))
            kind = m.WhichOneof("type")
            if kind == "new_session" and not fragment:  # a full run starts: the browser drops its fragment timers
                self.touched.clear()
                self.fragments.clear()
                self.next_tick.clear()
                self.page_hash = m.new_session.page_script_hash or self.page_hash
            elif kind == "navigation":
                for p in m.navigation.app_pages:
                    self.pages[p.url_pathname] = p.page_script_hash
                self.page_hash = m.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query = m.page_info_changed.query_string
            elif kind == "auto_rerun":
                f = m.auto_rerun.fragment_id
                self.fragments[f] = m.auto_rerun.interval
                self.next_tick.setdefault(f, time.monotonic() + m.auto_rerun.interval)
            elif kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                e = m.delta.new_element
                t = e.WhichOneof("type")
                path = tuple(m.metadata.delta_path)
                self.elements[path] = (t, getattr(e, t))
                self.fragment_of[path] = m.delta.fragment_id
                self.touched.add(path)
                self.touched_now.add(path)
                if t == "exception":
                    self.exceptions.append(f"{e.exception.type}: {e.exception.message}")
            elif kind == "script_finished":
                status = FINISHED.get(m.script_finished, "?")
                if status == "compile error":
                    raise AppError("the page's script did not compile")
                if status == "done" and not fragment or status == "fragment done" and fragment:
                    if fragment:  # as the browser does: what this fragment drew before and not now is gone
                        self.elements = {p: v for p, v in self.elements.items()
                                         if self.fragment_of.get(p) != fragment or p in self.touched_now}
                    if status == "done":  # elements the full run did not draw are gone
                        self.elements = {p: v for p, v in self.elements.items() if p in self.touched}
                    return
                if status == "done" and fragment:  # the fragment asked for a full rerun: that ran too
                    self.elements = {p: v for p, v in self.elements.items() if p in self.touched}
                    return
