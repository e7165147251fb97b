"""Heatmaps of the lifting matrices T_l (docs/science.md §2) and of their products.

`matrix_figure(ids, M)` draws a node-by-node matrix with rows and columns labelled by
node id, zeros blank (NaN, so the lower-triangular shape is plain to see), the strictly
upper triangle shaded as "structurally zero", the level-l band (`band`: the ids of the
rows a lifting step writes) boxed, and `zeroed` entries (what a pruning selection would
remove) outlined in red with a white halo, on colour scales that hold no red
(`explorer.figures.palette`).

The figure sizes itself for legibility within `width` pixels: op-level operator labels are
written in two lines (operator and kernel / channels and stride, `cell_label`), each cell as
wide as its longest line; text goes into the cells only when every cell can hold it (hover
always names the entry); tick labels appear whenever a row is tall enough for them, column
labels turned upright when they are longer than a cell; the margins are the labels' own
width, so the matrix sits right against its row labels. Draw it with
`st.plotly_chart(fig, width="content")` to keep those sizes.

Trace order: 0 "matrix" (the heatmap; hover shows row/col ids, the value and, at op
level, the operator label), 1 "zeroed" (red open squares at the `zeroed` entries),
2 "zeroed halo" (a white ring around each, so the red reads on dark and light cells).

A matrix of more than `CELLS_MAX` cells (a unit-level T_l of a 500-wide MLP has a million), or with
more than `ZEROED_MAX` zeroed entries (a magnitude ticket), is drawn as a picture instead
(`explorer.figures.raster`): one pixel per entry on the same colour scale, zeroed entries painted
red, the upper triangle shaded, sent as an indexed PNG (a few hundred kB where the cells would take
tens of MB). Its traces are 0 "matrix" (a `go.Image`: hover gives row and column positions, the
title says so), 1 "zeroed" (its legend entry), 2 "zeroed halo" (empty), 3 "colour scale" (the bar).

    >>> import numpy as np
    >>> T = np.array([[1, 0, 0], [2.0, 1, 0], [0, -1.5, 1]])
    >>> fig = matrix_figure(["x", "h", "y"], T, band=["h"], zeroed=[("h", "x")])
    >>> [t.name for t in fig.data]
    ['matrix', 'zeroed', 'zeroed halo']
    >>> bool(np.isnan(fig.data[0].z[0][1]))  # a zero is blank
    True
    >>> cell_label("conv2d 3×3 8→16 s2")
    'conv 3×3<br>8→16 s2'
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.figures.palette import (BAND_COLOR, BAND_FILL, HALO_COLOR, NONNEG_SCALE, SELECT_COLOR,
                                      SIGNED_SCALE)
from explorer.figures.raster import color_index, indexed_png, palette

HOVER_THRESHOLD = 400  # above this many rows, per-cell hover labels are dropped to keep the page light
CELLS_MAX = 160_000  # cells sent one by one (float32) at most; a bigger matrix is sent as a picture
ZEROED_MAX = 1_500  # zeroed entries outlined one by one at most; more are painted red in a picture
TEXT_MAX = 40  # above this many rows or columns, no in-cell text whatever the width
FONT = 11  # px, cell text and tick labels
CHAR_PX = 6.4  # average glyph width of an 11 px label (digits, lower case, ×, →)
LINE_PX = 14  # height of one line of cell text
MIN_TICK_CELL = 10  # px; smaller rows or columns hide their tick labels (hover still names them)
MAX_CELL = 30  # px; the side of a cell without text
MAX_HEIGHT = 780  # px; the matrix area of a big matrix is at most this tall
COLORBAR_PX = 80
_SHORT = {"conv2d": "conv", "conv1d": "conv1d", "conv3d": "conv3d", "batchnorm2d": "bn", "batchnorm1d": "bn",
          "layernorm": "ln", "groupnorm": "gn", "adaptiveavgpool2d": "avgpool", "adaptiveavgpool1d": "avgpool",
          "maxpool2d": "maxpool", "maxpool1d": "maxpool", "avgpool2d": "avgpool", "convtranspose2d": "upconv",
          "multiheadattention": "attention", "scaled_dot_product_attention": "attention"}


def cell_label(label: str | None) -> str:
    """An operator label in two short lines, "op kernel" over "channels stride" (plotly's `<br>`).

    >>> cell_label("batchnorm2d 256"), cell_label("slot 1 of cat"), cell_label("relu")
    ('bn<br>256', 'cat<br>slot 1', 'relu')
    """
    if not label:
        return ""
    joint = label.endswith(" [joint]")
    core = label[: -len(" [joint]")] if joint else label
    if core.startswith("slot ") and " of " in core:
        k, op = core[len("slot "):].split(" of ", 1)
        head, rest = op, [f"slot {k}"]
    else:
        words = core.split()
        head, rest = _SHORT.get(words[0], words[0]), words[1:]
        if rest and "×" in rest[0]:
            head += " " + rest.pop(0)
    line2 = " ".join(rest + (["joint"] if joint else []))
    return f"{head}<br>{line2}" if line2 else head


def _lines(text: str) -> list[str]:
    return text.split("<br>") if text else []


def _as_array(M) -> np.ndarray:
    if hasattr(M, "detach"):
        M = M.detach().cpu().numpy()
    return np.asarray(M, dtype=float)


def cell_geometry(rows: Sequence[str], cols: Sequence[str], texts: np.ndarray | None, width: int,
                  colorbar: bool = True) -> dict:
    """Pixel sizes of a matrix drawn within `width`: cell width/height, margins, whether cell text
    and tick labels fit, the column-label angle (see the module doc).

    >>> g = cell_geometry(["x", "h"], ["x", "h"], np.array([["", ""], ["conv 3×3<br>8→16", ""]]), 600)
    >>> g["text"], g["cell_w"] >= 8 * CHAR_PX, g["cell_h"] >= 2 * LINE_PX
    (True, True, True)
    """
    n, m = len(rows), len(cols)
    row_w = int(max((len(r) for r in rows), default=1) * CHAR_PX) + 12
    bar = COLORBAR_PX if colorbar else 12
    avail = max(width - row_w - bar, 40)
    text_w, text_h = 5 * CHAR_PX + 8, LINE_PX + 10  # a number "-0.12"
    if texts is not None:
        lines = [ln for t in np.ravel(texts) for ln in _lines(str(t))]
        n_lines = max((len(_lines(str(t))) for t in np.ravel(texts)), default=1)
        text_w = max(4 * CHAR_PX, max((len(ln) for ln in lines), default=1) * CHAR_PX) + 10
        text_h = max(n_lines, 1) * LINE_PX + 10
    fits = max(n, m) <= TEXT_MAX and m * text_w <= avail
    if fits:
        cell_w, cell_h = text_w, max(text_h, 22)
    else:
        cell_w = cell_h = max(2.0, min(MAX_CELL, avail / max(m, 1), MAX_HEIGHT / max(n, 1)))
    if colorbar and n * cell_h < 90:  # room for a readable colour bar beside a matrix of a row or two
        cell_h = 90 / max(n, 1)
    ticks_y, ticks_x = cell_h >= MIN_TICK_CELL, cell_w >= MIN_TICK_CELL
    longest_col = max((len(c) for c in cols), default=1) * CHAR_PX
    upright = longest_col + 4 > cell_w
    col_h = (int(longest_col) + 14 if upright else LINE_PX + 12) if ticks_x else 8
    return {"cell_w": float(cell_w), "cell_h": float(cell_h), "text": bool(fits), "ticks_x": ticks_x,
            "ticks_y": ticks_y, "angle": -90 if upright else 0, "left": row_w if ticks_y else 8,
            "bottom": col_h, "right": bar}


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
    width: int = 900,
    colorbar_title: str = "entry",
) -> go.Figure:
    """Heatmap of `M` (rows `ids`, columns `col_ids` or `ids`), sized to be read within `width` px.

    Arguments:
      labels: optional matrix of strings the same shape as M (op level: operator labels);
        shown on hover, and in two lines in the cells when they fit. Entries with a label but
        value 0 are drawn as 1 so symbolic entries stay visible.
      band: row ids to box (the level-l rows of T_l).
      zeroed: (row_id, col_id) entries outlined in red (what a selection would zero).
      height: force the figure height (px); by default it follows the cells.
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
        L = np.where(L == None, "", L).astype(str)  # noqa: E711 (elementwise)
        A = np.where((A == 0) & (L != ""), 1.0, A)
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
    if symbolic:  # every entry is 1: a light blue that dark text reads on; no colour bar to explain
        colorscale, zmid, zmin, zmax = NONNEG_SCALE, None, 0.0, 2.5
    elif finite.size == 0 or finite.min() >= 0:
        colorscale, zmid, zmin = NONNEG_SCALE, None, 0.0
        zmax = float(finite.max()) if finite.size else 1.0
    else:
        colorscale, zmid = SIGNED_SCALE, 0.0
        r = float(np.abs(finite).max())
        zmin, zmax = -r, r
    if n * m > CELLS_MAX or len(zeroed) > ZEROED_MAX:
        return _picture(rows, cols, Z, (colorscale, zmin, zmax), band=band, zeroed=zeroed, title=title, height=height,
                        width=width, colorbar_title=colorbar_title)
    Z = Z.astype(np.float32)  # half the bytes on the wire; a 4-digit hover does not need more
    texts = np.vectorize(cell_label, otypes=[object])(L) if symbolic and max(n, m) <= TEXT_MAX else None
    g = cell_geometry(rows, cols, texts, width, colorbar=not symbolic)

    hover_ok = n * m <= HOVER_THRESHOLD**2
    gap = 1 if min(g["cell_w"], g["cell_h"]) >= 6 else 0
    # traces and layout as plain dicts, validated once by one Figure (update_layout and update_*axes one by
    # one cost as much again: the Prune page draws this on each selection of each student)
    heat: dict = dict(
        type="heatmap", z=Z, x=cols, y=rows, name="matrix", colorscale=colorscale, zmid=zmid, zmin=zmin, zmax=zmax,
        customdata=L if (symbolic and hover_ok) else None, xgap=gap, ygap=gap, showscale=not symbolic,
        hovertemplate=("row %{y}<br>col %{x}" + ("<br>%{customdata}" if symbolic else "<br>value %{z:.4g}")
                       + "<extra></extra>") if hover_ok else "row %{y}<br>col %{x}<br>%{z:.3g}<extra></extra>",
        colorbar=dict(title=dict(text=colorbar_title), thickness=12, lenmode="pixels",
                      len=int(max(60, min(300, n * g["cell_h"])))),
    )
    if g["text"]:
        if symbolic:
            heat.update(text=texts, texttemplate="%{text}")
        else:
            heat["texttemplate"] = "%{z:.3~g}"
        heat["textfont"] = dict(size=FONT)
    zr = [r for r, c in zeroed]
    zc = [c for r, c in zeroed]
    mark = max(6.0, min(40.0, 0.9 * min(g["cell_w"], g["cell_h"])))  # the red square nearly fills its cell
    red = dict(type="scatter", x=zc, y=zr, mode="markers", name="zeroed", hoverinfo="skip",
               marker=dict(symbol="square-open", color=SELECT_COLOR, size=mark, line=dict(width=2.5)),
               showlegend=bool(zr))
    halo = dict(type="scatter", x=zc, y=zr, mode="markers", name="zeroed halo", hoverinfo="skip", showlegend=False,
                marker=dict(symbol="square-open", color=HALO_COLOR, size=mark + 5, line=dict(width=2)))
    top = 36 if title else 12
    legend = 22 if zr else 0
    layout = dict(
        shapes=_shapes(rows, cols, band, shade=True), autosize=False,
        width=int(max(g["left"] + m * g["cell_w"] + g["right"], len(title or "") * 7.2 + 16, 160)),
        height=height or int(top + legend + n * g["cell_h"] + g["bottom"]),
        margin=dict(l=g["left"], r=g["right"], t=top + legend, b=g["bottom"], pad=0),
        plot_bgcolor="white",
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, font=dict(size=11)),
        # categorical axes indexed 0..n-1 so the shapes above line up with cells
        xaxis=dict(type="category", showticklabels=g["ticks_x"], tickangle=g["angle"], side="bottom",
                   tickfont=dict(size=FONT), showgrid=False, automargin=True, range=[-0.5, m - 0.5]),
        yaxis=dict(type="category", showticklabels=g["ticks_y"], tickfont=dict(size=FONT), showgrid=False,
                   automargin=True, range=[n - 0.5, -0.5]),
    )
    if title:
        layout["title"] = dict(text=title, font=dict(size=13), x=0.005, xref="container", y=1, yref="container",
                               yanchor="top", pad=dict(t=8))
    return go.Figure(data=[heat, red, halo], layout=layout)


def _shapes(rows: Sequence[str], cols: Sequence[str], band: Collection[str] | None, shade: bool) -> list[dict]:
    """The diagonal (and, when `shade`, the shaded upper triangle) of a square matrix, and the box of
    the `band` rows, in cell coordinates 0..n-1."""
    n, m = len(rows), len(cols)
    shapes = []
    if list(rows) == list(cols) and n > 1:
        # the strictly upper triangle is zero in every lifting matrix: shade it
        if shade:
            shapes.append(dict(type="path", path=f"M -0.5 -0.5 L {n - 0.5} -0.5 L {n - 0.5} {n - 0.5} Z",
                               fillcolor="rgba(120,120,120,0.08)", line=dict(width=0), layer="below"))
        shapes.append(dict(type="line", x0=-0.5, y0=-0.5, x1=n - 0.5, y1=n - 0.5,
                           line=dict(color="rgba(80,80,80,0.35)", width=1, dash="dot")))
    if band:
        pos = {r: k for k, r in enumerate(rows)}
        ks = sorted(pos[r] for r in band if r in pos)
        if ks:
            shapes.append(dict(type="rect", x0=-0.5, x1=m - 0.5, y0=ks[0] - 0.5, y1=ks[-1] + 0.5,
                               line=dict(color=BAND_COLOR, width=2.5), fillcolor=BAND_FILL))
    return shapes


def _layer_ticks(ids: Sequence[str], min_gap: float = 0.0, most: int = 24) -> tuple[list[int], list[str]]:
    """Tick positions and labels at the first id of each layer ("fc2[0]" starts fc2), at least `min_gap`
    entries apart (a one-entry layer such as the bias slot "1" would print over the next), when few enough."""
    vals, text, last = [], [], None
    for k, i in enumerate(ids):
        layer = i.split("[", 1)[0]
        if layer != last and (not vals or k - vals[-1] >= min_gap):
            vals.append(k)
            text.append(i)
        last = layer
    return (vals, text) if len(vals) <= most else ([], [])


def _picture(rows: Sequence[str], cols: Sequence[str], Z: np.ndarray, scale: tuple, *, band, zeroed, title,
             height, width: int, colorbar_title: str) -> go.Figure:
    """`matrix_figure` for a big matrix: one pixel per entry (module doc)."""
    import base64

    colorscale, zmin, zmax = scale
    n, m = Z.shape
    rpos, cpos = {r: k for k, r in enumerate(rows)}, {c: k for k, c in enumerate(cols)}
    hit = np.zeros((n, m), dtype=bool)  # (n, m) the entries the selection zeroes
    for r, c in zeroed:
        if r in rpos and c in cpos:
            hit[rpos[r], cpos[c]] = True
    square = list(rows) == list(cols)
    idx = color_index(Z, zmin, zmax, zeroed=hit, shade_upper=square)
    src = "data:image/png;base64," + base64.b64encode(indexed_png(idx, palette(colorscale))).decode()
    img = go.Image(source=src, x0=0, dx=1, y0=0, dy=1, name="matrix",
                   hovertemplate="row %{y} · column %{x}<extra></extra>")
    n_zeroed = int(hit.sum())
    red = go.Scatter(x=[None], y=[None], mode="markers", name="zeroed", hoverinfo="skip",
                     marker=dict(symbol="square", color=SELECT_COLOR, size=10), showlegend=bool(n_zeroed))
    halo = go.Scatter(x=[], y=[], mode="markers", name="zeroed halo", hoverinfo="skip", showlegend=False)
    bar = go.Scatter(x=[None], y=[None], mode="markers", name="colour scale", hoverinfo="skip", showlegend=False,
                     marker=dict(color=[zmin], cmin=zmin, cmax=zmax, colorscale=colorscale, showscale=True,
                                 colorbar=dict(title=dict(text=colorbar_title), thickness=12)))
    fig = go.Figure([img, red, halo, bar])
    left = int(max(len(r) for r in rows) * CHAR_PX) + 14  # room for the longest id a tick may name
    cell = min(MAX_CELL, max(width - left - COLORBAR_PX, 80) / max(m, 1), MAX_HEIGHT / max(n, 1))
    yt, xt = _layer_ticks(rows, LINE_PX / cell), _layer_ticks(cols, LINE_PX / cell)
    left = int(max((len(t) for t in yt[1]), default=1) * CHAR_PX) + 14
    bottom = int(max((len(t) for t in xt[1]), default=1) * CHAR_PX) + 16
    top = 52 if title else 24
    fig.update_layout(
        shapes=_shapes(rows, cols, band, shade=False), autosize=False, plot_bgcolor="white",
        width=int(max(left + m * cell + COLORBAR_PX, len(title or "") * 7.2 + 16, 160)),
        height=height or int(top + n * cell + bottom),
        margin=dict(l=left, r=COLORBAR_PX, t=top, b=bottom, pad=0),
        title=dict(text=(title or "") + f"<br><sup>{n:,} × {m:,} entries drawn as a picture, one pixel each"
                   + (f"; {n_zeroed:,} zeroed in red" if n_zeroed else "") + "</sup>", font=dict(size=13),
                   x=0.005, xref="container", y=1, yref="container", yanchor="top", pad=dict(t=8)),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0.6, font=dict(size=11)),
    )
    fig.update_xaxes(range=[-0.5, m - 0.5], showgrid=False, zeroline=False, tickvals=xt[0], ticktext=xt[1],
                     tickangle=-90, tickfont=dict(size=FONT), side="bottom")
    fig.update_yaxes(range=[n - 0.5, -0.5], showgrid=False, zeroline=False, tickvals=yt[0], ticktext=yt[1],
                     tickfont=dict(size=FONT))
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
