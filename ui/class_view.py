"""The class overview as the teacher sees it (pages/10_Class.py): who runs what, with each student's next
job's place in the queue, and every student's pruning and verdict side by side in one table to project
(`explorer.lottery.class_table`). Students are told the page is the teacher's; the local app, that it is
a class server's page.

    render()   # the page
"""

from __future__ import annotations

import streamlit as st

from ui import state

REFRESH_S = 3.0  # the tables refresh while the page is open (the class keeps working)


def render() -> None:
    from explorer.server.settings import serving_class

    st.title("Class overview")
    who = state.MEMBER.get()
    if not serving_class() or who is None:
        st.info("This page is a class server's (`python -m explorer serve --classroom`): there the teacher sees "
                "every student's work here.")
        return
    if not who.teacher:
        st.error("The class overview is the teacher's page. Your own runs and jobs are on the Train, Lottery, "
                 "Signal propagation and Playground pages.", icon=":material/lock:")
        return
    st.caption("Every student's work, refreshed every few seconds. The second table puts each comparison side "
               "by side: which cut kept the ticket's advantage?")
    _tables()


@st.fragment(run_every=REFRESH_S)
def _tables() -> None:
    import pandas as pd

    from explorer.lottery.class_table import activity, pruning
    from explorer.server.roster import Roster
    from ui.classroom import look
    from ui.jobs import backend, queue_place

    store = backend().store
    members = Roster().members()
    act = activity(store, members)
    for row in act:
        row["next queued"] = queue_place(row["next queued"]).removeprefix("queued: ") if row["next queued"] else ""
    st.subheader("Who runs what")
    if act:
        st.table(pd.DataFrame(act).set_index("student"))
    else:
        st.info("No student has joined yet: give them the class address and the join code.")
    st.subheader("Pruning and verdict, side by side")
    look("the verdict column: whose cut kept the ticket's advantage over its same-size controls?")
    rows = pruning(store, members)
    if rows:
        st.table(pd.DataFrame(rows).set_index("student"))  # a plain table: every word shows, on a projector too
    else:
        st.info("No comparison yet: students prune on the Prune page and press *Retrain*.")
