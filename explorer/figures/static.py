"""Static SVG drawings of a small DAG-DNN and its lifting matrices, for a page that must paint before
any chart library's JavaScript has loaded (Home: a first-time visitor's browser spends about a
second fetching and compiling plotly.js on the first interactive chart, `bench/bench_pages.py`).

They are matplotlib figures written as SVG with their text kept as text, in the same palette as
the interactive figures (`explorer.figures.palette`): nodes coloured by level, skip arcs orange
and curved, every arc labelled with its weight (there is no hover to ask); a matrix with zeros
blank, the strictly upper triangle shaded, every non-zero cell labelled, and the level-l band
boxed. Every drawn element carries an SVG id (`node-<id>`, `arc-<src>-<dst>`, `cell-<row>-<col>`,
`band`) so a test can read back what was drawn.

    >>> from explorer.graph.dag import Arc, Dag, Node
    >>> dag = Dag.build([Node("x", "input"), Node("y", "linear")], [Arc("x", "y", weight=2.0)], "unit")
    >>> svg = dag_svg(dag)
    >>> svg.startswith("<?xml") and 'id="node-x"' in svg and 'id="arc-x-y"' in svg
    True
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.colors import TwoSlopeNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Rectangle

from explorer.figures.layout import level_layout
from explorer.figures.palette import ARC_COLOR, BAND_COLOR, SIGNED_SCALE, SKIP_ARC_SOLID, level_colors
from explorer.graph.dag import Dag

DPI = 100  # px per inch: sizes below are in pixels
FONT = 11  # px
UPPER_FILL = "#f2f2f2"  # the structurally-zero upper triangle
_RC = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": FONT * 0.75,  # pt = px * 72/96
       "svg.hashsalt": "dag-dnn-explorer"}  # stable element ids: the same figure gives the same bytes


def _rgba(c: str) -> tuple[float, ...]:
    """A palette colour (hex or css `rgba(...)`) as matplotlib's RGBA tuple."""
    if c.startswith("rgba("):
        r, g, b, a = (float(v) for v in c[5:-1].split(","))
        return r / 255, g / 255, b / 255, a
    return (*to_rgb(c), 1.0)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05, metadata={"Date": None})
    return buf.getvalue()


SKIP_RAD = 0.18  # curvature of a skip arc (matplotlib's arc3)


def _on_arc(ax, a: tuple[float, float], b: tuple[float, float], rad: float, t: float) -> tuple[float, float]:
    """The point at parameter `t` of the arc3 curve from `a` to `b`, in data coordinates (matplotlib
    bends it in display space: its control point is the chord's middle moved by `rad` × the chord,
    perpendicular to it), so a label sits on the arc whatever the axes' aspect."""
    to, back = ax.transData, ax.transData.inverted()
    (ax_, ay), (bx, by) = to.transform(a), to.transform(b)
    dx, dy = bx - ax_, by - ay
    cx, cy = (ax_ + bx) / 2 + rad * dy, (ay + by) / 2 - rad * dx
    px = (1 - t) ** 2 * ax_ + 2 * t * (1 - t) * cx + t ** 2 * bx
    py = (1 - t) ** 2 * ay + 2 * t * (1 - t) * cy + t ** 2 * by
    x, y = back.transform((px, py))
    return float(x), float(y)


def dag_svg(dag: Dag, width: int = 620, height: int = 420, title: str = "", scale: float = 1.0) -> str:
    """The DAG drawn left to right by level (`level_layout`), `width`×`height` px, fonts × `scale`."""
    pos = level_layout(dag)
    colors = level_colors(dag.depth + 1)
    with rc_context({**_RC, "font.size": _RC["font.size"] * scale}):
        fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        ax = fig.add_subplot()
        ys = [y for _, y in pos.values()]
        ax.set_ylim(min(ys) - 0.45, max(ys) + 0.6)
        ax.set_xlim(-0.3, dag.depth + 0.3)
        for a in dag.arcs:
            (x0, y0), (x1, y1) = pos[a.src], pos[a.dst]
            skip = dag.level[a.dst] - dag.level[a.src] >= 2
            rad = SKIP_RAD if skip else 0.0
            arrow = FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=9, shrinkA=7, shrinkB=7,
                                    connectionstyle=f"arc3,rad={rad}", linewidth=1.6 if skip else 1.0,
                                    color=_rgba(SKIP_ARC_SOLID if skip else ARC_COLOR), zorder=1)
            arrow.set_gid(f"arc-{a.src}-{a.dst}")
            ax.add_patch(arrow)
            if a.weight is not None:  # off the middle (t = 0.38) so the labels of crossing arcs do not meet
                mx, my = _on_arc(ax, (x0, y0), (x1, y1), rad, 0.5 if skip else 0.38)
                ax.text(mx, my, f"{a.weight:g}", ha="center", va="center", color="#333333", zorder=3,
                        fontsize=_RC["font.size"] * scale * 0.9,
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.9})
        for i, (x, y) in pos.items():
            dot = ax.scatter([x], [y], s=110 * scale, color=colors[dag.level[i]], edgecolors="white", linewidths=1.2,
                             zorder=4)
            dot.set_gid(f"node-{i}")
            ax.annotate(i, (x, y), xytext=(0, 9 * scale), textcoords="offset points", ha="center", va="bottom",
                        color="#333333", zorder=5)
        ax.set_xticks(range(dag.depth + 1))
        ax.set_xlabel("level")
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        handles = [Line2D([], [], marker="o", linestyle="", color=colors[l], label=f"level {l}")
                   for l in range(dag.depth + 1)]
        if any(dag.level[a.dst] - dag.level[a.src] >= 2 for a in dag.arcs):
            handles.append(Line2D([], [], color=SKIP_ARC_SOLID, linewidth=1.6, label="skip arc"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(handles), frameon=False,
                  handletextpad=0.3, columnspacing=1.2)
        if title:
            ax.set_title(title, loc="left", fontweight="bold")
        return _svg(fig)


def matrix_svg(ids: Sequence[str], M: np.ndarray, band: Sequence[str] = (), title: str = "", width: int = 520,
               scale: float = 1.0) -> str:
    """The square node-by-node matrix `M` (rows and columns `ids`) as a labelled heatmap (module doc)."""
    M = np.asarray(M, dtype=float)
    n = len(ids)
    vmax = max(float(np.abs(M).max()), 1e-12)
    cmap = colormaps[SIGNED_SCALE]
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-vmax, vmax=vmax)
    shown = np.where(M == 0, np.nan, M)
    with rc_context({**_RC, "font.size": _RC["font.size"] * scale}):
        fig = Figure(figsize=(width / DPI, width * 0.86 / DPI), dpi=DPI)
        ax = fig.add_subplot()
        for r in range(n):
            for c in range(r + 1, n):
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=UPPER_FILL, edgecolor="none", zorder=0))
        im = ax.imshow(shown, cmap=cmap, norm=norm, zorder=1)
        for r, c in zip(*np.nonzero(M)):
            v = M[r, c]
            dark = abs(v) > 0.6 * vmax
            t = ax.text(c, r, f"{v:.3g}", ha="center", va="center", color="white" if dark else "#222222", zorder=2)
            t.set_gid(f"cell-{ids[r]}-{ids[c]}")
        rows = [k for k, i in enumerate(ids) if i in set(band)]
        if rows:
            box = Rectangle((-0.5, min(rows) - 0.5), n, max(rows) - min(rows) + 1, fill=False, edgecolor=BAND_COLOR,
                            linewidth=2.0, zorder=3)
            box.set_gid("band")
            ax.add_patch(box)
        ax.set_xticks(range(n), list(ids))
        ax.set_yticks(range(n), list(ids))
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.03)
        bar.set_label("entry")
        bar.outline.set_visible(False)
        if title:
            ax.set_title(title, loc="left", fontweight="bold")
        return _svg(fig)
