"""The door of a class server (`python -m explorer serve --classroom`): a browser joins with the class
code and a display name before any page draws, and its link then carries the signed identity
(`explorer.server.identity`) in `?who=`, so a reload keeps it. In the local app (`streamlit run
app.py`) there is no door: `admitted()` is True at once.

    if not join.admitted():     # app.py, before the pages: the join form, until the browser joined
        st.stop()
    query | join.carried()      # a module writing the address bar keeps the identity in it
"""

from __future__ import annotations

import streamlit as st

from explorer.server.identity import IdentityError
from explorer.server.roster import Roster, WrongCodeError
from explorer.server.settings import ClassSettings, active
from ui import state

PARAM = "who"  # the identity's query parameter: never part of a shared view (`ui.links.share_box`)
TRIES = "join.tries"  # wrong codes typed in this session
MAX_TRIES = 8  # then this browser session stops accepting codes (a guessing script must reconnect)


def admitted() -> bool:
    """True when this browser may see the pages: the local app, or a member of the class (from this
    session, or from the token in its link). Otherwise draws the join form (and why a link was refused)."""
    settings = active()
    if settings is None:
        return True
    token = st.query_params.get(PARAM)
    if state.MEMBER.get() is not None and token in (None, state.MEMBER_TOKEN.get()):
        _badge()
        return True
    if token:
        try:
            _enter(Roster().admit(token), token)
            return True
        except IdentityError as e:
            st.error(str(e), icon=":material/badge:")
    _form(settings)
    return False


def carried() -> dict[str, str]:
    """The query parameter that keeps this browser's identity in its address bar ({} in the local app)."""
    token = state.MEMBER_TOKEN.get()
    return {PARAM: token} if token and active() is not None else {}


def without_identity(query: dict[str, str]) -> dict[str, str]:
    """`query` less the identity: what a page's link applies, and what a shared link may carry."""
    return {k: v for k, v in query.items() if k != PARAM}


def _enter(who, token: str) -> None:
    state.MEMBER.put(who)
    state.MEMBER_TOKEN.put(token)
    st.query_params[PARAM] = token
    _badge()


def _badge() -> None:
    who = state.MEMBER.get()
    st.sidebar.caption(f":material/badge: **{who.name}** · {'teacher' if who.teacher else 'student'} in this class "
                       "(your link keeps you signed in: keep it, do not share it)")


def _form(settings: ClassSettings) -> None:
    st.title("Join the class")
    st.write("Type the class code your teacher gave you and the name the class will see.")
    tries = int(st.session_state.get(TRIES, 0))
    if tries >= MAX_TRIES:
        st.error(f"{tries} wrong codes in this window: it accepts no more. Ask your teacher for the code, then open "
                 "the class address in a new window.", icon=":material/block:")
        return
    with st.form("join"):
        code = st.text_input("Class code", type="password", key="join.code")
        name = st.text_input("Display name", max_chars=40, key="join.name")
        go = st.form_submit_button("Join", type="primary")
    if go:
        try:
            who, token = Roster().join(settings, code, name)
        except IdentityError as e:
            if isinstance(e, WrongCodeError):
                st.session_state[TRIES] = tries + 1
            st.error(str(e), icon=":material/badge:")
            return
        _enter(who, token)
        st.rerun()
