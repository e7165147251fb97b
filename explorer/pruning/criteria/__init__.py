"""Pruning criteria: scores that propose which weights, arcs or units to remove.

One module per family (`magnitude`: random and |w|; `snip`: connection sensitivity,
supervised and unsupervised; `synflow`; `spline`: hyperplane redundancy; `level`: by level
or arc span), a registry `CRITERIA`, and `propose(...) -> Proposal`:

    >>> from explorer import models
    >>> from explorer.pruning.criteria import CRITERIA, propose
    >>> sorted(CRITERIA)
    ['level', 'magnitude', 'random', 'snip', 'snip_unsupervised', 'spline', 'synflow']
    >>> p = propose(models.load("cnn1d"), "snip", 0.8, scope="global")
    >>> round(p.achieved, 3), round(p.weight_sparsity, 3)
    (0.8, 0.8)
"""

from explorer.pruning.criteria.allocate import AllocationError, allocate
from explorer.pruning.criteria.base import TARGETS, Context, Criterion, CriterionError
from explorer.pruning.criteria.propose import CRITERIA, ProposeConfig, Proposal, propose

__all__ = ["CRITERIA", "TARGETS", "AllocationError", "Context", "Criterion", "CriterionError", "ProposeConfig",
           "Proposal", "allocate", "propose"]
