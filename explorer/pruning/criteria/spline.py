"""Spline redundancy (You, Balestriero et al., TMLR 2022; docs/science.md §6).

Each ReLU unit's zero set is a hyperplane {x : w·x + b = 0} in its layer's input space.
Two units whose normalised (w, b) nearly coincide (|cosine| close to 1; (w, b) and
(-w, -b) give the same boundary) draw the same boundary and add little new partition.
Greedily, the most similar surviving pair loses its redundant member — the one with the
smaller ||(w, b)|| — until one unit is left; the removal order is the score (first removed
= lowest). Globally, the per-layer orders are merged by the similarity at each step.
For coupled channels (a ResNet stream) a unit's hyperplane is the concatenation of its
rows in every producer."""

from __future__ import annotations

import heapq

import torch

from explorer.pruning.criteria.base import Context, Criterion
from explorer.pruning.coupling import rows_of


def hyperplanes(ctx: Context) -> dict[str, torch.Tensor]:
    """Group name -> (size, D) un-normalised (w, b) rows of every unit (pruned rows are zero)."""
    p = ctx.params()
    mask = ctx.mask or {}
    out = {}
    for g in ctx.groups:
        parts: list[torch.Tensor] = []
        for s in g.slices:
            if s.role != "out" or s.param not in p:
                continue
            if not (s.param.endswith(".weight") and p[s.param].dim() >= 2) and not any(
                    s.param == f"{q}.bias" for q in g.producers):
                continue  # norm scales/shifts are not part of the boundary
            t = p[s.param].detach().double()
            if s.param in mask:
                t = t * mask[s.param].double()
            r = rows_of(t, s.dim, s.idx)  # (m, fan_in) or (m, 1) for a bias
            full = torch.zeros(g.size, r.shape[1], dtype=torch.float64)
            full.index_add_(0, s.root, r)
            parts.append(full)
        out[g.name] = torch.cat(parts, dim=1)
    return out


def removal_order(h: torch.Tensor) -> list[tuple[float, int]]:
    """Greedy order [(similarity, unit)] of the size-1 removals for one layer's hyperplanes (size, D)."""
    n = h.shape[0]
    norm = h.norm(dim=1)
    u = h / norm.clamp_min(1e-30)[:, None]
    sim = (u @ u.T).abs()  # (n, n), |cos| of the hyperplanes
    dead = norm == 0
    sim[dead, :] = 2.0  # an all-zero unit draws no boundary at all: most redundant
    sim[:, dead] = 2.0
    sim.fill_diagonal_(-1.0)
    alive = torch.ones(n, dtype=torch.bool)
    order: list[tuple[float, int]] = []
    for _ in range(n - 1):
        flat = int(torch.argmax(sim))
        i, j = divmod(flat, n)
        s = float(sim[i, j])
        victim = i if (norm[i], -i) < (norm[j], -j) else j  # the weaker member of the pair
        order.append((s, victim))
        alive[victim] = False
        sim[victim, :] = -1.0
        sim[:, victim] = -1.0
    return order


def spline_scores(ctx: Context) -> dict[str, torch.Tensor]:
    planes = hyperplanes(ctx)
    orders = {k: removal_order(h) for k, h in planes.items()}
    out = {k: torch.full((h.shape[0],), float("inf"), dtype=torch.float64) for k, h in planes.items()}
    if ctx.scope == "layer":
        for k, order in orders.items():
            for step, (_, unit) in enumerate(order):
                out[k][unit] = step
        return out
    # global: k-way merge of the per-layer sequences by the similarity of each next removal
    heap = [(-order[0][0], k, 0) for k, order in orders.items() if order]
    heapq.heapify(heap)
    step = 0
    while heap:
        _, k, i = heapq.heappop(heap)
        out[k][orders[k][i][1]] = step
        step += 1
        if i + 1 < len(orders[k]):
            heapq.heappush(heap, (-orders[k][i + 1][0], k, i + 1))
    return out


SPLINE = Criterion(
    "spline", "prune units whose (w, b) boundary hyperplane nearly coincides with another unit's "
    "(the redundant member of the pair)",
    "You, Balestriero, Lu, Kou, Shi, Baraniuk, Lin, Max-Affine Spline Insights Into Deep Network Pruning, "
    "TMLR 2022",
    ("units",), unit_scores=spline_scores)
