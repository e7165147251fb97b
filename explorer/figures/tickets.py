"""A ticket drawn: its surviving arcs and units on the unit-level DAG, and its first layer's
mask as an image (docs/science.md §1, §7).

On MNIST-1D the first layer's mask shows *local connectivity*: IMP keeps, for each hidden
unit, a window of neighbouring input positions; sorting the units by the centre of their kept
inputs makes the windows line up into a band.

    >>> import torch
    >>> m = torch.tensor([[0., 1., 1., 0.], [1., 1., 0., 0.], [0., 0., 0., 0.]])
    >>> order_by_centre(m).tolist()
    [1, 0, 2]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import torch

from explorer.figures.dag_plot import dag_figure
from explorer.graph.dag import Dag
from explorer.pruning.coupling import emptied_arcs

MAX_ARCS = 12_000  # surviving arcs drawn at most (evenly thinned beyond, and said so)


def order_by_centre(mask2d: torch.Tensor) -> torch.Tensor:
    """Row order by the mean position of each row's kept columns (empty rows last)."""
    pos = torch.arange(mask2d.shape[1], dtype=torch.float64)
    kept = mask2d.double().sum(1)
    centre = (mask2d.double() * pos).sum(1) / kept.clamp_min(1)
    centre[kept == 0] = float("inf")
    return torch.sort(centre, stable=True).indices


def mask_image(mask: torch.Tensor, name: str, sort: bool = True) -> go.Figure:
    """The 0/1 mask of one layer as an image: rows = output units, columns = inputs (a conv's
    kernel positions unrolled per input channel)."""
    m = mask.detach().float().reshape(mask.shape[0], -1).cpu()  # (out, in * k)
    kept = float(m.mean())
    order = order_by_centre(m) if sort else torch.arange(m.shape[0])
    alive = order[m[order].sum(1) > 0] if sort else order
    gone = m.shape[0] - len(alive)
    m = m[alive]  # (units with an input left, in * k)
    fig = go.Figure(go.Heatmap(z=m.numpy(), y=alive.tolist(), colorscale=[[0, "#f7f7f7"], [1, "#08306b"]], zmin=0,
                               zmax=1, showscale=False, hovertemplate="unit %{y}, input %{x}: %{z:.0f}<extra></extra>"))
    fig.update_yaxes(type="category", showticklabels=False)
    note = (f" · units sorted by the centre of their kept inputs; {gone} units with no input left not shown"
            if sort else "")
    fig.update_layout(title=f"{name}: {100 * kept:.1f}% of weights kept{note}", xaxis_title="input position",
                      yaxis_title=f"unit ({len(alive)})", height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_yaxes(autorange="reversed")
    return fig


def surviving(dag: Dag, mask: Mapping[str, torch.Tensor], max_arcs: int = MAX_ARCS) -> tuple[Dag, list[str], int]:
    """The ticket's sub-graph of a unit-level `dag`: arcs whose weight (or kernel) survives `mask`
    (arcs of unmasked parameters and identity arcs always do), thinned to `max_arcs`; the units
    left with no input or no output (dimmed); and how many arcs survive in all."""
    gone = set(emptied_arcs(dag, mask))  # the one mask-to-arc mapping
    keep = [a for a in dag.arcs if a.id not in gone]
    n = len(keep)
    if n > max_arcs:
        step = n / max_arcs
        keep = [keep[int(i * step)] for i in range(max_arcs)]
    sub = dag.replace(arcs=tuple(keep))
    ins, outs = {a.dst for a in keep}, {a.src for a in keep}
    dead = [v.id for v in dag.nodes if (v.id not in ins and v.id not in dag.inputs)
            or (v.id not in outs and v.id not in dag.outputs)]
    return sub, dead, n


def ticket_dag_figure(dag: Dag, mask: Mapping[str, torch.Tensor], layout: dict[str, Any] | None = None) -> go.Figure:
    """The ticket on the DAG: surviving arcs, units cut off by the mask dimmed."""
    sub, dead, n = surviving(dag, mask)
    fig = dag_figure(sub, dimmed=dead, layout=layout, height=520)
    shown = "" if n <= MAX_ARCS else f" (every {n / MAX_ARCS:.1f}th drawn)"
    fig.update_layout(title={"text": f"the ticket on the DAG: {n:,} of {len(dag.arcs):,} arcs survive{shown}; "
                                     f"{len(dead)} units cut off", "y": 0.98},
                      margin={"t": 70}, legend={"orientation": "h", "y": -0.12, "x": 0})
    return fig
