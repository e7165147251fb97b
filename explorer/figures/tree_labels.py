"""Where the module tree's labels go (`explorer.figures.tree_plot`), so that no two overlap at the default zoom.

The labels are an open module's name above its box's top-left corner and a closed module's or a run's name above
or below its marker. Packed blocks sit one column apart, nested boxes share their top edge, and names such as
`post_attention_layernorm` are many columns wide, so written as they come they overlap (a layer of a Llama
decoder opened: `self_attn` over `post_attention_layernorm`, `model` over `model.layers` over
`model.layers.2`). Each label's box is estimated in pixels — the width from its character count
(`node_labels.CHAR_PX` per 10 px of font), the height a line — for a figure `FIG_PX` wide at its own height and
axis ranges, and the labels are placed greedily, boxes first (outer before inner), then runs, then modules, left to
right. A label takes the first free spot among:

- a box's name: at its corner, else raised by one label's height, two, three; then its last two parts ("…layers.2") likewise;
- a block's name: above its marker, else below; then shortened ("post_atte…", "post…") above, else below.

A label with no free spot is left out (the hover and the block list still name it). Panning keeps the placement
(pixels are linear in the axes); zooming in spreads the labels apart, so none then overlap either.

    >>> from explorer.graph.hierarchy import View, VisibleNode
    >>> def block(i, x):
    ...     return VisibleNode(i, "module", "Linear", "", 2, 0, None, (0, 1), x, 0, 1)
    >>> view = View([block("net.post_attention_layernorm", 0), block("net.mlp", 1)], [], frozenset({"net"}),
    ...             [("net", 0, 0, 2, 1)])
    >>> [(l.owner, l.text, l.where) for l in place(view, Frame(300, 320, (-0.8, 5.8), (-1.2, 1.2)))]
    [('net', 'net', 'box'), ('net.post_attention_layernorm', 'post_attention_layernorm', 'top center'), ('net.mlp', 'mlp', 'bottom center')]
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.figures.node_labels import CHAR_PX
from explorer.graph.hierarchy import View, VisibleNode

FIG_PX = 940  # the figure's width on the Architecture page in a 1400-px-wide window (wide layout, sidebar open)
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}  # the figure's margins, px
NODE_FONT, BOX_FONT = 11, 10  # px
KIND_SIZE = {"op": 9, "module": 22, "run": 26}  # marker sizes, px
LINE = 1.25  # a line of text, in font sizes
PAD = 2  # px around an annotation's text (its border pad and border)
GAP = 1  # px between a marker and its label
SHORT = (9, 4)  # characters kept in a shortened block name, before the "…"


def text_px(text: str, font: float) -> float:
    """Estimated width of `text` at `font` px."""
    return len(text) * CHAR_PX * font / 10


@dataclass(frozen=True)
class Frame:
    """The figure's pixel frame: `width` × `height` px with `MARGIN`, showing x in `xr` and y in `yr`."""

    width: float
    height: float
    xr: tuple[float, float]
    yr: tuple[float, float]

    def px(self, x: float, y: float) -> tuple[float, float]:
        """Data (x, y) -> pixels from the figure's top-left corner."""
        w = self.width - MARGIN["l"] - MARGIN["r"]
        h = self.height - MARGIN["t"] - MARGIN["b"]
        return (MARGIN["l"] + (x - self.xr[0]) / (self.xr[1] - self.xr[0]) * w,
                MARGIN["t"] + (self.yr[1] - y) / (self.yr[1] - self.yr[0]) * h)


@dataclass(frozen=True)
class Label:
    """One label: `owner` (box or node id), `text` as drawn, `where` ("box", "top center" or "bottom center"),
    `shift` (px a box's name is raised) and `box` (x0, y0, x1, y1) in pixels, y down."""

    owner: str
    text: str
    where: str
    shift: float
    box: tuple[float, float, float, float]


def node_label_box(frame: Frame, n: VisibleNode, text: str, where: str) -> tuple[float, float, float, float]:
    """The pixel box of `text` written at `where` ("top center"/"bottom center") of node `n`'s marker."""
    cx, cy = frame.px(n.x, -n.y)
    half, h = text_px(text, NODE_FONT) / 2, NODE_FONT * LINE
    edge = KIND_SIZE[n.kind] / 2 + GAP
    y0 = cy - edge - h if where == "top center" else cy + edge
    return (cx - half, y0, cx + half, y0 + h)


def box_label_box(frame: Frame, x0: float, y0: float, text: str, shift: float) -> tuple[float, float, float, float]:
    """The pixel box of an annotation anchored at its bottom-left on data (x0, y0), raised `shift` px."""
    px, py = frame.px(x0, y0)
    h = BOX_FONT * LINE + 2 * PAD
    return (px, py - shift - h, px + text_px(text, BOX_FONT) + 2 * PAD, py - shift)


def overlap(a, b) -> bool:
    """Whether two pixel boxes (x0, y0, x1, y1) share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class _Taken:
    """The placed boxes, bucketed by pixel column so that a check looks at neighbours only."""

    STEP = 64

    def __init__(self, height: float) -> None:
        self.height = height
        self.cols: dict[int, list] = {}

    def _keys(self, b) -> range:
        return range(int(b[0] // self.STEP), int(b[2] // self.STEP) + 1)

    def free(self, b) -> bool:
        return 0 <= b[1] and b[3] <= self.height and not any(
            overlap(b, o) for k in self._keys(b) for o in self.cols.get(k, ()))

    def take(self, b) -> None:
        for k in self._keys(b):
            self.cols.setdefault(k, []).append(b)


def _short(text: str) -> list[str]:
    return [text] + [text[:k] + "…" for k in SHORT if len(text) > k + 1]


def place(view: View, frame: Frame, names: dict[str, str] | None = None) -> list[Label]:
    """The labels of `view` that fit in `frame`, none overlapping another (see the module doc). `names`: a
    block's text (default: its id's last part; a run's label)."""
    taken = _Taken(frame.height)
    out: list[Label] = []
    for name, x0, y0, _, _ in sorted(view.boxes, key=lambda b: (b[0].count("."), b[1], b[2])):
        texts = [name] + (["…" + ".".join(name.split(".")[-2:])] if name.count(".") >= 2 else [])
        spots = [(t, k * (BOX_FONT * LINE + 2 * PAD)) for t in texts for k in range(4)]
        for t, shift in spots:
            b = box_label_box(frame, x0 - 0.45, -(y0 - 0.45), t, shift)
            if taken.free(b):
                taken.take(b)
                out.append(Label(name, t, "box", shift, b))
                break
    blocks = sorted((n for n in view.nodes if n.kind != "op"), key=lambda n: (n.kind != "run", n.x, n.y))
    for n in blocks:
        text = (names or {}).get(n.id) or (n.label if n.kind == "run" else n.id.rpartition(".")[2])
        for t in _short(text):
            b = next((b for b in (node_label_box(frame, n, t, w) for w in ("top center", "bottom center"))
                      if taken.free(b)), None)
            if b is not None:
                taken.take(b)
                where = "top center" if b[3] <= frame.px(n.x, -n.y)[1] else "bottom center"
                out.append(Label(n.id, t, where, 0.0, b))
                break
    return out
