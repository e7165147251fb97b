"""The exact linear regions of a piecewise-linear DAG-DNN on a plane (docs/science.md §6).

On a region the network is one affine map, and so is every unit's pre-activation. Start from
the plane's box as one region whose state is the affine map of the input slots,
`E = [origin, e1, e2]`; then, in level order of the unit DAG (the lifting's `T_1 ... T_L`):

1. the level's pre-activations on every region: `pre = A_l E` (the level-`l` rows of `T_l`,
   affine in (u, v) on each region, exactly as the lifting's local map would give them);
2. each unit with kinks (ReLU: `pre = 0`) cuts every region its line crosses (`polygon.split`);
   a max-pool slot cuts along `pre_j = pre_best` for each window member (a tournament);
3. on every resulting region the unit is on one piece of `phi`: its slots get
   `slope * pre + intercept` (ReLU: 0 or `pre`), which is `D_l(x) T_l` applied to the map.

Skip arcs and concatenations are just entries of `A_l` reaching back several levels, so DAGs
need nothing special. After the last level each region carries its activation code and the
output's affine map; the decision boundary is the zero set of the logit difference on each.

    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> P = partition_of(net, Plane.rect(-50, 50, -50, 50))
    >>> len(P), P.per_level, round(float(P.polygons.areas().sum()))     # 4 lines: 1 + 4 + 6 regions
    (11, (11, 11), 10000)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from explorer.graph.unit import unit_dag
from explorer.lifting.numeric import NumericLifting
from explorer.regions.decision import decision_segments
from explorer.regions.plan import NotPiecewiseLinear, level_plan, phi_table
from explorer.regions.plane import Plane, PlaneError
from explorer.regions.polygon import TOL, Polygons, split

MAX_REGIONS = 200_000
E0 = np.array([1.0, 0.0, 0.0])  # the constant term of an affine map (1, u, v)


class TooManyRegions(ValueError):
    """The partition grew past the limit; a smaller box, a smaller network or the grid view helps."""


@dataclass
class Partition:
    """The exact linear regions of a network on `plane`.

    polygons: the R regions (convex). codes (R, n_code): each region's activation code — the
    piece of `phi` each unit is on (ReLU: 0 off / 1 on), the argmax of each max-pool slot; its
    columns name `code_units`. maps (R, n_out, 3): the network's output on region r is
    `maps[r] @ (1, u, v)`. per_level: the number of regions after each level 1..L.
    boundaries (S, 2, 2) with boundary_unit (S,): the pieces of each unit's zero set (index into
    `units`). decision (D, 2, 2): the decision boundary, a segment per region it crosses.
    """

    polygons: Polygons
    codes: np.ndarray
    code_units: tuple[str, ...]
    maps: np.ndarray
    per_level: tuple[int, ...]
    boundaries: np.ndarray
    boundary_unit: np.ndarray
    units: tuple[str, ...]
    decision: np.ndarray
    plane: Plane = field(repr=False)
    exact: bool = True

    def __len__(self) -> int:
        return len(self.polygons)

    def __repr__(self) -> str:
        return (f"Partition({len(self)} regions, {len(self.units)} units drawing {len(self.boundaries)} boundary "
                f"pieces, {len(self.decision)} decision segments, per level {list(self.per_level)})")

    def code_strings(self) -> list[str]:
        """One string per region: the code digit of each unit in level order (ReLU: '0' off, '1' on)."""
        digits = np.array(list("0123456789abcdefghijklmnopqrstuvwxyz"))
        return ["".join(row) for row in digits[np.clip(self.codes, 0, 35)]]

    def logits_at(self, uv: np.ndarray, region: np.ndarray) -> np.ndarray:
        """(n, n_out) the network's output at plane points uv (n, 2) lying in regions `region` (n,)."""
        m = self.maps[region]  # (n, n_out, 3)
        return m[:, :, 0] + m[:, :, 1] * uv[:, :1] + m[:, :, 2] * uv[:, 1:]

    def boundaries_of(self, unit: str) -> np.ndarray:
        """(s, 2, 2) the pieces of one unit's boundary."""
        if unit not in self.units:
            return np.zeros((0, 2, 2))
        return self.boundaries[self.boundary_unit == self.units.index(unit)]

    def to_json(self, digits: int = 6) -> dict:
        """The document `python -m explorer regions --json` prints."""
        r = lambda a: np.round(np.asarray(a, dtype=float), digits).tolist()  # noqa: E731
        return {"regions": len(self), "polygons": [r(p) for p in self.polygons.to_list()],
                "codes": self.code_strings(), "decision_boundary": r(self.decision),
                "per_level": list(self.per_level)}


def partition_of(model: nn.Module, plane: Plane, example_input: torch.Tensor | None = None, **kw) -> Partition:
    """`partition` of a model (in its current mode: put BatchNorm in eval first): traces its unit DAG."""
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    x = example_input if example_input is not None else torch.zeros(1, *(plane.shape or (plane.n_in,)), dtype=dtype)
    try:
        dag = unit_dag(model, x, type(model).__name__)
    except RuntimeError as e:  # the model does not eat inputs of the plane's shape
        raise PlaneError(f"the model does not take inputs of shape {tuple(x.shape[1:])} ({e}); a 2-D box needs a "
                         "2-input model — for others give three anchor inputs (Plane.through)") from e
    return partition(NumericLifting(dag), plane, **kw)


def _initial_state(lift: NumericLifting, plane: Plane) -> np.ndarray:
    E = np.zeros((lift.N, 1, 3))  # (slots, regions, [1, u, v])
    E[0, 0, 0] = 1.0
    E[lift.in_slots, 0, 0] = plane.origin
    E[lift.in_slots, 0, 1:] = plane.basis
    for s in lift.const_slots:  # units with no in-arc hold phi(bias) everywhere
        phi = lift.net.groups[lift.dag.node(lift.order[lift.node_of_slot[s - 1]]).meta["group"]].phi
        E[s, 0, 0] = float(phi.fn(torch.tensor([float(lift.A[s, 0])], dtype=torch.float64))[0])
    return E


def partition(lift: NumericLifting, plane: Plane, *, max_regions: int = MAX_REGIONS, tol: float = TOL) -> Partition:
    """The exact partition of the lifting's network on `plane` (see the module doc).

    Raises `NotPiecewiseLinear` for smooth activations, `TooManyRegions` past `max_regions`,
    `PlaneError` when the plane does not fit the model's input."""
    plane.check_fits(lift.net.input_shape)
    if not plane.linear:
        why = plane.feature_note or "a nonlinear map"
        raise NotPiecewiseLinear(f"the network reads the plane through nonlinear features ({why}): its regions "
                                 "are curved, not polygons — drawn as a grid approximation")
    N = lift.N
    E = _initial_state(lift, plane)
    polys = Polygons.box(*plane.box)
    codes = np.zeros((1, 0), dtype=np.int16)
    code_units: list[str] = []
    units: list[str] = []
    segs, seg_unit = [], []
    per_level = []
    for l in range(1, lift.L + 1):
        plan = level_plan(lift, l)
        rows = lift.rows[l]
        R0 = len(polys)
        pre = np.asarray(lift.A_rows[l] @ E.reshape(N, -1)).reshape(len(rows), R0, 3)  # affine pre-activations
        src = np.arange(R0)  # each current region's region at the start of this level
        cols = [(u, k) for u in plan.units if u.kinks for k in u.local]  # one code column per bending slot
        col_of = {(u.node, int(k)): c for c, (u, k) in enumerate(cols)}
        piece = np.zeros((R0, len(cols) + len(plan.pools)), dtype=np.int16)

        def cut(coeff: np.ndarray, unit: str) -> np.ndarray:
            nonlocal polys, src, piece
            s = split(polys, coeff, tol)
            if len(s.chords):
                if unit not in units:
                    units.append(unit)
                segs.append(s.chords)
                seg_unit.append(np.full(len(s.chords), units.index(unit)))
            polys, src, piece = s.polygons, src[s.parent], piece[s.parent]
            if len(polys) > max_regions:
                raise TooManyRegions(f"over {max_regions:,} regions at level {l}; shrink the box, use a smaller "
                                     "network, or raise max_regions")
            return s.side

        for c, (u, k) in enumerate(cols):
            for kink in u.kinks:
                side = cut(pre[k, src] - kink * E0, u.node)  # (cut rebinds piece: read it after)
                piece[:, c] += side > 0
        for p, pool in enumerate(plan.pools):  # the max of a window: an argmax tournament
            c = len(cols) + p
            for j in range(1, len(pool.window)):
                side = cut(E[pool.window[j], src] - E[pool.window[piece[:, c]], src], pool.node)
                piece[side > 0, c] = j
        E, pre = E[:, src], pre[:, src]
        R = len(polys)
        for u in plan.units:
            slope, icpt = phi_table(u.phi, u.kinks)
            for k in u.local:
                pc = piece[:, col_of[(u.node, int(k))]] if u.kinks else np.zeros(R, dtype=np.int16)
                E[rows[k]] = slope[pc][:, None] * pre[k] + icpt[pc][:, None] * E0
        for p, pool in enumerate(plan.pools):
            E[rows[pool.local]] = E[pool.window[piece[:, len(cols) + p]], np.arange(R)]
        codes = np.concatenate([codes[src], piece], axis=1)
        code_units += [u.node if len(u.local) == 1 else f"{u.node}:{i}" for u, k in cols
                       for i in [int(np.nonzero(u.local == k)[0][0])]]
        code_units += [f"{p.node}:{p.pos}" for p in plan.pools]
        per_level.append(R)
    maps = E[lift.out_slots].transpose(1, 0, 2).copy()  # (R, n_out, 3)
    return Partition(polys, codes, tuple(code_units), maps, tuple(per_level),
                     np.concatenate(segs) if segs else np.zeros((0, 2, 2)),
                     np.concatenate(seg_unit).astype(np.int64) if seg_unit else np.zeros(0, np.int64),
                     tuple(units), decision_segments(polys, maps, tol), plane)
