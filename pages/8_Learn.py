"""Learn: eight guided lessons through the explorer, step by step (docs/science.md §1–§7).

Each step says what the view shows in a few sentences, draws a small live figure, opens the page it is
about in the right state ("Open this view"), suggests what to try and asks a question whose answer is
revealed on demand. The lesson and step are in the URL: a step is a link to share.
"""

from ui.nav import through_navigation

through_navigation(__file__)

import streamlit as st

from ui import learn
from ui.classroom import classroom
from ui.errors import guard
from ui.links import linked


def main() -> None:
    if classroom():  # the projector's one screen holds the step: the sidebar folds (one click opens it)
        st.set_page_config(initial_sidebar_state="collapsed")
    else:
        st.title("Learn")
        st.caption("Guided lessons: read a step, open its view, try it, answer the question. The sidebar's *Share "
                   "this view* copies a link to this step; *Classroom mode* makes it legible on a projector.")
    les, n = learn.picker()
    learn.nav(les, n, "top")
    learn.contents(les, n)
    with guard("drawing the step"):
        learn.step_view(les, n)
    st.divider()
    learn.nav(les, n, "bottom")


with guard(), linked("learn", learn.LINK, model=False):
    main()
