"""A plotly scatter figure drawn again as a static SVG, for a page that must paint its graph before
plotly.js has loaded: a first-time visitor's browser spends 1–2 s fetching and compiling plotly's
4.7 MB bundle (`bench/bench_browse.py`), while an SVG in the page's markdown paints with the page.
The module tree (`explorer.figures.tree_plot.tree_figure`) is shown this way, as a markdown image
(`data_url`), until its interactive figure has drawn (`ui.module_tree`).

What is drawn is what the figure holds, at the figure's own axis ranges and height: `rect` shapes,
annotations, `lines` traces (a three-point spline as one curve through its middle point) and marker
traces (circle, square, diamond; colours, sizes and outlines per point; `text` labels above or below),
each marker an element with `data-id` = its `customdata` and a `<title>` = its hover, so a test can
read back what was drawn. Points outside the x range are left out (the figure pans to them).

    >>> import plotly.graph_objects as go
    >>> fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 0], mode="markers", customdata=["a", "b"], name="ops",
    ...                            hovertext=["op <b>a</b>", "op b"], marker=dict(color=["#440154", "red"])))
    >>> fig.update_layout(height=200, xaxis=dict(range=[-0.5, 0.5]), yaxis=dict(range=[-1, 1]))  # doctest: +ELLIPSIS
    Figure(...)
    >>> svg = figure_svg(fig, width=300)
    >>> drawn_ids(svg)
    ['a']
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go

WIDTH = 1100  # px: the nominal width the SVG is laid out at (it scales to the page's width)
FONT = "sans-serif"
_ID = re.compile(r'data-id="([^"]*)"')


def data_url(svg: str) -> str:
    """`svg` as a `data:` URL, for a markdown image (`![alt](url)`): a page's markdown draws it with the
    page, where inline HTML waits for the browser to load an HTML parser first."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def drawn_ids(svg: str) -> list[str]:
    """The `data-id`s of the markers drawn in `svg`, in drawing order."""
    return [html.unescape(m) for m in _ID.findall(svg)]


def _each(v, n: int) -> list:  # noqa: ANN001 - a scalar, a list or None
    if v is None or isinstance(v, (str, int, float)):
        return [v] * n
    v = list(v)
    return v if len(v) == n else (v + [v[-1] if v else None] * n)[:n]


def _plain(text: str | None) -> str:
    """A hover's HTML as the plain text of an SVG `<title>`."""
    return html.escape(re.sub(r"<[^>]+>", "", (text or "").replace("<br>", "\n")))


def _marker(symbol: str, x: float, y: float, size: float, fill: str, line: str, width: float, ident: str,
            title: str) -> str:
    r = size / 2
    attrs = f'fill="{fill}" stroke="{line}" stroke-width="{width:g}" data-id="{html.escape(ident, quote=True)}"'
    if symbol == "square":
        shape = f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{size:.1f}" height="{size:.1f}" {attrs}>'
        end = "</rect>"
    elif symbol == "diamond":
        r *= 1.15  # plotly's diamonds span a little more than their size
        shape = f'<polygon points="{x:.1f},{y - r:.1f} {x + r:.1f},{y:.1f} {x:.1f},{y + r:.1f} {x - r:.1f},{y:.1f}" {attrs}>'
        end = "</polygon>"
    else:
        shape = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {attrs}>'
        end = "</circle>"
    return f"{shape}<title>{title}</title>{end}"


def _segments(xs: Sequence, ys: Sequence) -> Iterable[list[tuple[float, float]]]:
    run: list[tuple[float, float]] = []
    for x, y in zip(xs, ys):
        if x is None or y is None:
            if run:
                yield run
            run = []
        else:
            run.append((float(x), float(y)))
    if run:
        yield run


def figure_svg(fig: go.Figure, width: int = WIDTH, css_class: str = "dag-preview") -> str:
    """`fig` (scatter traces, rect shapes, annotations, explicit axis ranges) as one line of SVG markup,
    `width` px wide at the figure's height, scaling to its container's width (see the module doc)."""
    lay = fig.layout
    h = int(lay.height or 450)
    m = lay.margin
    ml, mr, mt, mb = (m.l or 0), (m.r or 0), (m.t or 0), (m.b or 0)
    (x0, x1), (y0, y1) = lay.xaxis.range, lay.yaxis.range
    pw, ph = width - ml - mr, h - mt - mb

    def px(x: float) -> float:
        return ml + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return mt + (y1 - y) / (y1 - y0) * ph

    def inside(x: float) -> bool:
        return x0 <= x <= x1

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width} {h}" width="{width}" '
           f'height="{h}" style="font-family:{FONT}" preserveAspectRatio="xMinYMin meet">',
           f'<defs><clipPath id="{css_class}-clip"><rect x="{ml}" y="{mt}" width="{pw}" height="{ph}"/></clipPath></defs>',
           f'<rect width="{width}" height="{h}" fill="{lay.plot_bgcolor or "white"}"/>',
           f'<g clip-path="url(#{css_class}-clip)">']
    for s in lay.shapes or ():
        if s.type != "rect":
            continue
        xa, xb, ya, yb = px(s.x0), px(s.x1), py(s.y0), py(s.y1)
        out.append(f'<rect x="{min(xa, xb):.1f}" y="{min(ya, yb):.1f}" width="{abs(xb - xa):.1f}" '
                   f'height="{abs(yb - ya):.1f}" fill="{s.fillcolor or "none"}" stroke="{s.line.color or "none"}" '
                   f'stroke-width="{s.line.width or 1:g}"/>')
    for a in lay.annotations or ():
        anchor = {"left": "start", "right": "end"}.get(a.xanchor, "middle")
        base = {"bottom": -3, "top": (a.font.size or 12)}.get(a.yanchor, 4)
        out.append(f'<text x="{px(a.x):.1f}" y="{py(a.y) + base:.1f}" text-anchor="{anchor}" '
                   f'font-size="{a.font.size or 12}" fill="{a.font.color or "#444"}">{html.escape(str(a.text))}</text>')
    for t in fig.data:
        if t.type != "scatter" or t.x is None:
            continue
        mode = t.mode or "markers"
        if "lines" in mode:
            d = []
            for run in _segments(t.x, t.y):
                pts = [(px(x), py(y)) for x, y in run]
                if t.line.shape == "spline" and len(pts) == 3:  # one quadratic through the middle point
                    (ax, ay), (bx, by), (cx, cy) = pts
                    qx, qy = 2 * bx - (ax + cx) / 2, 2 * by - (ay + cy) / 2
                    d.append(f"M{ax:.1f} {ay:.1f}Q{qx:.1f} {qy:.1f} {cx:.1f} {cy:.1f}")
                else:
                    d.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in pts))
            if d:
                out.append(f'<path d="{"".join(d)}" fill="none" stroke="{t.line.color or "#888"}" '
                           f'stroke-width="{t.line.width or 1:g}"/>')
        if "markers" not in mode:
            continue
        n = len(t.x)
        mk = t.marker
        sym, size, fill = _each(mk.symbol, n), _each(mk.size if mk.size is not None else 6, n), _each(mk.color, n)
        lc, lw = _each(mk.line.color if mk.line else None, n), _each(mk.line.width if mk.line else None, n)
        ids, hover = _each(t.customdata, n), _each(t.hovertext, n)
        texts = _each(t.text, n) if "text" in mode and t.text is not None else [None] * n
        where = _each(t.textposition, n)
        fsize = (t.textfont.size if t.textfont else None) or 12
        labels = []
        for k in range(n):
            x, y = t.x[k], t.y[k]
            if x is None or not inside(float(x)):
                continue
            X, Y, r = px(float(x)), py(float(y)), float(size[k] or 6)
            out.append(_marker(sym[k] or "circle", X, Y, r, fill[k] or "#444", lc[k] or "white", float(lw[k] or 0),
                               str(ids[k]), _plain(hover[k])))
            if texts[k]:
                up = str(where[k] or "top center").startswith("top")
                ty = Y - r / 2 - 3 if up else Y + r / 2 + fsize
                labels.append(f'<text x="{X:.1f}" y="{ty:.1f}" text-anchor="middle" font-size="{fsize}" '
                              f'fill="#444">{html.escape(str(texts[k]))}</text>')
        out += labels
    out.append("</g></svg>")
    return "".join(out)
