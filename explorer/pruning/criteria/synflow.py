"""SynFlow (Tanaka, Kunin, Yamins, Ganguli 2020): data-free, iterative. With every weight
replaced by |w| and an all-ones input, R = sum of the outputs is the total "synaptic flow";
the score of w is |w * dR/dw|. Pruning over many rounds at exponentially rising sparsity,
re-scoring each time, avoids layer collapse."""

from __future__ import annotations

import torch

from explorer.pruning.criteria.base import Context, Criterion


@torch.no_grad()
def _linearise(model: torch.nn.Module) -> None:
    for p in model.parameters():
        p.abs_()
    for m in model.modules():  # BatchNorm in eval: keep the affine map positive too
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.zero_()


def synflow_scores(ctx: Context) -> dict[str, torch.Tensor]:
    model = ctx.model.double().eval()
    _linearise(model)
    p = ctx.params()
    if ctx.mask is not None:
        with torch.no_grad():
            for k, v in ctx.mask.items():
                if k in p:
                    p[k].mul_(v.to(p[k].dtype))
    model.zero_grad(set_to_none=True)
    x = torch.ones_like(ctx.x, dtype=torch.float64)
    r = model(x).sum()
    r.backward()
    out = {}
    for w in ctx.weights:
        g = p[w].grad
        out[w] = (g * p[w]).detach().abs() if g is not None else torch.zeros(p[w].shape, dtype=torch.float64)
    return out


SYNFLOW = Criterion(
    "synflow", "data-free, iterative: keep the weights that carry the most synaptic flow |w·dR/dw| (R = sum of "
    "outputs of the |w| network on an all-ones input)",
    "Tanaka, Kunin, Yamins, Ganguli, Pruning neural networks without any data by iteratively conserving "
    "synaptic flow, NeurIPS 2020",
    ("weights", "units", "arcs"), weight_scores=synflow_scores, reduce="sum", iterative=True)
