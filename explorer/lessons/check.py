"""`check()`: every lesson step's link and every preset opens its page cleanly — no key the page lacks,
no value it refuses, a model it can load — and, on the graph the link names, the level exists and the
selection's nodes and arcs exist with the validity the lessons state (docs/science.md §3).

    >>> [p for p in check(graphs=False) if p]
    []
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from explorer.lessons.catalog import LESSONS
from explorer.lessons.model import Link
from explorer.lessons.presets import PRESETS
from explorer.lessons.selections import VALID
from explorer.links.codec import check_model
from explorer.links.pages import LinkError


@dataclass(frozen=True)
class Problem:
    """What is wrong with the link of `where` (e.g. "lesson 2 step 3", "preset Prune/a skip arc")."""

    where: str
    link: Link
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.link.path}: {self.why}"


def links() -> Iterator[tuple[str, Link]]:
    """Every link the lessons and presets carry, with where it is."""
    for les in LESSONS:
        for n, step in enumerate(les.steps, 1):
            yield f"lesson {les.number} step {n}", les.link(n)
            if step.link is not None:
                yield f"lesson {les.number} step {n} view", step.link


def presets() -> Iterator[tuple[str, Link]]:
    for page, named in PRESETS.items():
        for name, link in named.items():
            if link.page != page:
                raise LinkError(f"preset {page}/{name} opens {link.page}, not its own page")
            yield f"preset {page}/{name}", link


def problems_of(link: Link, graphs: bool = True) -> list[str]:
    """Why `link` would not open as its lesson says (empty: it opens)."""
    try:
        values = link.values()
    except LinkError as e:
        return [str(e)]
    if link.page == "Learn":
        from explorer.lessons.catalog import lesson

        try:
            lesson(values["lesson"]).step(values.get("step", 1))
        except (KeyError, ValueError) as e:
            return [f"names no lesson step: {e}"]
        return []
    if "model" not in values:
        return []
    why = check_model(values.get("src", "zoo"), values["model"])
    if why is not None:
        return [why]
    return graph_problems(values) if graphs and link.page in ("Architecture", "Decomposition", "Prune") else []


def graph_problems(values: dict) -> list[str]:
    """The level and selection of a model page's link against the graph it opens."""
    from explorer.graph import build_dag
    from explorer.links import decode_selection
    from explorer.pruning.validity import check as valid

    g = values.get("g") or "op"
    dag = build_dag(values["model"], granularity=g, depth=values.get("depth"), seed=values.get("seed", 0))
    out = []
    if "l" in values and not 1 <= values["l"] <= dag.depth:
        out.append(f"level {values['l']} is not in 1..{dag.depth} of {values['model']} ({g})")
    if "sel" in values:
        sel = decode_selection(values["sel"])
        if sel.granularity != g or sel.model != values["model"]:
            out.append(f"the selection was made on {sel.model} ({sel.granularity}), the link opens {values['model']} ({g})")
        ids, arcs = {n.id for n in dag.nodes}, {f"{a.src}->{a.dst}" for a in dag.arcs}
        missing = [n for n in sel.nodes if n not in ids] + [a for a in sel.arcs if a not in arcs]
        if missing:
            out.append(f"the selection names what {values['model']} lacks: {', '.join(missing[:5])}")
        elif VALID.get(values["sel"]) is not None and valid(dag, sel).ok != VALID[values["sel"]]:
            out.append(f"the selection is {'in' if VALID[values['sel']] else ''}valid, the lessons say otherwise")
    return out


def check(graphs: bool = True) -> list[Problem]:
    """Every problem of every lesson link and preset (empty: all open as they say). `graphs`: also build
    each named graph to check levels and selections (a few seconds on the zoo)."""
    out = []
    for where, link in [*links(), *presets()]:
        out += [Problem(where, link, why) for why in problems_of(link, graphs)]
    return out
