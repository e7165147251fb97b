"""A frame's network rebuilt, for what the page does between frames: draw each unit's heatmap and
the arcs with their weights, check a prune before it is made, find spline-redundant units.

The unit DAG drawn and pruned is the network's *structure* (`structure_dag`: the DAG of a fresh
init, every arc present) with the frame's weights on its arcs — so a pruned unit keeps its place
in its layer instead of dropping to level 0 as a unit with no in-arc would, and removals are
checked and applied on the real structure (`explorer.pruning.validity`, `apply`).

    >>> from explorer.playground.config import PlaygroundConfig
    >>> from explorer.playground.frame import make_frame
    >>> from explorer.playground.data import make_data
    >>> from explorer.playground.net import build_net
    >>> cfg = PlaygroundConfig(hidden=(3, 3))
    >>> s = snapshot(cfg, make_frame(build_net(cfg), cfg, make_data(cfg), 0))
    >>> s.dag, check_prune(s, ["h1[0]"]).ok, check_prune(s, ["h2[0]", "h2[1]", "h2[2]"]).ok
    (Dag(playground, unit: 10 nodes, 21 arcs, levels 0..3), True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from explorer.concurrency import seeded
from explorer.graph.dag import Arc, Dag
from explorer.graph.unit import unit_dag
from explorer.playground.config import PlaygroundConfig
from explorer.playground.data import make_data
from explorer.playground.features import LABELS
from explorer.playground.frame import lifting_of, load_weights
from explorer.playground.net import PlaygroundNet, build_net
from explorer.playground.units import unit_maps
from explorer.pruning.selection import Selection
from explorer.pruning.validity import Verdict, check
from explorer.regions.redundancy import redundant_units


@lru_cache(maxsize=32)
def _structure(widths: tuple[int, ...], activation: str, skips: tuple[tuple[int, int], ...]) -> Dag:
    with seeded(0):
        net = PlaygroundNet(list(widths), activation, list(skips))
    return unit_dag(net, torch.zeros(1, widths[0]), "playground")


def structure_dag(cfg: PlaygroundConfig) -> Dag:
    """The unit DAG of the architecture of `cfg` (every arc present), as pruning and drawing see it."""
    return _structure(tuple(cfg.widths), cfg.activation, tuple(cfg.skip_pairs()))


@dataclass
class Snapshot:
    cfg: PlaygroundConfig
    frame: dict[str, Any]
    model: PlaygroundNet
    dag: Dag  # the structure, every arc weighted by this frame (pruned: 0)

    @property
    def pruned(self) -> tuple[str, ...]:
        return tuple(self.frame.get("pruned") or ())


def snapshot(cfg: PlaygroundConfig, frame: dict[str, Any]) -> Snapshot:
    """The network of `cfg` at `frame` (its weights loaded) and its structure weighted by them."""
    model = build_net(cfg)
    load_weights(model, frame["weights"])
    model.eval()
    params = {k: v.detach().double().numpy() for k, v in model.named_parameters()}
    base = structure_dag(cfg)
    arcs = []
    for a in base.arcs:  # every arc of the structure, weighted by this frame (pruned ones: 0)
        p, idx = a.meta.get("param"), a.meta.get("index")
        w = float(params[p][tuple(idx)]) if p in params and idx is not None else a.weight
        arcs.append(Arc(a.src, a.dst, f"w={w:.3g}", a.kind, w, dict(a.meta)))
    dag = Dag.build(list(base.nodes), arcs, "unit", inputs=base.inputs, outputs=base.outputs, name=base.name)
    return Snapshot(cfg, frame, model, dag)


def feature_labels(cfg: PlaygroundConfig) -> dict[str, str]:
    """Node id -> label for the inputs (the features) and the outputs (the classes)."""
    out = {f"x[{k}]": LABELS[f] for k, f in enumerate(cfg.features)}
    out.update({f"out[{c}]": f"class {c}" for c in range(cfg.n_classes)})
    return out


def maps(s: Snapshot, res: int = 24) -> dict:
    """Each unit's heatmap at this frame (`units.unit_maps`)."""
    return unit_maps(s.model, s.cfg, make_data(s.cfg).box, res)


def check_prune(s: Snapshot, ids: list[str]) -> Verdict:
    """Whether removing `ids` (hidden units, arcs) as well as what is already pruned leaves a working network."""
    dag = structure_dag(s.cfg)
    return check(dag, Selection.from_ids(dag, sorted(set(ids) | set(s.pruned)), note="playground"))


def spline_candidates(s: Snapshot, threshold: float) -> list[tuple[str, float]]:
    """Units whose boundary hyperplane nearly coincides with another's at this frame (`regions.redundancy`)."""
    return [(u, sim) for u, sim in redundant_units(lifting_of(s.model, s.cfg), threshold) if u not in s.pruned]
