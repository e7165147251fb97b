"""Figures of the explorer: the DAG laid out by level, the lifting matrices, learning curves,
the free-form pyvis view, and plotly selection events read back into the graph.

- `palette`    — every colour: `level_colors(n)` (Viridis, never red), `SELECT_COLOR`, matrix scales,
  `delta_e` (CIE76) to check them;
- `layout`     — `level_layout(dag)`: x = level, barycentre-ordered ranks;
- `node_labels`— what is written next to a node, which nodes get a label, the inspector's facts;
- `dag_plot`   — `dag_figure(dag, ...)`, selectable traces in a fixed order;
- `matrix_plot`— `matrix_figure(ids, M, ...)` sized to be read (two-line op labels), level blocks;
- `level_widths`— nodes per level, in the form that suits the graph (chain, mostly chain, bars);
- `wording`    — words instead of ids and reprs: plurals, "src → dst", selections, proposals;
- `curves`     — learning curves per role;
- `spectra`    — the signal-propagation lab: spectrum histograms, depth sweep, per-layer heatmap,
  kept fractions, the isometry penalty;
- `pyvis_view` — the offline force-directed view;
- `preview`    — `figure_svg(fig)`: a scatter figure (the module tree's) as static SVG, painted before
  plotly.js has loaded;
- `events`     — `selection_from_event(dag, event)`.

Import the modules directly (`from explorer.figures.dag_plot import dag_figure`): this
package imports nothing, so `import explorer.figures` stays light.
"""
