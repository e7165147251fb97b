"""The module tree's figure for the 128-layer Llama decoder (`bench/models/llama_decoder.py:Llama128`): the
run expanded with layer 2 opened, and every module opened (6,541 nodes, 643 boxes), median of 3 after a warm-up.

    python3 bench/bench_tree_figure.py

Measured 2026-12-07, quiet machine (load 0.7): 16 ms and 542 ms (66 ms and 593 ms at load 5); before the boxes went to the layout in one call (one
`add_shape`/`add_annotation` each), every module opened took about 73 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.figures.tree_plot import tree_figure  # noqa: E402
from explorer.graph import build_dag  # noqa: E402
from explorer.graph.hierarchy import ModuleTree  # noqa: E402


def main() -> None:
    tree = ModuleTree(build_dag(f"{ROOT / 'bench' / 'models' / 'llama_decoder.py'}:Llama128", "op"))
    views = {"run expanded, layer 2 opened": {"model.layers.0-127"} | tree.reveal("model.layers.2") | {"model.layers.2"},
             "every module opened": set(tree.ops) - {""} | set(tree.runs)}
    for name, opened in views.items():
        view = tree.view(opened)
        tree_figure(view)  # warm-up
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            tree_figure(view)
            ts.append(time.perf_counter() - t0)
        print(f"{name} ({len(view.nodes):,} nodes, {len(view.boxes)} boxes): median {statistics.median(ts) * 1e3:.0f} ms "
              f"(min {min(ts) * 1e3:.0f}, max {max(ts) * 1e3:.0f})")


if __name__ == "__main__":
    main()
