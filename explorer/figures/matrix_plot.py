"""Heatmaps of the lifting matrices T_l (docs/science.md §2) and of their products.

`matrix_figure(ids, M)` draws a node-by-node matrix with rows and columns labelled by
node id, zeros blank (NaN, so the lower-triangular shape is plain to see), the strictly
upper triangle shaded as "structurally zero", the level-l band (`band`: the ids of the
rows a lifting step writes) boxed, and `zeroed` entries (what a pruning selection would
remove) outlined in red.

Trace order: 0 "matrix" (the heatmap; hover shows row/col ids, the value and, at op
level, the operator label), 1 "zeroed" (red open squares at the `zeroed` entries).

    >>> import numpy as np
    >>> T = np.array([[1, 0, 0], [2.0, 1, 0], [0, -1.5, 1]])
    >>> fig = matrix_figure(["x", "h", "y"], T, band=["h"], zeroed=[("h", "x")])
    >>> [t.name for t in fig.data]
    ['matrix', 'zeroed']
    >>> bool(np.isnan(fig.data[0].z[0][1]))  # a zero is blank
    True
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import plotly.graph_objects as go

TEXT_THRESHOLD = 24  # at or below this many rows, each entry's number/label is written in its cell
TICK_THRESHOLD = 80  # above this many rows, tick labels are hidden (hover still names them)
HOVER_THRESHOLD = 400  # above this, per-cell hover labels are dropped to keep the page light


def _as_array(M) -> np.ndarray:
    if hasattr(M, "detach"):
        M = M.detach().cpu().numpy()
    return np.asarray(M, dtype=float)


def matrix_figure(
    ids: Sequence[str],
    M,
    *,
    labels=None,
    band: Collection[str] | None = None,
    zeroed: Collection[tuple[str, str]] = (),
    col_ids: Sequence[str] | None = None,
    title: str | None = None,
    height: int | None = None,
    colorbar_title: str = "entry",
) -> go.Figure:
    """Heatmap of `M` (rows `ids`, columns `col_ids` or `ids`).

    Arguments:
      labels: optional matrix of strings the same shape as M (op level: operator labels);
        shown on hover, and in the cells of small matrices. Entries with a label but value
        0 are drawn as 1 so symbolic entries stay visible.
      band: row ids to box (the level-l rows of T_l).
      zeroed: (row_id, col_id) entries outlined in red (what a selection would zero).
    """
    rows = list(ids)
    cols = list(col_ids) if col_ids is not None else rows
    A = _as_array(M)
    if A.shape != (len(rows), len(cols)):
        raise ValueError(f"matrix of shape {A.shape} does not match {len(rows)} row ids × {len(cols)} column ids; "
                         "pass ids in the order of the matrix rows/columns")
    L = None
    if labels is not None:
        L = np.asarray(labels, dtype=object)
        if L.shape != A.shape:
            raise ValueError(f"labels of shape {L.shape} do not match the matrix shape {A.shape}")
        A = np.where((A == 0) & (L != "") & (L != None), 1.0, A)  # noqa: E711 (elementwise)
    Z = np.where(A == 0, np.nan, A)  # zeros blank
    n, m = A.shape
    # colour range from the off-diagonal entries: the unit diagonal would otherwise wash out small weights
    off = Z.copy()
    if n == m:
        np.fill_diagonal(off, np.nan)
    finite = off[np.isfinite(off)]
    if not finite.size:
        finite = Z[np.isfinite(Z)]
    symbolic = L is not None
    if symbolic or (finite.size and finite.min() >= 0):
        colorscale, zmid = "Blues", None
        zmin = 0.0
        zmax = float(finite.max()) if finite.size else 1.0
    else:
        colorscale, zmid = "RdBu", 0.0
        r = float(np.abs(finite).max()) if finite.size else 1.0
        zmin, zmax = -r, r

    hover_ok = n * m <= HOVER_THRESHOLD**2
    custom = None
    if hover_ok and L is not None:  # a numeric matrix's hover needs no customdata (90,000 empty strings at 300 units)
        custom = np.where(L == None, "", L).astype(str)  # noqa: E711
    heat = go.Heatmap(
        z=Z, x=cols, y=rows, name="matrix", colorscale=colorscale, zmid=zmid, zmin=zmin, zmax=zmax,
        customdata=custom, xgap=1 if n <= 60 else 0, ygap=1 if n <= 60 else 0,
        hovertemplate=("row %{y}<br>col %{x}<br>value %{z:.4g}" + ("<br>%{customdata}" if symbolic else "")
                       + "<extra></extra>") if hover_ok else "row %{y}<br>col %{x}<br>%{z:.3g}<extra></extra>",
        colorbar=dict(title=dict(text=colorbar_title), thickness=12, len=0.6),
    )
    if max(n, m) <= TEXT_THRESHOLD:
        if symbolic:
            heat.text = np.where(L == None, "", L).astype(str)  # noqa: E711
            heat.texttemplate = "%{text}"
        else:
            heat.texttemplate = "%{z:.2f}"
        heat.textfont = dict(size=10)
    zr = [r for r, c in zeroed]
    zc = [c for r, c in zeroed]
    red = go.Scatter(x=zc, y=zr, mode="markers", name="zeroed", hoverinfo="skip",
                     marker=dict(symbol="square-open", color="#d62728", line=dict(width=2.5),
                                 size=max(6, min(22, 560 // max(n, 1)))), showlegend=bool(zr))
    fig = go.Figure([heat, red])

    shapes = []
    if rows == cols and n > 1:
        # the strictly upper triangle is zero in every lifting matrix: shade it
        shapes.append(dict(type="path", path=f"M -0.5 -0.5 L {n - 0.5} -0.5 L {n - 0.5} {n - 0.5} Z",
                           fillcolor="rgba(120,120,120,0.08)", line=dict(width=0), layer="below"))
        shapes.append(dict(type="line", x0=-0.5, y0=-0.5, x1=n - 0.5, y1=n - 0.5,
                           line=dict(color="rgba(80,80,80,0.35)", width=1, dash="dot")))
    if band:
        pos = {r: k for k, r in enumerate(rows)}
        ks = sorted(pos[r] for r in band if r in pos)
        if ks:
            shapes.append(dict(type="rect", x0=-0.5, x1=m - 0.5, y0=ks[0] - 0.5, y1=ks[-1] + 0.5,
                               line=dict(color="#ff7f0e", width=2.5), fillcolor="rgba(255,127,14,0.06)"))
    show_ticks = max(n, m) <= TICK_THRESHOLD
    side = int(min(720, max(360, 120 + 16 * n)))
    fig.update_layout(
        shapes=shapes, height=height or side, margin=dict(l=10, r=10, t=40 if title else 20, b=10),
        title=dict(text=title, font=dict(size=13)) if title else None, plot_bgcolor="white",
        legend=dict(orientation="h", y=1.02, x=0),
    )
    # categorical axes indexed 0..n-1 so the shapes above line up with cells
    fig.update_xaxes(type="category", showticklabels=show_ticks, tickangle=-60, side="bottom",
                     tickfont=dict(size=9), showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", showticklabels=show_ticks,
                     tickfont=dict(size=9), showgrid=False, scaleanchor="x" if n == m and n <= 40 else None)
    return fig


def level_blocks(ids: Sequence[str], M, level: dict[str, int]) -> tuple[list[str], np.ndarray]:
    """Collapse a node-by-node matrix into level-by-level blocks (Frobenius norm of each block).

    For big matrices: the block view keeps the lower-triangular shape at a size the
    browser can draw.

    >>> import numpy as np
    >>> names, B = level_blocks(["x", "a", "b"], np.array([[1, 0, 0], [3, 1, 0], [4, 0, 1.]]),
    ...                         {"x": 0, "a": 1, "b": 1})
    >>> names, B.round(3).tolist()
    (['L0', 'L1'], [[1.0, 0.0], [5.0, 1.414]])
    """
    A = _as_array(M)
    lv = np.array([level[i] for i in ids], dtype=int)
    n_levels = int(lv.max()) + 1 if lv.size else 0
    S = np.zeros((len(ids), n_levels))  # (n_nodes, n_levels) one-hot level membership
    S[np.arange(len(ids)), lv] = 1.0
    B = np.sqrt(np.maximum(S.T @ (A * A) @ S, 0.0))  # (n_levels, n_levels) block Frobenius norms
    return [f"L{k}" for k in range(n_levels)], np.tril(B)


def level_histogram_figure(dag) -> go.Figure:
    """Bar chart: number of nodes at each level, each bar in its level's colour."""
    from explorer.figures.dag_plot import level_colors

    hist = [len(v) for v in dag.levels()]
    colors = level_colors(len(hist))
    fig = go.Figure(go.Bar(x=list(range(len(hist))), y=hist, marker_color=colors, name="nodes per level",
                           hovertemplate="level %{x}: %{y} nodes<extra></extra>"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=30), bargap=0.1,
                      title=dict(text="nodes per level", font=dict(size=12)), plot_bgcolor="white")
    fig.update_xaxes(title_text="level")
    return fig
