"""Guided lessons and presets: plain data (no Streamlit), every link built with the page schemas
(`explorer.links.pages`) and checked against the graphs it names.

- `model`   — `Lesson`, `Step`, `Link` (a page and its query), `Figure` (a small live figure of a step);
- `catalog` — the eight lessons (docs/science.md §1–§7 in the project's own words);
- `presets` — one-click views per page ("a skip arc", "a residual branch", ...), as links;
- `check`   — `check()`: every lesson link and preset opens its page with no notice, on a graph that has
  the level and the selection it names;
- `figures` — `draw(figure)`: the plotly figure of a step (a DAG, a T_l, a product), in well under 3 s.
"""

from explorer.lessons.catalog import LESSONS, lesson
from explorer.lessons.model import Figure, Lesson, LessonError, Link, Step
from explorer.lessons.presets import PRESETS

__all__ = ["LESSONS", "PRESETS", "Figure", "Lesson", "LessonError", "Link", "Step", "lesson"]
