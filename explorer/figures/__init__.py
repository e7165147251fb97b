"""Figures of the explorer: the DAG laid out by level, the lifting matrices, learning curves,
the free-form pyvis view, and plotly selection events read back into the graph.

- `layout`     — `level_layout(dag)`: x = level, barycentre-ordered ranks;
- `dag_plot`   — `dag_figure(dag, ...)`, selectable traces in a fixed order;
- `matrix_plot`— `matrix_figure(ids, M, ...)`, level blocks, the level histogram;
- `curves`     — learning curves per role;
- `spectra`    — the signal-propagation lab: spectrum histograms, depth sweep, per-layer heatmap,
  kept fractions, the isometry penalty;
- `pyvis_view` — the offline force-directed view;
- `events`     — `selection_from_event(dag, event)`.

Import the modules directly (`from explorer.figures.dag_plot import dag_figure`): this
package imports nothing, so `import explorer.figures` stays light.
"""
