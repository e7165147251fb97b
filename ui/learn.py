"""The Learn page's parts: the lesson and step in the URL (so a step is linkable), the step drawn as
text, its live figure, an "Open this view" button that opens the page it is about in that state, the
"try this", and the question with its answer on demand (`explorer.lessons` holds the lessons)."""

from __future__ import annotations

import streamlit as st

from explorer.lessons import LESSONS, Lesson, Step, lesson
from explorer.links.pages import PAGES
from ui.classroom import classroom, scaled
from ui.links import Setting, follow

LESSON = "learn.lesson_now"  # plain session keys (not widget keys): they outlive a visit to another page
STEP = "learn.step_now"
BY_SLUG = {les.slug: les for les in LESSONS}


def _put_lesson(slug: str) -> None:
    if slug not in BY_SLUG:
        raise ValueError(f"there is no lesson {slug!r} (lessons: {', '.join(BY_SLUG)})")
    st.session_state[LESSON] = slug
    st.session_state.pop("learn.pick", None)


def _put_step(n: int) -> None:
    st.session_state[STEP] = int(n)


LINK = (Setting(PAGES["Learn"]["lesson"], put=_put_lesson, get=lambda: st.session_state.get(LESSON)),
        Setting(PAGES["Learn"]["step"], put=_put_step, get=lambda: st.session_state.get(STEP, 1)))


def current() -> tuple[Lesson, int]:
    """The lesson on show and its step (clamped into the lesson)."""
    les = BY_SLUG.get(st.session_state.get(LESSON) or "", LESSONS[0])
    n = min(max(1, int(st.session_state.get(STEP, 1))), len(les.steps))
    st.session_state[STEP] = n
    return les, n


def _picked() -> None:
    st.session_state[LESSON] = st.session_state["learn.pick"]
    st.session_state[STEP] = 1


def _move(d: int) -> None:
    st.session_state[STEP] = int(st.session_state.get(STEP, 1)) + d


def picker() -> tuple[Lesson, int]:
    """Lesson select box and step navigation; returns the lesson and step on show."""
    les, n = current()
    slugs = [x.slug for x in LESSONS]
    st.selectbox("Lesson", slugs, index=slugs.index(les.slug), key="learn.pick", on_change=_picked,
                 format_func=lambda s: f"{lesson(s).number}. {lesson(s).title} — {lesson(s).summary}")
    return current()


def nav(les: Lesson, n: int, where: str) -> None:
    c1, c2, c3 = st.columns([1, 4, 1])
    c1.button("← Previous", key=f"learn.prev.{where}", on_click=_move, args=(-1,), disabled=n <= 1,
              use_container_width=True)
    c2.progress(n / len(les.steps), text=f"Lesson {les.number}, step {n} of {len(les.steps)}")
    c3.button("Next →", key=f"learn.next.{where}", on_click=_move, args=(1,), disabled=n >= len(les.steps),
              use_container_width=True, type="primary")


@st.cache_data(show_spinner="drawing the figure…", max_entries=32)
def _figure(spec, height: int):
    from explorer.lessons.figures import draw

    return draw(spec, height=height)


def step_view(les: Lesson, n: int) -> None:
    """Step `n` of `les`: text, figure, the view's link, try this, the question."""
    step: Step = les.step(n)
    st.header(f"{n}. {step.title}")
    if step.figure is None:
        body, side = st.container(), None
    elif classroom():  # on a projector the figure takes the whole width, under the text
        body, side = st.container(), st.container()
    else:
        body, side = st.columns([3, 2])
    with body:
        st.markdown(step.text)
        st.caption(f"docs/science.md {step.cite}")
        if step.link is not None:
            open_view(step)
        st.info(f"**Try this.** {step.try_this}", icon=":material/touch_app:")
        st.markdown(f"**Question.** {step.question}")
        with st.expander("Reveal the answer"):
            st.markdown(step.answer)
    if side is not None:
        with side:
            fig = _figure(step.figure, 520 if classroom() else 380)
            st.plotly_chart(scaled(fig), key=f"learn.fig.{les.slug}.{n}", config={"displaylogo": False})


def open_view(step: Step) -> None:
    """The button that opens the step's view, and what it opens."""
    link = step.link
    if st.button(f"Open this view on {link.page}", key="learn.open", type="primary", icon=":material/open_in_new:"):
        follow(link.page, link.query)
    shown = ", ".join(f"{k}={v}" for k, v in link.query.items() if k not in ("v", "sel")) or "its defaults"
    st.caption(f"Opens **{link.page}** with {shown}" + (" and a selection" if "sel" in link.query else "") +
               ". Come back here with *Learn* in the sidebar.")


def contents(les: Lesson, n: int) -> None:
    """The lesson's steps, the one on show marked; each a button to it."""
    with st.sidebar.expander(f"Lesson {les.number}: steps", expanded=True):
        for k, s in enumerate(les.steps, 1):
            st.button(f"{'▶ ' if k == n else ''}{k}. {s.title}", key=f"learn.toc.{k}", on_click=_put_step, args=(k,),
                      type="tertiary")
