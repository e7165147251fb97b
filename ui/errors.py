"""Error display: a library error is a message on the page, never a traceback.

    with guard():
        dag = build(...)        # a DagError / ModelSpecError / ValueError ...
        st.plotly_chart(...)    # ... becomes st.error("DagError: <what broke and the fix>")

The library's errors are ValueError subclasses whose message already names what broke
and the fix; anything else is reported as an unexpected error (with its type and message)
and logged with its traceback to the server log only.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from collections.abc import Iterator

import streamlit as st

log = logging.getLogger("explorer.ui")

# Errors the library raises on purpose (bad input, invalid selection, unsupported model).
EXPECTED = (ValueError, KeyError, FileNotFoundError, NotImplementedError, TypeError)


def show_error(e: BaseException, context: str = "") -> None:
    """Render one exception as a red box: its type, message, and (for unexpected ones) what to do."""
    where = f" while {context}" if context else ""
    msg = str(e).strip() or repr(e)
    if isinstance(e, KeyError) and msg.startswith(("'", '"')):
        msg = msg[1:-1]
    if isinstance(e, EXPECTED):
        st.error(f"**{type(e).__name__}**{where}: {msg}", icon=":material/warning:")
    else:
        log.exception("unexpected error%s", where, exc_info=e)
        st.error(f"**Unexpected {type(e).__name__}**{where}: {msg}\n\n"
                 "Try another model or granularity; if it persists, report it with the model name.", icon=":material/dangerous:")


@contextmanager
def guard(context: str = "") -> Iterator[None]:
    """Run a block; turn any exception into `st.error` and stop the block (the page goes on below).

    Streamlit's own control flow (st.stop, st.rerun, page switches) derives from
    BaseException, not Exception, so it passes through untouched.
    """
    try:
        yield
    except Exception as e:  # noqa: BLE001 — the point is to catch everything a page can hit
        show_error(e, context)


def graph_warnings(dag) -> None:
    """What the graph leaves out, said on the page (`dag.meta["warnings"]`): never a partial graph
    presented as the model."""
    for w in dag.meta.get("warnings", []):
        st.warning(f"This graph is not the whole story: {w}.", icon=":material/warning:")
