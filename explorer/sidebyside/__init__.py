"""Two graphs side by side, and their lifting diff (docs/science.md §2-§3):

- `sides`          — the two sides of a comparison: models A/B, dense vs a Prune export, IMP round i vs j;
- `lifting_report` — the per-level diff of `T_l` and a pruning's output change split by removed arc.

    >>> cmp = of_models("mlp", "mlp_skip")
    >>> cmp.title, cmp.match.counts()["matched"]
    ('mlp vs mlp_skip', 5)
"""

from explorer.sidebyside.lifting_report import arc_terms, level_rows
from explorer.sidebyside.sides import (KINDS, CompareError, Comparison, Side, of_export, of_models, of_rounds,
                                     side_overlay)

__all__ = ["KINDS", "CompareError", "Comparison", "Side", "arc_terms", "level_rows", "of_export", "of_models",
           "of_rounds", "side_overlay"]
