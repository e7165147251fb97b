"""Readable figures: the level palette, the selection colour outside it, matrix colour scales
without red, zeroed marks with a halo, legible op-level cell labels and the level window."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.figures import palette
from explorer.figures.matrix_plot import FONT, cell_geometry, cell_label, matrix_figure
from explorer.lifting.views import level_window

OTHER_HUE = 25.0  # CIE76 ΔE*ab: ≈ 2.3 is just noticeable; above 25 two colours read as different hues


@pytest.mark.parametrize("n", range(1, 61))
def test_level_palette_is_distinct_ordinal_and_never_red(n):
    cs = palette.level_colors(n)
    assert len(cs) == n and len(set(cs)) == n  # no level shares a colour
    assert min(palette.delta_e(c, palette.SELECT_COLOR) for c in cs) > OTHER_HUE
    if n > 1:  # ordinal: lightness rises level by level (Viridis is monotone in L*)
        L = [palette.to_lab(c)[0] for c in cs]
        assert all(b > a for a, b in zip(L, L[1:]))
        steps = [palette.delta_e(a, b) for a, b in zip(cs, cs[1:])]
        assert min(steps) > 1.0
        if n <= 12:
            assert min(steps) > 2.3 * 4  # a handful of levels: clearly different at a glance


def test_delta_e_matches_known_pairs():
    assert palette.delta_e("#000000", "#ffffff") == pytest.approx(100.0, abs=0.01)
    assert palette.delta_e("#d62728", "#d62728") == 0.0
    assert palette.delta_e(palette.SELECT_COLOR, "#1f77b4") > OTHER_HUE


@pytest.mark.parametrize("scale", [palette.NONNEG_SCALE, palette.SIGNED_SCALE])
def test_matrix_scales_hold_no_red(scale):
    assert min(palette.delta_e(c, palette.SELECT_COLOR) for c in palette.scale_colors(scale, 64)) > OTHER_HUE


def _signed():
    T = np.eye(4)
    T[1, 0], T[2, 0], T[3, 1] = 0.5, -2.0, 3.0
    return ["x", "h1", "h2", "y"], T


def test_zeroed_entries_get_a_red_mark_and_a_white_halo_on_a_red_free_scale():
    ids, T = _signed()
    fig = matrix_figure(ids, T, zeroed=[("h2", "x"), ("y", "h1")])
    heat, red, halo = fig.data
    assert heat.colorscale and all(palette.delta_e(c, palette.SELECT_COLOR) > OTHER_HUE for _, c in heat.colorscale)
    assert red.name == "zeroed" and red.marker.color == palette.SELECT_COLOR
    assert halo.name == "zeroed halo" and halo.marker.color == palette.HALO_COLOR
    assert list(red.x) == list(halo.x) == ["x", "h1"] and halo.marker.size > red.marker.size


def test_op_labels_are_two_lines_and_fit_their_cells():
    ids = ["x", "conv", "bn", "add"]
    M = np.eye(4)
    labels = np.full((4, 4), "", dtype=object)
    labels[1, 0], labels[2, 1], labels[3, 2], labels[3, 0] = "conv2d 3×3 8→16 s2", "batchnorm2d 16", "id", "id"
    fig = matrix_figure(ids, M, labels=labels, width=1000)
    heat = fig.data[0]
    assert heat.texttemplate == "%{text}" and heat.text[1][0] == "conv 3×3<br>8→16 s2"
    assert heat.textfont.size >= FONT >= 10
    g = cell_geometry(ids, ids, np.vectorize(cell_label, otypes=[object])(labels), 1000, colorbar=False)
    longest = max(len(line) for t in np.ravel(heat.text) for line in str(t).split("<br>"))
    assert g["cell_w"] >= longest * 6  # every line fits its cell at >= 6 px a glyph
    assert g["cell_h"] >= 2 * 12
    # the matrix sits right against its row labels: the left margin is what the labels need
    assert fig.layout.margin.l <= max(len(i) for i in ids) * 7 + 20
    assert fig.layout.xaxis.showticklabels and fig.layout.yaxis.showticklabels


def test_cell_text_only_when_it_fits():
    n = 30
    ids = [f"node_{k}" for k in range(n)]
    labels = np.full((n, n), "", dtype=object)
    for k in range(1, n):
        labels[k, k - 1] = "conv2d 3×3 64→64"
    fig = matrix_figure(ids, np.eye(n), labels=labels, width=1000)
    assert fig.data[0].texttemplate is None  # 30 cells of a conv label do not fit 1000 px: hover only
    assert "conv2d 3×3 64→64" in fig.data[0].customdata[1][0]
    wide = matrix_figure(ids[:8], np.eye(8), labels=labels[:8, :8], width=1000)
    assert wide.data[0].texttemplate == "%{text}"


def test_long_column_labels_turn_upright():
    ids = ["input", "block2_shortcut_0", "block2_shortcut_1"]
    fig = matrix_figure(ids, np.tril(np.ones((3, 3))), width=900)
    assert fig.layout.xaxis.tickangle == -90
    assert fig.layout.margin.b >= len("block2_shortcut_0") * 6


def test_level_window_keeps_skip_sources_and_caps_the_rest():
    # a chain of 60 nodes with a skip arc from node 2 into node 50
    n = 60
    ids = [f"n{k}" for k in range(n)]
    level = {i: k for k, i in enumerate(ids)}
    T = np.eye(n)
    T[50, 49] = T[50, 2] = 1.0
    keep = level_window(ids, T, level, 50, 8)
    assert 2 in keep and 49 in keep and 50 in keep and keep == sorted(keep)
    assert [k for k in keep if k != 2] == list(range(43, 51))
    assert len(level_window(ids, T, level, 50, 60, max_nodes=10)) == 10
