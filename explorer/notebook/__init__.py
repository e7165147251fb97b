"""The notebook entry points, `explorer.show(...)` and `explorer.compare(...)`: the interactive DAG (or two
side by side) as an inline figure that needs no network.

A `Shown` displays in Jupyter through `_repr_mimebundle_`: plotly's JSON mimetype (JupyterLab, VS Code and
Colab draw it with the plotly.js they ship) and HTML with plotly.js in-line (the classic notebook, nbviewer,
an exported HTML file) — no CDN either way. `.figure` is the plotly figure, `.dag` the graph, `.overlay` the
metric drawn, `.diff` (a comparison) the lifting diff's rows.

    >>> s = show("mlp_skip", metric="params")
    >>> s.dag.granularity, s.overlay.unit, "application/vnd.plotly.v1+json" in s._repr_mimebundle_()
    ('op', 'parameters', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

PLOTLY_MIME = "application/vnd.plotly.v1+json"


@dataclass
class Shown:
    figure: Any
    dag: Any = None
    overlay: Any = None
    diff: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {PLOTLY_MIME: self.figure.to_plotly_json(),
                "text/html": self.figure.to_html(include_plotlyjs=True, full_html=False),
                "text/plain": repr(self)}

    def __repr__(self) -> str:
        what = self.title or (repr(self.dag) if self.dag is not None else "figure")
        return f"Shown({what}{f', {self.overlay!r}' if self.overlay is not None else ''})"


def _graph(what: Any, granularity: str | None, example_input: Any, seed: int, depth: int | None) -> tuple[Any, Any]:
    """(Dag, model or None) of a spec, a LoadedModel, an nn.Module (with `example_input`) or a Dag."""
    from explorer.graph.build import build_dag, default_granularity
    from explorer.graph.dag import Dag

    if isinstance(what, Dag):
        return what, None
    if isinstance(what, str):
        g = granularity or default_granularity(what, seed=seed)
        model = None
        if not what.lower().endswith(".onnx"):
            from explorer import models

            model = models.load_cached(what, seed).model
        return build_dag(what, g, depth, seed), model
    if hasattr(what, "model") and hasattr(what, "example_input"):  # a models.LoadedModel
        return build_dag(what, granularity or "op", depth), what.model
    import torch

    if isinstance(what, torch.nn.Module):
        if example_input is None:
            raise TypeError(f"show({type(what).__name__}(...)) needs example_input=, a batch the model accepts")
        lm = SimpleNamespace(model=what.eval(), example_input=example_input, info=None)
        return build_dag(lm, granularity or "op", depth), what
    raise TypeError(f"show() takes a model spec (e.g. 'resnet_tiny'), an nn.Module with example_input=, a "
                    f"LoadedModel or a Dag, not {type(what).__name__}")


def show(model_or_spec: Any, granularity: str | None = None, metric: str = "level", *, by: str = "color",
         example_input: Any = None, seed: int = 0, depth: int | None = None, search: str | None = None) -> Shown:
    """The DAG of `model_or_spec` laid out by level, nodes coloured (or sized, `by="size"`) by `metric` (any
    of `explorer.overlays.METRICS`). Granularity: "unit", "op" or "block" (default: op, block past 400 ops)."""
    from explorer.figures.dag_plot import dag_figure
    from explorer.overlays import overlay

    dag, model = _graph(model_or_spec, granularity, example_input, seed, depth)
    ov = overlay(metric, dag, model) if metric != "level" else None
    return Shown(dag_figure(dag, overlay=ov, overlay_by=by, search=search), dag, ov)


def compare(a: Any = None, b: Any = None, *, granularity: str = "op", rounds: tuple[int, int] | None = None,
            experiment: str = "lottery.imp", metric: str = "level", changes_only: bool = False) -> Shown:
    """Two graphs side by side with their lifting diff (`explorer.sidebyside`):

    - `compare("mlp", "mlp_skip")`: model A vs model B (nodes matched by module path and op);
    - `compare("path/to/export")`: dense vs the pruned network of a Prune export folder;
    - `compare(rounds=(0, 5))`: IMP round i vs round j of the lessons' shipped lottery experiment.

    `metric`: any overlay of `explorer.overlays.METRICS`, or "kept" (the fraction of each node's weights a mask
    keeps)."""
    from pathlib import Path

    from explorer import sidebyside as sbs
    from explorer.figures.compare_plot import side_by_side
    if rounds is not None:
        cmp = sbs.of_rounds(*rounds, experiment=experiment, granularity=granularity)
    elif b is None and a is not None and Path(str(a)).is_dir():
        cmp = sbs.of_export(a)
    elif a is not None and b is not None:
        cmp = sbs.of_models(str(a), str(b), granularity)
    else:
        raise TypeError("compare(a, b) takes two model specs, compare(EXPORT_DIR) a Prune export folder, "
                        "compare(rounds=(i, j)) two IMP rounds")
    ov = (None, None)
    if metric != "level":
        ov = tuple(sbs.side_overlay(s, metric) for s in (cmp.a, cmp.b))
    fig = side_by_side(cmp.a.dag, cmp.b.dag, cmp.match, title_a=cmp.a.label, title_b=cmp.b.label,
                       changes_only=changes_only, dimmed_b=cmp.b.removed_nodes, overlay_a=ov[0], overlay_b=ov[1])
    return Shown(fig, cmp.a.dag, None, sbs.level_rows(cmp)[0], cmp.title)
