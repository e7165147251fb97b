"""Plotly figures of the explorer: the DAG laid out by level, the lifting matrices.

Import-free on purpose (`import explorer.figures` loads nothing heavy); the public
functions are fetched lazily from their modules on first use:

- `dag_figure(dag, ...)`     -> `explorer.figures.dag_plot`
- `matrix_figure(ids, M, ...)` -> `explorer.figures.matrix_plot`
- `level_layout(dag)`        -> `explorer.figures.layout`
"""

_LAZY = {
    "dag_figure": "explorer.figures.dag_plot",
    "search_nodes": "explorer.figures.dag_plot",
    "figure_html": "explorer.figures.dag_plot",
    "level_colors": "explorer.figures.dag_plot",
    "TRACE_ARCS": "explorer.figures.dag_plot",
    "TRACE_SKIP_ARCS": "explorer.figures.dag_plot",
    "TRACE_ARC_MIDPOINTS": "explorer.figures.dag_plot",
    "TRACE_NODES": "explorer.figures.dag_plot",
    "TRACE_SELECTED_ARCS": "explorer.figures.dag_plot",
    "matrix_figure": "explorer.figures.matrix_plot",
    "level_histogram_figure": "explorer.figures.matrix_plot",
    "level_layout": "explorer.figures.layout",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'explorer.figures' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
