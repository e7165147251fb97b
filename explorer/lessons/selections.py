"""The selections lessons and presets put in their Prune links, each encoded inline (`z...`, no file in
the data folder), so a lesson link works on any machine. `explorer.lessons.check` confirms that each
one names nodes and arcs of its graph and that the validity the lesson states holds.

    >>> from explorer.links import decode_selection
    >>> decode_selection(BRANCH).nodes[:2]
    ('block1_bn1', 'block1_bn2')
"""

from __future__ import annotations

import tempfile

from explorer.links import encode_selection
from explorer.pruning.selection import Selection


def inline(sel: Selection) -> str:
    """`sel` as an inline link value; a selection too long for the URL is a lesson bug."""
    with tempfile.TemporaryDirectory() as scratch:  # a long one would be stored: here, never in the data folder
        raw = encode_selection(sel, scratch)
    if not raw.startswith("z"):
        raise ValueError(f"a lesson's selection must fit in the link ({len(sel.nodes)} nodes, {len(sel.arcs)} arcs "
                         "is too long): choose a smaller one")
    return raw


RESNET_BRANCH = ("block1_conv1", "block1_bn1", "relu", "block1_conv2", "block1_bn2")
SKIP_ARC = inline(Selection("op", (), ("relu->cat",), "mlp_skip"))  # the first layer's features to the head
NODE = inline(Selection("unit", ("hidden.1[7]",), (), "mlp"))  # one neuron of the second hidden layer
BRANCH = inline(Selection("op", tuple(sorted(RESNET_BRANCH)), (), "resnet_tiny"))
DENSE_LAYER = inline(Selection("op", ("dense_1_bn", "dense_1_conv", "relu_1"), (), "densenet_tiny"))

VALID = {SKIP_ARC: True, NODE: True, BRANCH: True, DENSE_LAYER: True}  # what the lessons say of them
