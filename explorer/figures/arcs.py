"""How the arcs of a DAG figure are drawn: one by one, or — past a budget — as bundles between layers.

A unit-level graph has an arc per weight: `lottery_mlp` (40-500-500-10) has 280,000. Drawn one by one
they cost ~100 bytes each on the wire and minutes in the browser, and a 500 x 500 layer pair is a solid
grey block anyway. So past `ARC_BUDGET` arcs, `arc_plan` groups the arcs by the layers they join
(source layer, target layer; a layer is the nodes of one level that share a group: a unit-level
`Linear`'s units, a conv's channels) and draws the big groups as one band each, labelled with the
number of arcs it holds; the hover gives their density and weights. The smallest groups — often the
skip connections a lesson is about — stay individual arcs while they fit in the budget if they are
sparse or few (a dense layer pair drawn arc by arc is a solid wedge, no more readable than its band),
and so do the arcs of the nodes in `focus` (a search hit, a selected node): the per-arc detail where
the user looks.

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> nodes = [Node(f"x[{i}]", "input", meta={"group": "x"}) for i in range(3)]
    >>> nodes += [Node(f"h[{j}]", "Linear", "h", meta={"group": "h"}) for j in range(4)]
    >>> nodes += [Node("y[0]", "output", meta={"group": "y"})]
    >>> arcs = [Arc(f"x[{i}]", f"h[{j}]") for i in range(3) for j in range(4)]
    >>> arcs += [Arc(f"h[{j}]", "y[0]") for j in range(4)] + [Arc("x[0]", "y[0]")]
    >>> dag = Dag.build(nodes, arcs, "unit")
    >>> plan = arc_plan(dag, budget=6)
    >>> [(b.src, b.dst, len(b.arcs)) for b in plan.bundles], len(plan.individual)
    ([('x', 'h', 12)], 5)
    >>> len(arc_plan(dag, focus=["h[2]"], budget=6).individual)  # h[2]'s 3 in-arcs join the 5
    8
    >>> arc_plan(dag).bundles  # 17 arcs fit the default budget: all drawn one by one
    ()
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from explorer.graph.dag import Dag
from explorer.figures.wording import plural

ARC_BUDGET = 3000  # arcs drawn one by one at most (plus the focus's); the rest as bundles between layers
FOCUS_BUDGET = 3000  # arcs of focus nodes (search hits, the selection) drawn one by one on top of the bundles
SPARSE = 0.25  # a layer pair whose arcs join at most this fraction of its node pairs stays arc by arc (an identity
SMALL = 64  # skip, a conv's local window) when it fits the budget, and so does one of at most SMALL arcs; a
#              denser one reads better as a band (a 100 x 10 full layer drawn arc by arc is a solid wedge)
CURVE_SAMPLES = 9  # points per curved skip arc


def layer_of(dag: Dag, node_id: str) -> str:
    """The layer a node belongs to within its level: its unit-level group (the module of a neuron or
    channel), else its module, else its op."""
    n = dag.node(node_id)
    return str(n.meta.get("group") or n.module or n.op)


@dataclass(frozen=True)
class Bundle:
    """The arcs from layer `src` (at level `src_level`) to layer `dst` (at `dst_level`), as indices
    into `dag.arcs`; `pairs` is how many (source, target) node pairs the two layers have."""

    src: str
    dst: str
    src_level: int
    dst_level: int
    arcs: tuple[int, ...]
    pairs: int

    @property
    def skip(self) -> bool:
        return self.dst_level - self.src_level > 1

    @property
    def density(self) -> float:
        return len(self.arcs) / max(self.pairs, 1)

    def hover(self, dag: Dag, selected: int = 0) -> str:
        """What a reader learns from hovering the band: layers, arc count, density, kinds, weights."""
        arcs = [dag.arcs[k] for k in self.arcs]
        kinds = sorted({a.kind for a in arcs})
        w = np.abs(np.array([a.weight for a in arcs if a.weight is not None], dtype=float))
        weights = f"<br>|weight| mean {w.mean():.3g}, max {w.max():.3g}" if w.size else ""
        sel = f"<br><b>{selected:,} selected</b> (red)" if selected else ""
        return (f"<b>{self.src} → {self.dst}</b> (levels {self.src_level}→{self.dst_level})<br>"
                f"{plural(len(arcs), 'arc')} in one bundle: {self.density:.0%} of the {self.pairs:,} node pairs"
                f"<br>kind: {', '.join(kinds)}{weights}{sel}")


@dataclass(frozen=True)
class ArcPlan:
    """Which arcs a figure draws one by one (`individual`, indices into `dag.arcs`, in arc order) and
    which as `bundles`. Every arc is in one of them, and an arc of a focus node in both: drawn on top of
    its bundle, which still counts it."""

    total: int
    individual: tuple[int, ...]
    bundles: tuple[Bundle, ...]

    @property
    def bundled(self) -> int:
        return sum(len(b.arcs) for b in self.bundles)

    def note(self) -> str:
        """A caption saying how the arcs are drawn ("" when every arc is drawn one by one)."""
        if not self.bundles:
            return ""
        singles = self.total - self.bundled
        alone = f", the other {plural(singles, 'arc')} one by one" if singles else ""
        return (f"{self.total:,} arcs are too many to draw one by one: {self.bundled:,} are drawn as "
                f"{plural(len(self.bundles), 'bundle')} between layers (shaded bands labelled with their arc "
                f"count; hover a band for its density and weights){alone}; selected arcs are red either way.")


def arc_plan(dag: Dag, focus: Collection[str] = (), budget: int = ARC_BUDGET,
             focus_budget: int = FOCUS_BUDGET) -> ArcPlan:
    """Split `dag`'s arcs into those drawn one by one and bundles (see the module doc): all arcs when
    they fit `budget`; else whole layer-to-layer groups, smallest first, while they fit, plus up to
    `focus_budget` arcs touching a node of `focus`."""
    n = len(dag.arcs)
    if n <= budget:
        return ArcPlan(n, tuple(range(n)), ())
    layer = {v.id: layer_of(dag, v.id) for v in dag.nodes}
    size: dict[tuple[int, str], int] = {}
    for v in dag.nodes:
        key = (dag.level[v.id], layer[v.id])
        size[key] = size.get(key, 0) + 1
    groups: dict[tuple, list[int]] = {}
    for k, a in enumerate(dag.arcs):
        groups.setdefault((dag.level[a.src], layer[a.src], dag.level[a.dst], layer[a.dst]), []).append(k)
    individual: list[int] = []
    bundles: list[Bundle] = []
    for (l0, s, l1, d), ks in sorted(groups.items(), key=lambda kv: (len(kv[1]), kv[0])):
        b = Bundle(s, d, l0, l1, tuple(ks), size[(l0, s)] * size[(l1, d)])
        if len(individual) + len(ks) <= budget and (len(ks) <= SMALL or b.density <= SPARSE):
            individual += ks
        else:
            bundles.append(b)
    focus = set(focus)
    if focus:
        shown = set(individual)
        extra = [k for b in bundles for k in b.arcs if dag.arcs[k].src in focus or dag.arcs[k].dst in focus]
        individual += [k for k in extra if k not in shown][:focus_budget]
    bundles.sort(key=lambda b: (b.src_level, b.dst_level, b.src, b.dst))
    return ArcPlan(n, tuple(sorted(individual)), tuple(bundles))


def _bow(x0: float, x1: float) -> float:
    return min(0.12 * (x1 - x0) + 0.35, 1.2)  # control point offset in y, grows with the span (bounded)


def _bezier(x0: float, y0: float, x1: float, y1: float, t: float, curved: bool) -> float:
    """y at parameter t of the arc from (x0, y0) to (x1, y1) (see `arc_points`)."""
    cy = (y0 + y1) / 2 + (_bow(x0, x1) if curved else 0.0)
    return (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1


def arc_points(x0: float, y0: float, x1: float, y1: float, curved: bool) -> tuple[list[float], list[float]]:
    """Polyline of one arc; a skip arc bows out as a quadratic Bézier so it does not hide behind nodes.

    >>> arc_points(0, 0, 1, 1, False)
    ([0, 1], [0, 1])
    >>> xs, ys = arc_points(0, 0, 2, 0, True); len(xs), max(ys) > 0
    (9, True)
    """
    if not curved:
        return [x0, x1], [y0, y1]
    ts = [k / (CURVE_SAMPLES - 1) for k in range(CURVE_SAMPLES)]
    return [x0 + t * (x1 - x0) for t in ts], [_bezier(x0, y0, x1, y1, t, True) for t in ts]


def extents(dag: Dag, pos: dict[str, tuple[float, float]]) -> dict[tuple[int, str], tuple[float, float]]:
    """(lowest y, highest y) of each layer's nodes, keyed by (level, layer)."""
    out: dict[tuple[int, str], tuple[float, float]] = {}
    for v in dag.nodes:
        key, y = (dag.level[v.id], layer_of(dag, v.id)), pos[v.id][1]
        lo, hi = out.get(key, (y, y))
        out[key] = (min(lo, y), max(hi, y))
    return out


def band(b: Bundle, ext: dict[tuple[int, str], tuple[float, float]], x0: float, x1: float,
         pad: float = 0.3) -> tuple[list[float], list[float], tuple[float, float]]:
    """The closed outline of bundle `b` from its source layer's extent at x0 to its target's at x1 (a
    skip bundle bows like a skip arc), and the point its label sits on: between the first two columns of
    nodes — in the middle of the band, or for a skip bundle near its upper edge, clear of the label of a
    bundle it crosses."""
    (s_lo, s_hi), (d_lo, d_hi) = ext[(b.src_level, b.src)], ext[(b.dst_level, b.dst)]
    tx, ty = arc_points(x0, s_hi + pad, x1, d_hi + pad, b.skip)
    bx, by = arc_points(x0, s_lo - pad, x1, d_lo - pad, b.skip)
    dx = 0.5 if b.skip else 0.3  # a plain band's single arcs put their diamonds half way: keep clear of them
    t = dx / max(x1 - x0, 1e-9)  # the Bézier's x runs linearly from x0 to x1 (its control point sits midway)
    top, bottom = _bezier(x0, s_hi + pad, x1, d_hi + pad, t, b.skip), _bezier(x0, s_lo - pad, x1, d_lo - pad, t, b.skip)
    w = 0.8 if b.skip else 0.5  # how far up the band, bottom (0) to top (1)
    return tx + bx[::-1] + [tx[0]], ty + by[::-1] + [ty[0]], (x0 + dx, w * top + (1 - w) * bottom)


def centre_line(b: Bundle, ext: dict[tuple[int, str], tuple[float, float]], x0: float,
                x1: float) -> tuple[list[float], list[float]]:
    """The middle of a bundle's band (where a bundle's selected arcs are drawn when they are too many)."""
    (s_lo, s_hi), (d_lo, d_hi) = ext[(b.src_level, b.src)], ext[(b.dst_level, b.dst)]
    return arc_points(x0, (s_lo + s_hi) / 2, x1, (d_lo + d_hi) / 2, b.skip)


def count_text(n: int, selected: int = 0) -> str:
    """A band's label: "10k arcs", or with the part of it selected.

    >>> count_text(280_000), count_text(950), count_text(10_000, 8_000), count_text(1_250)
    ('280k arcs', '950 arcs', '10k arcs, 8k selected', '1.25k arcs')
    """
    def short(v: int) -> str:
        return f"{v / 1000:.3g}k" if v >= 1000 else str(v)

    return f"{short(n)} arcs" + (f", {short(selected)} selected" if selected else "")


__all__: Sequence[str] = ("ARC_BUDGET", "ArcPlan", "Bundle", "arc_plan", "arc_points", "band", "centre_line",
                          "count_text", "extents", "layer_of")
