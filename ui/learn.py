"""The Learn page's parts: the lesson and step in the URL (so a step is linkable), the step drawn as
text, its live figure, an "Open this view" button that opens the page it is about in that state, the
"try this", and the question with its answer on demand (`explorer.lessons` holds the lessons)."""

from __future__ import annotations

import streamlit as st

from explorer.lessons import LESSONS, Lesson, Step, lesson
from explorer.links.pages import PAGES
from ui.classroom import classroom
from ui.links import Setting, follow

LESSON = "learn.lesson_now"  # plain session keys (not widget keys): they outlive a visit to another page
STEP = "learn.step_now"
BY_SLUG = {les.slug: les for les in LESSONS}


def _put_lesson(slug: str) -> None:
    if slug not in BY_SLUG:
        raise ValueError(f"there is no lesson {slug!r} (lessons: {', '.join(BY_SLUG)})")
    st.session_state[LESSON] = slug


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


def neighbour(les: Lesson, n: int, d: int) -> tuple[Lesson, int] | None:
    """The step `d` (±1) away from step `n` of `les`, across lessons: Next on a lesson's last step is the
    next lesson's first step, Previous on its first the previous lesson's last; None past either end."""
    k = LESSONS.index(les)
    if 1 <= n + d <= len(les.steps):
        return les, n + d
    k += d
    if not 0 <= k < len(LESSONS):
        return None
    return LESSONS[k], (1 if d > 0 else len(LESSONS[k].steps))


def _move(d: int) -> None:
    to = neighbour(*current(), d)
    if to is not None:
        _put_lesson(to[0].slug)
        _put_step(to[1])


def picker() -> tuple[Lesson, int]:
    """The lesson select box (in the sidebar on a projector); returns the lesson and step on show."""
    les, n = current()
    slugs = [x.slug for x in LESSONS]
    # the box shows the lesson on show, also after Next or a link moved it: set through the session state, which
    # the browser takes (a fresh default would not replace the browser's old choice, sent back with the next click)
    st.session_state["learn.pick"] = les.slug
    (st.sidebar if classroom() else st).selectbox("Lesson", slugs, key="learn.pick", on_change=_picked,
                 format_func=lambda s: f"{lesson(s).number}. {lesson(s).title} — {lesson(s).summary}")
    return current()


def nav(les: Lesson, n: int, where: str) -> None:
    prev, nxt = neighbour(les, n, -1), neighbour(les, n, 1)
    c1, c2, c3 = st.columns([1.4, 3.2, 1.4], vertical_alignment="center")
    c1.button("← Previous" if prev is None or prev[0] is les else "← Previous lesson", key=f"learn.prev.{where}",
              on_click=_move, args=(-1,), disabled=prev is None, use_container_width=True)
    c2.progress(n / len(les.steps), text=f"Lesson {les.number}: {les.title} — step {n} of {len(les.steps)}")
    c3.button("Next →" if nxt is None or nxt[0] is les else "Next lesson →", key=f"learn.next.{where}",
              on_click=_move, args=(1,), disabled=nxt is None, use_container_width=True, type="primary")


@st.cache_data(show_spinner="drawing the figure…", max_entries=32)
def _figure(spec, height: int, width: int):
    from explorer.lessons.figures import draw

    return draw(spec, height=height, width=width)


FIGURE_PX = {False: (380, 520), True: (470, 540)}  # (height, width) of a step's figure; True: on a projector


def figure(les: Lesson, n: int) -> None:
    """The step's figure at the size of its column: on a projector, laid out at 1/FONT_SCALE of the room
    it gets and then zoomed (`ui.classroom.zoomed`), so its type is large and every label keeps its margin."""
    from ui.classroom import FONT_SCALE, zoomed

    spec, on = les.step(n).figure, classroom()
    h, w = FIGURE_PX[on]
    if on:  # the column's room in height, whatever the zoom made of it
        fig = zoomed(_figure(spec, int(h / FONT_SCALE), int(w / FONT_SCALE)), FONT_SCALE, height=h)
    else:
        fig = _figure(spec, h, w)
    st.plotly_chart(fig, key=f"learn.fig.{les.slug}.{n}", config={"displaylogo": False})


def step_view(les: Lesson, n: int) -> None:
    """Step `n` of `les`: text, figure, the view's link, try this, the question. On a projector it fits
    one 1280×720 screen: two columns, the text (and the view's button) beside the figure — or, without
    a figure, beside "try this" and the question."""
    step: Step = les.step(n)
    on = classroom()
    st.header(f"{n}. {step.title}")
    if on:
        left, right = st.columns([11, 9], gap="medium")
    elif step.figure is not None:
        left, right = st.columns([3, 2])
    else:
        left = right = st.container()
    with left:
        st.markdown(step.text)
        st.caption(f"docs/science.md {step.cite}")
        if step.link is not None:
            open_view(step)
    with left if step.figure is not None else right:
        st.info(f"**Try this.** {step.try_this}", icon=":material/touch_app:")
        st.markdown(f"**Question.** {step.question}")
        with st.expander("Reveal the answer"):
            st.markdown(step.answer)
    if step.figure is not None:
        with right:
            figure(les, n)


def open_view(step: Step) -> None:
    """The button that opens the step's view, and what it opens."""
    link = step.link
    if st.button(f"Open this view on {link.page}", key="learn.open", type="primary", icon=":material/open_in_new:"):
        follow(link.page, link.query)
    if classroom():
        return  # on a projector the button says enough; the URL details are for desks
    shown = ", ".join(f"{k}={v}" for k, v in link.query.items() if k not in ("v", "sel")) or "its defaults"
    st.caption(f"Opens **{link.page}** with {shown}" + (" and a selection" if "sel" in link.query else "") +
               ". Come back here with *Learn* in the sidebar.")


def contents(les: Lesson, n: int) -> None:
    """The lesson's steps, the one on show marked; each a button to it."""
    with st.sidebar.expander(f"Lesson {les.number}: steps", expanded=True):
        for k, s in enumerate(les.steps, 1):
            st.button(f"{'▶ ' if k == n else ''}{k}. {s.title}", key=f"learn.toc.{k}", on_click=_put_step, args=(k,),
                      type="tertiary")
