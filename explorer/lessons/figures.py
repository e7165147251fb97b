"""The small live figure of a lesson step (`Figure`): a zoo model's DAG with a search emphasised, its
lifting step T_l, or the partial product T_l ⋯ T_1 (docs/science.md §1, §2). Zoo graphs build and
decompose in well under a second; the figure is drawn at the size a slide needs.

    >>> from explorer.lessons.model import Figure
    >>> fig = draw(Figure("T", "mlp", "unit", l=2))
    >>> fig.layout.title.text
    'T_2 of mlp (unit)'
"""

from __future__ import annotations

from typing import Any

from explorer.lessons.model import Figure, LessonError


def draw(spec: Figure, height: int = 420, width: int = 900) -> Any:
    """The plotly figure `spec` describes, `height` px tall (a matrix: within `width` px)."""
    from explorer.figures.dag_plot import dag_figure
    from explorer.figures.matrix_plot import matrix_figure
    from explorer.graph import build_dag

    dag = build_dag(spec.model, granularity=spec.g)
    name = f"{spec.model} ({spec.g})"
    if spec.kind == "dag":
        fig = dag_figure(dag, search=spec.search or None, height=height)
        fig.update_layout(title=f"{name}: x = level" + (f", '{spec.search}' emphasised" if spec.search else ""))
        return fig
    import numpy as np

    from explorer.lifting import lifting, views

    if not 1 <= spec.l <= dag.depth:
        raise LessonError(f"{name} has levels 1..{dag.depth}, not {spec.l}")
    L = lifting(dag)
    if spec.kind == "T":
        ids, M, labels = views.node_matrix(L, spec.l)
        band = [i for i in ids if dag.level.get(i) == spec.l]
        title = f"T_{spec.l} of {name}"
        if spec.w:  # as the Decomposition page opens a big T_l: a window of levels, labelled
            level = {"1": 0, **dag.level}
            keep = views.level_window(ids, M, level, spec.l, spec.w)
            ids, M = [ids[k] for k in keep], views.dense(M)[np.ix_(keep, keep)]
            labels = labels[np.ix_(keep, keep)] if labels is not None else None
            title += f" — window: levels {level[ids[0]]}..{level[ids[-1]]}, {len(ids)} nodes"
        return matrix_figure(ids, M, labels=labels, band=band, title=title, height=height, width=width)
    ids, P, _ = views.product_view(L, spec.l)
    return matrix_figure(ids, P, title=f"T_{spec.l} ⋯ T_1 of {name}", height=height, width=width)
