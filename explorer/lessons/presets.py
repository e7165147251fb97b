"""One-click views: per page, a few named links that set the whole state ("a skip arc", "a residual
branch", "dense block", "a pruned ticket"). A preset *is* a link — the page applies it through
`ui.links` exactly as it applies a pasted one — so `explorer.lessons.check` checks both the same way.

Every page that shows a view has them; the Learn page, whose lessons are themselves sequences of
such links, has none.

    >>> sorted(PRESETS)
    ['Architecture', 'Decomposition', 'Home', 'Lottery', 'Playground', 'Prune', 'Signal propagation', 'Train']
    >>> PRESETS["Decomposition"]["a skip arc"].query["l"]
    '4'
"""

from __future__ import annotations

from explorer.lessons.model import Link
from explorer.lessons.selections import BRANCH, DENSE_LAYER, NODE, SKIP_ARC

L = Link.to

PRESETS: dict[str, dict[str, Link]] = {
    "Home": {
        "the first lifting step": L("Home", l=1),
        "a skip arc into the output": L("Home", l=3),
    },
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
    "Train": {
        "two moons (trains in seconds)": L("Train", model="moons_mlp", g="unit"),
        "mlp_skip on MNIST-1D": L("Train", model="mlp_skip", g="unit"),
        "resnet_tiny": L("Train", model="resnet_tiny", g="op"),
    },
    "Lottery": {
        "iterative magnitude pruning": L("Lottery", kind="imp", model="lottery_mlp", rounds=5, rate=0.2),
        "one-shot sweep over sparsities": L("Lottery", kind="sweep", model="lottery_mlp"),
        "early-bird tickets": L("Lottery", kind="earlybird", model="lottery_mlp"),
        "linear-mode stability": L("Lottery", kind="stability", model="lottery_mlp"),
    },
    "Signal propagation": {
        "orthogonal vs Gaussian, deep linear": L("Signal propagation", act="linear", depth_l=20),
        "deep tanh": L("Signal propagation", act="tanh", depth_l=30),
        "ReLU at the edge of chaos (σ_w² = 2)": L("Signal propagation", act="relu", s2=2.0),
        "pruning at init: random at 99%": L("Signal propagation", crit="random", sp=0.99),
    },
    "Playground": {
        "a spiral with skip arcs": L("Playground", dataset="spiral", hidden="8,8,8", skips="0-2,1-3"),
        "XOR with one hidden layer": L("Playground", dataset="xor", hidden="6", activation="relu"),
        "a circle, too small a network": L("Playground", dataset="circle", hidden="2"),
        "noisy two moons": L("Playground", dataset="moons", noise=30, hidden="8,8"),
    },
}
