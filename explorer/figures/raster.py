"""A matrix as a picture: one pixel per entry, coloured on a plotly colour scale, written as an indexed
PNG (a byte per pixel before compression, and lifting matrices are mostly blank), for the matrices too
big to send cell by cell (`explorer.figures.matrix_plot`). No imaging library: PNG is a few zlib'd
chunks.

Pixel classes: `BLANK` (an exact zero: white), `SHADE` (the structurally zero upper triangle), `ZEROED`
(an entry a selection zeroes: red), and the colour scale's `LEVELS` steps for every other entry.

    >>> import numpy as np
    >>> idx = color_index(np.array([[1.0, np.nan], [-2.0, 2.0]]), -2.0, 2.0, shade_upper=True)
    >>> idx.tolist()  # 1 sits in the upper part of the scale; the blank cell above the diagonal is shaded
    [[192, 1], [3, 255]]
    >>> png = indexed_png(idx, palette("Blues"))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", len(png) < 1000
    (True, True)
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from plotly.colors import sample_colorscale, unlabel_rgb

from explorer.figures.palette import SELECT_COLOR

BLANK, SHADE, ZEROED = 0, 1, 2
FIRST = 3  # the colour scale's first index
LEVELS = 256 - FIRST  # steps of the colour scale
SHADE_RGB = (237, 237, 237)  # the upper triangle: the page's "structurally zero" grey


def _rgb(color: str) -> tuple[int, int, int]:
    if color.startswith("#"):
        h = color.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    r, g, b = (int(round(float(v))) for v in unlabel_rgb(color)[:3])
    return r, g, b


def palette(colorscale) -> list[tuple[int, int, int]]:
    """The 256 colours of an image: blank white, the shade, selection red, then `LEVELS` steps of `colorscale`."""
    steps = sample_colorscale(colorscale, [k / (LEVELS - 1) for k in range(LEVELS)])
    return [(255, 255, 255), SHADE_RGB, _rgb(SELECT_COLOR)] + [_rgb(c) for c in steps]


def color_index(Z: np.ndarray, zmin: float, zmax: float, zeroed: np.ndarray | None = None,
                shade_upper: bool = False) -> np.ndarray:
    """Palette indices of `Z` (NaN = blank): each finite entry's step on [zmin, zmax], `zeroed` (a
    boolean mask) red, blank cells strictly above the diagonal shaded when `shade_upper`."""
    span = (zmax - zmin) or 1.0
    finite = np.isfinite(Z)
    steps = np.clip(np.rint((np.nan_to_num(Z, nan=zmin) - zmin) / span * (LEVELS - 1)), 0, LEVELS - 1)
    idx = np.where(finite, FIRST + steps, BLANK).astype(np.uint8)  # (n, m)
    if shade_upper:
        n, m = Z.shape
        upper = np.arange(m)[None, :] > np.arange(n)[:, None]  # (n, m) strictly above the diagonal
        idx[upper & ~finite] = SHADE
    if zeroed is not None:
        idx[zeroed] = ZEROED
    return idx


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def indexed_png(idx: np.ndarray, colors: list[tuple[int, int, int]]) -> bytes:
    """An 8-bit indexed-colour PNG of the palette indices `idx` (h, w) with the palette `colors`."""
    h, w = idx.shape
    rows = np.hstack([np.zeros((h, 1), np.uint8), idx.astype(np.uint8)])  # filter byte 0 ("none") per row
    header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)  # 8 bits, colour type 3 (indexed)
    plte = bytes(v for c in colors for v in c)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"PLTE", plte)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + _chunk(b"IEND", b""))
