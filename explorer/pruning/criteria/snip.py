"""SNIP connection sensitivity (Lee et al. 2019; docs/science.md §5): put a mask c = 1 on every
weight, g = dL/dc = w * dL/dw on a batch, score |g| / sum |g|. Supervised with labels, or
unsupervised with a uniform target distribution (Lee, Ajanthan, Gould, Torr, ICLR 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from explorer.pruning.criteria.base import Context, Criterion, CriterionError


def _sensitivity(ctx: Context, supervised: bool) -> dict[str, torch.Tensor]:
    assert ctx.data is not None
    x, y = ctx.data
    model = ctx.model.train()  # batch statistics, as at the start of training
    p = ctx.params()
    model.zero_grad(set_to_none=True)
    logits = model(x)
    if logits.dim() != 2:
        raise CriterionError(f"SNIP needs (batch, classes) logits; {type(model).__name__} returned shape "
                             f"{tuple(logits.shape)}; use magnitude or synflow, which need no loss")
    if supervised:
        if int(y.max()) >= logits.shape[1]:
            raise CriterionError(f"labels go up to {int(y.max())} but the model has {logits.shape[1]} outputs; "
                                 "pass data=(x, y) with labels in range, or use snip_unsupervised")
        loss = F.cross_entropy(logits, y)
    else:  # cross-entropy against the uniform distribution over classes
        loss = -F.log_softmax(logits, dim=1).mean()
    loss.backward()
    out = {}
    for w in ctx.weights:
        g = p[w].grad
        s = (g * p[w]).detach().abs().double() if g is not None else torch.zeros(p[w].shape, dtype=torch.float64)
        out[w] = s
    total = sum(float(s.sum()) for s in out.values())
    model.eval()
    return {k: v / total for k, v in out.items()} if total > 0 else out


SNIP = Criterion(
    "snip", "connection sensitivity |w·dL/dw| on a labelled batch: prune the connections the loss cares least about",
    "Lee, Ajanthan, Torr, SNIP: Single-shot Network Pruning based on Connection Sensitivity, ICLR 2019",
    ("weights", "units", "arcs"), weight_scores=lambda c: _sensitivity(c, True), reduce="sum", needs_data=True)

SNIP_UNSUPERVISED = Criterion(
    "snip_unsupervised", "SNIP with a uniform target distribution instead of labels (no labels needed)",
    "Lee, Ajanthan, Gould, Torr, A Signal Propagation Perspective for Pruning Neural Networks at "
    "Initialization, ICLR 2020",
    ("weights", "units", "arcs"), weight_scores=lambda c: _sensitivity(c, False), reduce="sum", needs_data=True)
