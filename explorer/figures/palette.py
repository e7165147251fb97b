"""Every colour fact of the figures in one place: the level palette, the selection and search
colours, arc and band colours, the matrix colour scales, and a perceptual distance to check them.

The level palette is ordinal (a level reads as "early" or "late" at a glance) and never repeats:
`level_colors(n)` samples Viridis evenly between its dark-purple end and a yellow-green short of
its pale end (pale yellow vanishes on white). Viridis holds no red, so `SELECT_COLOR` (red, the
selection and the "zeroed" marks) stays outside the palette at any number of levels; `delta_e`
(CIE76 ΔE*ab in CIE-Lab, where ≈ 2.3 is a just-noticeable difference) measures that.

The matrix colour scales hold no red either, so red "zeroed" outlines stand out on them:
`NONNEG_SCALE` (Blues) for entries ≥ 0 and `SIGNED_SCALE` (purple–green PRGn, centred at 0)
for signed ones.

    >>> level_colors(3)
    ['#440154', '#26838e', '#bcdf2a']
    >>> len(set(level_colors(60)))
    60
    >>> min(delta_e(c, SELECT_COLOR) for c in level_colors(60)) > 25
    True
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from plotly.colors import sample_colorscale, unlabel_rgb

SELECT_COLOR = "#d62728"  # the selection, "zeroed" matrix entries, pruned marks: red, outside every scale here
SEARCH_COLOR = "#111111"  # search hits and their arcs: near-black outlines
HALO_COLOR = "white"  # drawn under red marks so they separate from any cell colour
SKIP_ARC_COLOR = "rgba(255,127,14,0.75)"  # orange: arcs spanning >= 2 levels
SKIP_ARC_SOLID = "#ff7f0e"
SKIP_ARC_FAINT = "rgba(255,127,14,0.25)"
ARC_COLOR = "rgba(90,90,90,0.45)"
ARC_FAINT = "rgba(90,90,90,0.18)"
BUNDLE_FILL = "rgba(90,90,90,0.16)"  # a band standing for the many arcs between two layers
SKIP_BUNDLE_FILL = "rgba(255,127,14,0.22)"
BAND_COLOR = "#ff7f0e"  # the boxed level-l rows of T_l
BAND_FILL = "rgba(255,127,14,0.06)"
NONNEG_SCALE = "Blues"  # matrix entries >= 0 (op-level 0/1, norms, path counts)
SIGNED_SCALE = "PRGn"  # signed weights, centred at 0: purple < 0 < green, no red
LEVEL_SCALE = "Viridis"
_LEVEL_SPAN = (0.0, 0.9)  # the part of Viridis used: its last tenth is too pale on white


def level_colors(n_levels: int) -> list[str]:
    """One colour per level, `n_levels` evenly spaced samples of Viridis (see the module doc).

    >>> level_colors(1)
    ['#440154']
    """
    return list(_level_colors(max(int(n_levels), 1)))


@lru_cache(maxsize=64)
def _level_colors(n: int) -> tuple[str, ...]:
    """`level_colors` computed once per `n`: plotly's sampler parses colour strings one by one, 0.1 s for the
    4,500 levels of a 128-layer decoder, and every figure of that graph asks again."""
    lo, hi = _LEVEL_SPAN
    ts = [lo] if n == 1 else [lo + (hi - lo) * k / (n - 1) for k in range(n)]
    return tuple(_hex(c) for c in sample_colorscale(LEVEL_SCALE, ts))


def stepped_colorscale(colors: list[str]) -> list[list]:
    """A plotly colorscale with one flat band per colour, so a colourbar reads as a discrete legend.

    >>> stepped_colorscale(["#000000", "#ffffff"])
    [[0.0, '#000000'], [0.5, '#000000'], [0.5, '#ffffff'], [1.0, '#ffffff']]
    """
    n = len(colors)
    if n == 1:
        return [[0.0, colors[0]], [1.0, colors[0]]]
    scale = []
    for k, c in enumerate(colors):
        scale.append([k / n, c])
        scale.append([(k + 1) / n, c])
    return scale


def _hex(color: str) -> str:
    if color.startswith("#"):
        return color.lower()
    r, g, b = (int(round(float(v))) for v in unlabel_rgb(color)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def to_lab(color: str) -> np.ndarray:
    """CIE-Lab (D65) of an sRGB colour given as "#rrggbb" or "rgb(r, g, b)".

    >>> [round(float(v)) + 0 for v in to_lab("#ffffff")]
    [100, 0, 0]
    """
    h = _hex(color).lstrip("#")
    rgb = np.array([int(h[k:k + 2], 16) for k in (0, 2, 4)]) / 255.0  # (3,) in [0, 1]
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)  # (3,) linear sRGB
    M = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = M @ lin / np.array([0.95047, 1.0, 1.08883])  # (3,) relative to the D65 white
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference ΔE*ab between two colours (≈ 2.3: just noticeable; > 25: other hues).

    >>> round(delta_e("#000000", "#ffffff"))
    100
    """
    return float(np.linalg.norm(to_lab(a) - to_lab(b)))


def scale_colors(scale: str, n: int = 32) -> list[str]:
    """`n` samples of a named plotly colour scale, as hex (to check a scale against `SELECT_COLOR`)."""
    return [_hex(c) for c in sample_colorscale(scale, [k / (n - 1) for k in range(n)])]
