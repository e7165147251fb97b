"""Which settings each page's link carries: the one schema that the pages bind to their widgets
(`ui.links.Setting(P["l"], "dec.level")`) and that lessons and presets are checked against, so a
lesson's link and a page's link cannot drift apart.

    >>> page = PAGES["Decomposition"]
    >>> page.file, [p.key for p in page.own][:3]
    ('pages/2_Decomposition.py', ['l', 'view', 'w'])
    >>> page.query(model="mlp_skip", g="unit", l=2)
    {'v': '1', 'model': 'mlp_skip', 'g': 'unit', 'l': '2'}
    >>> page.query(l=0)
    Traceback (most recent call last):
    ...
    explorer.links.pages.LinkError: Decomposition: l=0: level must be at least 1

Every model page also carries the model keys (`codec.MODEL_PARAMS`) and the classroom flag; the
Playground carries its own settings (`explorer.playground.config.url_fields`), not the model keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from explorer.links.codec import MODEL_PARAMS, LinkDoc, Param, encode

CLASSROOM = Param("classroom", bool, False, label="classroom mode")


class LinkError(ValueError):
    """A link (a lesson's, a preset's) that its page cannot follow; the message names the page and key."""


@dataclass(frozen=True)
class PageLink:
    """One page's link schema: its title (also the URL path with spaces as `_`), file, and `own` params
    (besides the model keys when `model` and the classroom flag)."""

    title: str
    file: str
    own: tuple[Param, ...]
    model: bool = True  # carries MODEL_PARAMS
    validate: Callable[[Mapping[str, Any]], list[str]] | None = None  # what else the page refuses

    @property
    def path(self) -> str:
        return self.title.replace(" ", "_")

    @property
    def params(self) -> tuple[Param, ...]:
        return (*(MODEL_PARAMS if self.model else ()), CLASSROOM, *self.own)

    def __getitem__(self, key: str) -> Param:
        for p in self.params:
            if p.key == key:
                return p
        raise KeyError(f"{self.title} has no link setting {key!r} (it has {', '.join(p.key for p in self.params)})")

    def query(self, **values: Any) -> dict[str, str]:
        """The link query of `values` (keys of `params`), checked by parsing it back: a key this page does
        not have, or a value it would refuse, is a `LinkError` now, not a notice for a student later."""
        unknown = set(values) - {p.key for p in self.params}
        if unknown:
            raise LinkError(f"{self.title}: no link setting {', '.join(sorted(unknown))}")
        q = encode(values, self.params)
        self.parse(q)
        return q

    def parse(self, query: Mapping[str, str]) -> dict[str, Any]:
        """The values of `query`; `LinkError` naming every key the page would ignore."""
        doc = LinkDoc.parse(query, self.params)
        bad = list(doc.notices)
        if self.validate is not None:
            bad += self.validate(doc.values)
        if bad:
            raise LinkError(f"{self.title}: " + "; ".join(s.removeprefix("ignored ") for s in bad))
        return doc.values


# ---- the pages' own settings ---------------------------------------------------------------------

DEC_VIEWS = ("window of levels", "whole matrix", "level blocks")  # Decomposition's views of a big graph
DEC_WINDOW_LEVELS, DEC_WINDOW_DEFAULT = 24, 8  # its level window: the slider's range and first value
LOTTERY_KINDS = {"imp": "lottery.imp", "sweep": "lottery.sweep", "stability": "lottery.stability",
                 "transfer": "lottery.transfer", "earlybird": "lottery.earlybird"}
LOTTERY_FIELDS = ("dataset", "steps", "lr", "batch_size", "eval_every", "seeds", "rounds", "rate", "scope",
                  "output_rate", "rewind_step", "prune_biases", "controls", "batched", "sweep", "pruned_dir",
                  "order_a", "order_b", "points", "target_dataset", "sparsity", "ratio", "ratios", "window",
                  "threshold", "l1_gamma")  # what the Lottery page's forms show (`ui.lottery_forms`)
SCHEMES = ("orthogonal", "delta-orthogonal", "kaiming-normal", "kaiming-uniform", "xavier-normal",
           "xavier-uniform", "lecun-normal", "gaussian", "as-built")
SPP_CRITERIA = ("snip", "snip_unsupervised", "random", "magnitude")


def _field_param(s: Any, choices: bool = True) -> Param:
    """A config setting (`explorer.config.Setting`) as a link param: no default (the form's default, which
    may depend on the model, is what a link leaves out), the setting's type and choices; tuples travel
    comma-separated."""
    kind = s.type if s.type in (bool, int, float) else str
    return Param(s.name, kind, None, choices=tuple(s.choices or ()) if choices and s.type is str else (),
                 label=s.name.replace("_", " "))


def _lottery_params() -> tuple[Param, ...]:
    from explorer.lottery.experiment import KINDS

    out = [Param("kind", str, "imp", choices=tuple(LOTTERY_KINDS), label="experiment"),
           Param("job", str, None, label="experiment on show")]
    by = {s.name: s for c in KINDS.values() for s in c.settings()}
    return (*out, *(_field_param(by[name]) for name in LOTTERY_FIELDS))


def _playground_params() -> tuple[Param, ...]:
    from explorer.playground.config import PlaygroundConfig

    out = [_field_param(s, choices=False) for s in PlaygroundConfig.settings() if s.url]
    return (*out, Param("show_test", bool, False, label="show test data"),
            Param("discretize", bool, False, label="discretize output"))


def _playground_problems(values: Mapping[str, Any]) -> list[str]:
    """What `PlaygroundConfig` refuses in `values` (tuples are comma-separated in a link)."""
    from explorer.playground.config import PlaygroundConfig

    kw = {}
    for k, v in values.items():
        if k in ("show_test", "discretize"):
            continue
        if k in ("features", "skips", "hidden"):
            items = [t for t in str(v).split(",") if t]
            try:
                v = tuple(int(t) for t in items) if k == "hidden" else tuple(items)
            except ValueError:
                return [f"{k}={v}: the layer widths must be whole numbers"]
        kw[k] = v
    try:
        PlaygroundConfig(**kw)
    except (ValueError, TypeError) as e:
        return [str(e)]
    return []


def _activations() -> tuple[str, ...]:
    from explorer.models.generated import ACTIVATIONS

    return tuple(ACTIVATIONS)


def _overlays() -> tuple[str, ...]:
    from explorer.overlays import METRICS

    return tuple(METRICS)


def _prune_criteria() -> tuple[str, ...]:
    from explorer.pruning.criteria.propose import CRITERIA

    return tuple(CRITERIA)


def _pages() -> dict[str, PageLink]:
    pages = [
        PageLink("Home", "app.py", (Param("l", int, 1, lo=1, hi=3, label="level of the worked example"),),
                 model=False),
        PageLink("Architecture", "pages/1_Architecture.py", (
            Param("q", str, "", label="search"),
            Param("free", bool, None, label="free-form view"),
            Param("metric", str, "level", choices=_overlays(), label="overlay"))),
        PageLink("Decomposition", "pages/2_Decomposition.py", (
            Param("l", int, 1, lo=1, label="level"),
            Param("view", str, DEC_VIEWS[0], choices=DEC_VIEWS, label="view"),
            Param("w", int, DEC_WINDOW_DEFAULT, lo=1, hi=DEC_WINDOW_LEVELS, label="levels in the window"),
            Param("masked", bool, False, label="activation masks"),
            Param("x", int, 0, lo=0, hi=10_000, label="input seed"),
            Param("sample", int, None, lo=0, hi=999, label="sample index"))),
        PageLink("Prune", "pages/3_Prune.py", (
            Param("sel", str, None, label="selection"),
            Param("crit", str, None, choices=_prune_criteria(), label="criterion"),
            Param("target", str, None, choices=("units", "arcs", "weights"), label="criterion target"),
            Param("scope", str, "layer", choices=("layer", "global"), label="scope"),
            Param("sp", float, 0.5, lo=0.0, hi=0.95, label="sparsity"))),
        PageLink("Train", "pages/4_Train.py", (Param("group", str, None, label="comparison group"),)),
        PageLink("Lottery", "pages/5_Lottery.py", _lottery_params()),
        PageLink("Signal propagation", "pages/6_Signal_propagation.py", (
            Param("net", str, "generated", choices=("generated", "model"), label="network"),
            Param("depth_l", int, 7, lo=1, hi=60, label="MLP depth"),
            Param("width", int, 100, lo=2, hi=512, label="MLP width"),
            Param("act", str, "linear", choices=_activations(), label="activation"),  # the page opens linear
            Param("io", str, "square", choices=("square", "mnist1d"), label="inputs → outputs"),
            Param("schemes", str, "orthogonal,gaussian", label="init schemes"),
            Param("s2", float, 1.0, lo=0.05, hi=10.0, label="σ_w²"),
            Param("iseed", int, 0, lo=0, hi=10_000, label="init seed"),
            Param("k", int, 32, lo=1, hi=1000, label="inputs K"),
            Param("crit", str, "snip", choices=SPP_CRITERIA, label="pruning criterion"),
            Param("sp", float, 0.9, lo=0.0, hi=0.99, label="sparsity"),
            Param("scope", str, "global", choices=("global", "layer"), label="ranking"),
            Param("iso", int, 1000, lo=0, hi=20_000, label="isometry steps"),
            Param("depths", str, "3,7,15,30", label="depths"))),
        PageLink("Playground", "pages/7_Playground.py", _playground_params(), model=False,
                 validate=_playground_problems),
        PageLink("Compare", "pages/9_Compare.py", (
            Param("kind", str, "models", choices=("models", "pruned", "rounds"), label="comparison"),
            Param("a", str, "mlp", label="model A"),
            Param("b", str, "mlp_skip", label="model B"),
            Param("g", str, "op", choices=("unit", "op", "block"), label="granularity"),
            Param("export", str, None, label="Prune export folder"),
            Param("exp", str, "lottery.imp", choices=("lottery.imp", "lottery.sweep"), label="lottery experiment"),
            Param("i", int, 0, lo=0, hi=50, label="round i"),
            Param("j", int, 5, lo=0, hi=50, label="round j"),
            Param("changes", bool, False, label="changes only"),
            Param("metric", str, "level", choices=(*_overlays(), "kept"), label="overlay"),
            Param("x", int, 0, lo=0, hi=10_000, label="input seed")), model=False),
        PageLink("Learn", "pages/8_Learn.py", (
            Param("lesson", str, None, label="lesson"),
            Param("step", int, 1, lo=1, hi=50, label="step")), model=False),
    ]
    return {p.title: p for p in pages}


PAGES: dict[str, PageLink] = _pages()


def page_link(title: str) -> PageLink:
    """The schema of the page titled `title` (LinkError listing the pages when there is none)."""
    try:
        return PAGES[title]
    except KeyError:
        raise LinkError(f"no page {title!r} (pages: {', '.join(PAGES)})") from None
