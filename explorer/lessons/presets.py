"""One-click views: per page, a few named links that set the whole state ("a skip arc", "a residual
branch", "dense block", "a pruned ticket"). A preset *is* a link — the page applies it through
`ui.links` exactly as it applies a pasted one — so `explorer.lessons.check` checks both the same way.

    >>> sorted(PRESETS)
    ['Architecture', 'Decomposition', 'Prune']
    >>> PRESETS["Decomposition"]["a skip arc"].query["l"]
    '4'
"""

from __future__ import annotations

from explorer.lessons.model import Link
from explorer.lessons.selections import BRANCH, DENSE_LAYER, NODE, SKIP_ARC

L = Link.to

PRESETS: dict[str, dict[str, Link]] = {
    "Architecture": {
        "a skip arc": L("Architecture", model="mlp_skip", g="unit"),
        "a residual branch": L("Architecture", model="resnet_tiny", g="op", q="block1"),
        "dense block": L("Architecture", model="densenet_tiny", g="op", q="cat"),
        "inception branches": L("Architecture", model="inception_tiny", g="op", q="inception"),
        "a transformer block": L("Architecture", model="transformer_tiny", g="op"),
    },
    "Decomposition": {
        "a skip arc": L("Decomposition", model="mlp_skip", g="unit", l=4),
        "a residual add": L("Decomposition", model="resnet_tiny", g="op", l=9),
        "dense block": L("Decomposition", model="densenet_tiny", g="op", l=5),
        "the local affine map": L("Decomposition", model="mlp_skip", g="unit", l=4, masked=True),
    },
    "Prune": {
        "a skip arc": L("Prune", model="mlp_skip", g="op", sel=SKIP_ARC),
        "a neuron": L("Prune", model="mlp", g="unit", sel=NODE),
        "a residual branch": L("Prune", model="resnet_tiny", g="op", sel=BRANCH),
        "dense block layer": L("Prune", model="densenet_tiny", g="op", sel=DENSE_LAYER),
        "a pruned ticket": L("Prune", model="lottery_mlp", g="unit", crit="magnitude", target="weights",
                             scope="layer", sp=0.8),
    },
}
