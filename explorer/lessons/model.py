"""A lesson as data: a sequence of steps, each a few sentences, the view it is about (a `Link` that
opens a page in a given state, and optionally a small `Figure` drawn beside the text), a "try this",
and a question with its answer.

    >>> link = Link.to("Decomposition", model="mlp_skip", g="unit", l=2)
    >>> link.query, link.path
    ({'v': '1', 'model': 'mlp_skip', 'g': 'unit', 'l': '2'}, 'Decomposition?v=1&model=mlp_skip&g=unit&l=2')
    >>> Link.to("Decomposition", level=2)
    Traceback (most recent call last):
    ...
    explorer.links.pages.LinkError: Decomposition: no link setting level

A link is built through its page's schema (`explorer.links.pages.PageLink.query`), so a lesson that
names a setting its page lacks, or a value the page would refuse, fails when the catalogue is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from explorer.links.pages import LinkError, page_link


class LessonError(ValueError):
    """A lesson or preset that does not hold together; the message names the lesson, the step and the fix."""


@dataclass(frozen=True)
class Link:
    """A page (its title in `explorer.links.pages.PAGES`) and the query that opens the view."""

    page: str
    query: dict[str, str] = field(default_factory=dict)

    @classmethod
    def to(cls, page: str, **values: Any) -> Link:
        return cls(page, page_link(page).query(**values))

    @property
    def file(self) -> str:
        return page_link(self.page).file

    @property
    def path(self) -> str:
        """The URL path after the app's address: `Page_name?query`."""
        p = page_link(self.page).path
        return f"{p}?{urlencode(self.query)}" if self.query else p

    def values(self) -> dict[str, Any]:
        return page_link(self.page).parse(self.query)


@dataclass(frozen=True)
class Figure:
    """A small live figure of a step: `kind` "dag" (the graph, `search` emphasised), "T" (the lifting
    step T_l) or "product" (T_l ⋯ T_1), of zoo model `model` at granularity `g`; `w` > 0 draws T_l as
    the Decomposition page's window of the `w` levels ending at l (with the columns its rows read)."""

    kind: str
    model: str
    g: str = "unit"
    l: int = 1
    search: str = ""
    w: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("dag", "T", "product"):
            raise LessonError(f"figure kind {self.kind!r} is not one of dag, T, product")


@dataclass(frozen=True)
class Step:
    """One step: `title`, `text` (markdown, a few sentences, citing docs/science.md §N in `cite`), the
    `link` that opens its view, an optional `figure`, what to `try`, a `question` and its `answer`."""

    title: str
    text: str
    cite: str
    link: Link | None
    try_this: str
    question: str
    answer: str
    figure: Figure | None = None


@dataclass(frozen=True)
class Lesson:
    """A numbered lesson: `slug` (its name in a link), `title`, a one-line `summary`, its `steps`."""

    number: int
    slug: str
    title: str
    summary: str
    steps: tuple[Step, ...]

    def step(self, n: int) -> Step:
        """Step `n`, counted from 1."""
        if not 1 <= n <= len(self.steps):
            raise LessonError(f"lesson {self.slug} has steps 1..{len(self.steps)}, not {n}")
        return self.steps[n - 1]

    def link(self, n: int = 1) -> Link:
        """The Learn page opened on step `n` of this lesson."""
        return Link.to("Learn", lesson=self.slug, step=n)


__all__ = ["Figure", "Lesson", "LessonError", "Link", "LinkError", "Step"]
