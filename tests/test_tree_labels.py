"""The module tree's labels do not overlap at the default zoom (`explorer.figures.tree_labels`).

Read from the figure as plotly draws it, not from the placement's own list: every non-empty text of the
module and run traces (above or below its marker, as its `textposition` says) and every box-name annotation
(anchored at its bottom-left, raised by its `yshift`) gets a pixel box — its width from the character count
at 0.6 em per character, its height a line — in a figure `FIG_PX` wide at the figure's own height, margins and
axis ranges; no two boxes may share any area. Views: resnet50 closed, as it opens and fully open, and the
128-layer Llama decoder with its run expanded and layer 2 opened (the README's `assets/browse_opened.png`).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest

from explorer.figures.tree_labels import FIG_PX
from explorer.figures.tree_plot import tree_figure
from explorer.graph import build_dag
from explorer.graph.hierarchy import ModuleTree

ROOT = Path(__file__).resolve().parents[1]
LLAMA128 = f"{ROOT / 'bench' / 'models' / 'llama_decoder.py'}:Llama128"
EM = 0.6  # average glyph width, in font sizes
LINE = 1.2  # a line's height, in font sizes


def label_boxes(fig) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, (x0, y0, x1, y1) px, y down) of every label the figure draws."""
    lay = fig.layout
    m = lay.margin
    (xa, xb), (ya, yb) = lay.xaxis.range, lay.yaxis.range
    w, h = FIG_PX - m.l - m.r, lay.height - m.t - m.b

    def px(x, y):
        return m.l + (x - xa) / (xb - xa) * w, m.t + (yb - y) / (yb - ya) * h

    out = []
    for t in fig.data:
        if t.name not in ("modules", "runs") or t.text is None:
            continue
        sizes = t.marker.size if isinstance(t.marker.size, (list, tuple)) else [t.marker.size] * len(t.x)
        for x, y, text, where, size in zip(t.x, t.y, t.text, t.textposition, sizes):
            if not text:
                continue
            cx, cy = px(x, y)
            tw, th = len(text) * EM * t.textfont.size, LINE * t.textfont.size
            y0 = cy - size / 2 - th if where.startswith("top") else cy + size / 2
            out.append((text, (cx - tw / 2, y0, cx + tw / 2, y0 + th)))
    for a in lay.annotations:
        x0, y0 = px(a.x, a.y)
        y0 -= a.yshift or 0
        s = a.font.size
        out.append((a.text, (x0, y0 - LINE * s, x0 + len(a.text) * EM * s, y0)))
    return out


def overlaps(fig) -> list[tuple[str, str]]:
    boxes = label_boxes(fig)
    return [(a, b) for (a, p), (b, q) in combinations(boxes, 2)
            if p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]]


def blocks(fig) -> tuple[int, int]:
    """(labelled, all) module and run markers."""
    ts = [t for t in fig.data if t.name in ("modules", "runs")]
    return sum(1 for t in ts for s in t.text if s), sum(len(t.x) for t in ts)


@pytest.fixture(scope="module")
def resnet50():
    return ModuleTree(build_dag("torchvision:resnet50", "op"))


@pytest.fixture(scope="module")
def llama128():
    return ModuleTree(build_dag(LLAMA128, "op"))


def test_resnet50_labels_do_not_overlap_closed_as_opened_and_fully_open(resnet50):
    tree = resnet50
    everything = set(tree.ops) - {""} | set(tree.runs)
    for opened in (set(), tree.default_open(), everything):
        fig = tree_figure(tree.view(opened))
        assert overlaps(fig) == []
        shown, total = blocks(fig)
        assert shown >= total / 2, f"{shown} of {total} blocks labelled"
    fig = tree_figure(tree.view(set()))
    assert blocks(fig)[0] == blocks(fig)[1]  # closed, it has room for every name


def test_llama_decoder_with_layer_2_opened_has_no_overlapping_labels(llama128):
    tree = llama128
    opened = {"model.layers.0-127"} | tree.reveal("model.layers.2") | {"model.layers.2"}
    view = tree.view(opened)
    assert "model.layers.2.self_attn" in {n.id for n in view.nodes}
    fig = tree_figure(view, focus="model.layers.2")
    assert overlaps(fig) == [], "labels overlap"
    texts = [t for t, _ in label_boxes(fig)]
    assert "model.layers.2" in texts or "…layers.2" in texts  # the opened layer's box is named
    assert {"self_attn", "mlp"} <= set(texts)
    rolled = tree_figure(tree.view(set()))
    assert overlaps(rolled) == [] and blocks(rolled)[0] == blocks(rolled)[1]
