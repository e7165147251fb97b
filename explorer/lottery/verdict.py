"""Comparing runs of a group: iterations to a target, summaries over seeds, and the weak
lottery-ticket verdict in plain words (docs/science.md §4).

A role is the run's init: dense, ticket, reinit (control), random (control), rewind.
The target is a fraction (default 0.99) of the dense run's best train accuracy, taken per
seed where the dense run of that seed exists, else the mean over dense seeds. A group whose
runs draw their weights with several init schemes (a trainability grid: init × {dense,
pruned, pruned + isometry}) is compared scheme by scheme, each against its own dense runs.

The verdict names every control it uses with its size (parameters kept of the total). A control is
a network of the ticket's size (`explorer.pruning.kept`; `training.roles` refuses to build one that
is not); a run in the store whose recorded size differs from the ticket's (one trained before that
check existed) is named as such and left out of the verdict's comparison, never compared silently.

    >>> iterations_to_target([(10, 0.5), (20, 0.8), (30, 0.95)], 0.8)
    20
    >>> iterations_to_target([(10, 0.5)], 0.9) is None
    True
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from explorer.training.roles import ROLE_NAMES, ROLES, title



def iterations_to_target(curve: Iterable[tuple[int, float]], target: float) -> int | None:
    """First step whose train accuracy reaches `target`; None if never."""
    for step, acc in curve:
        if acc is not None and acc >= target:
            return int(step)
    return None


def _mean_std(xs: Sequence[float]) -> tuple[float, float]:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    if not xs:
        return float("nan"), float("nan")
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


@dataclass
class RunFacts:
    """One run reduced to what the comparison table needs."""

    run_id: str
    role: str
    seed: int
    status: str
    train_curve: list[tuple[int, float]]  # (step, train acc)
    test_curve: list[tuple[int, float]]
    params: int | None = None
    kept_params: int | None = None
    sparsity: float | None = None
    scheme: str = "as-built"  # the run's init scheme
    error: str = ""  # why it failed, if it did

    @property
    def best_train(self) -> float:
        return max((a for _, a in self.train_curve if a is not None), default=float("nan"))

    @property
    def best_test(self) -> float:
        return max((a for _, a in self.test_curve if a is not None), default=float("nan"))

    @property
    def final_train(self) -> float:
        return self.train_curve[-1][1] if self.train_curve else float("nan")

    @property
    def final_test(self) -> float:
        return self.test_curve[-1][1] if self.test_curve else float("nan")


def facts(run: Any, metrics: Sequence[Mapping[str, Any]]) -> RunFacts:
    """RunFacts from a store `Run` and its metric rows."""
    summ = run.summary or {}
    return RunFacts(run.id, run.config.init, run.config.seed, run.status,
                    [(m["step"], m["acc"]) for m in metrics if m["split"] == "train"],
                    [(m["step"], m["acc"]) for m in metrics if m["split"] == "test"],
                    summ.get("params"), summ.get("kept_params"), summ.get("sparsity"),
                    getattr(run.config, "init_scheme", "as-built"), (getattr(run, "error", None) or "").strip())


@dataclass
class RoleRow:
    role: str
    n: int
    reached: int  # runs that reached the target
    iters: tuple[float, float]  # mean, std over runs that reached it
    best_train: tuple[float, float]
    final_train: tuple[float, float]
    best_test: tuple[float, float]
    final_test: tuple[float, float]
    params: int | None
    kept_params: int | None
    sparsity: float | None
    per_run: list[tuple[str, int, int | None]] = field(default_factory=list)  # (run id, seed, iters)
    scheme: str = ""  # set when the group compares several init schemes
    sizes: tuple[tuple[int | None, int | None], ...] = ()  # every (kept, total) its runs recorded
    not_run: str = ""  # every run of the role failed before training: the first one's error

    @property
    def size(self) -> str:
        """'3,938 of 5,122 parameters kept' (or what is wrong with the recorded sizes)."""
        if len(self.sizes) > 1:
            return "sizes differ between its runs: " + ", ".join(f"{_num(k)} of {_num(t)}" for k, t in self.sizes)
        if self.kept_params is None or self.params is None:
            return "size not recorded"
        return f"{self.kept_params:,} of {self.params:,} parameters kept"

    def as_record(self) -> dict[str, Any]:
        def ms(v: tuple[float, float], pct: bool = True) -> str:
            if not math.isfinite(v[0]):
                return "–"
            k = 100 if pct else 1
            return f"{k * v[0]:.1f} ± {k * v[1]:.1f}" if pct else f"{v[0]:.0f} ± {v[1]:.0f}"

        return {**({"init": self.scheme} if self.scheme else {}), "role": title(self.role), "runs": self.n,
                "reached target": f"{self.reached}/{self.n}", "iterations to target": ms(self.iters, pct=False),
                "best train %": ms(self.best_train), "final train %": ms(self.final_train),
                "best test %": ms(self.best_test), "final test %": ms(self.final_test),
                "params (kept/total)": f"{self.kept_params:,}/{self.params:,}" if self.params and
                self.kept_params is not None and len(self.sizes) <= 1 else ("differ" if len(self.sizes) > 1 else "–"),
                "sparsity %": f"{100 * self.sparsity:.1f}" if self.sparsity is not None else "–"}


@dataclass
class Comparison:
    target_frac: float
    targets: dict[int, float]  # seed -> target train accuracy
    rows: list[RoleRow]
    verdict: str

    def row(self, role: str) -> RoleRow | None:
        return next((r for r in self.rows if r.role == role), None)

    def records(self) -> list[dict[str, Any]]:
        return [r.as_record() for r in self.rows]

    def controls(self) -> list[dict[str, Any]]:
        """Each control row: its role, title, kept and total parameters, whether that is the ticket's size
        and whether the verdict compares it (the CLI's `--json`)."""
        t = self.row("ticket") or self.row("rewind")
        return [{"role": r.role, "title": title(r.role), "scheme": r.scheme or None, "runs": r.n,
                 "kept_params": r.kept_params, "params": r.params, "same_size_as_ticket": same_size(r, t),
                 "compared": same_size(r, t) is not False and not r.not_run, "not_run": r.not_run or None}
                for r in self.rows if r.role in CONTROL_ROLES]


CONTROL_ROLES = tuple(r for r in ROLE_NAMES if ROLES[r].control)


def same_size(r: RoleRow, ticket: RoleRow | None) -> bool | None:
    """Whether a control's recorded size is the ticket's (None when either is not recorded)."""
    if ticket is None or r.kept_params is None or ticket.kept_params is None:
        return None
    return len(r.sizes) <= 1 and len(ticket.sizes) <= 1 and (r.kept_params, r.params) == (ticket.kept_params,
                                                                                          ticket.params)


def _num(v: int | None) -> str:
    return "?" if v is None else f"{v:,}"


def compare(runs: Sequence[RunFacts], target_frac: float = 0.99) -> Comparison:
    """The group table and verdict. Runs still going count with what they have so far; several init
    schemes are compared each on its own (rows and verdict per scheme)."""
    schemes = list(dict.fromkeys(r.scheme for r in runs))
    if len(schemes) <= 1:
        return _compare(runs, target_frac)
    parts = [(s, _compare([r for r in runs if r.scheme == s], target_frac)) for s in schemes]
    rows = [dataclasses.replace(row, scheme=s) for s, c in parts for row in c.rows]
    targets = {(s, seed): t for s, c in parts for seed, t in c.targets.items()}
    return Comparison(target_frac, targets, rows, " ".join(f"{s}: {c.verdict}" for s, c in parts))  # type: ignore[arg-type]


def _compare(runs: Sequence[RunFacts], target_frac: float) -> Comparison:
    dense = [r for r in runs if r.role == "dense" and math.isfinite(r.best_train)]
    mean_dense = statistics.fmean([r.best_train for r in dense]) if dense else float("nan")
    targets = {r.seed: target_frac * r.best_train for r in dense}

    def target(seed: int) -> float:
        return targets.get(seed, target_frac * mean_dense)

    rows = []
    for role in [*ROLE_NAMES, *sorted({r.role for r in runs} - set(ROLE_NAMES))]:
        rs = [r for r in runs if r.role == role]
        if not rs:
            continue
        its = [(r.run_id, r.seed, iterations_to_target(r.train_curve, target(r.seed))) for r in rs]
        reached = [i for _, _, i in its if i is not None]
        rows.append(RoleRow(role, len(rs), len(reached), _mean_std(reached), _mean_std([r.best_train for r in rs]),
                            _mean_std([r.final_train for r in rs]), _mean_std([r.best_test for r in rs]),
                            _mean_std([r.final_test for r in rs]), rs[0].params, rs[0].kept_params,
                            rs[0].sparsity, its, sizes=tuple(dict.fromkeys((r.kept_params, r.params) for r in rs)),
                            not_run=_not_run(rs)))
    cmp = Comparison(target_frac, {s: targets[s] for s in sorted(targets)}, rows, "")
    waiting = sum(r.status not in ("done", "diverged", "failed", "cancelled") for r in runs)
    cmp.verdict = verdict(cmp, waiting == 0, waiting)
    return cmp


def _not_run(rs: Sequence[RunFacts]) -> str:
    """The error of a role none of whose runs trained a step (e.g. a control refused as not the ticket's size)."""
    if all(r.status in ("failed", "cancelled") and not r.train_curve for r in rs):
        return next((r.error.splitlines()[-1] for r in rs if r.error), "failed before training")
    return ""


def _controls(c: Comparison, t: RoleRow) -> str:
    """The controls the verdict uses, each with its size, and those it cannot use because their size
    is not the ticket's."""
    used, wrong = [], []
    for role in CONTROL_ROLES:
        r = c.row(role)
        if r is None:
            continue
        if r.not_run:
            wrong.append(f"the {title(role)} did not run ({r.not_run[:300]})")
            continue
        if same_size(r, t) is False:
            wrong.append(f"the {title(role)} ({r.size}; the ticket: {t.size}) is not the ticket's size, so it is "
                         "no control and is left out of this comparison")
            continue
        how = (f"{r.iters[0]:.0f} iterations" if r.reached == r.n else
               f"did not reach it in {r.n - r.reached}/{r.n} runs") + f", test {_acc(r)}"
        used.append(f"{title(role)} ({r.size}{', as the ticket' if same_size(r, t) else ''}): {how}")
    out = f" Controls: {'; '.join(used)}." if used else " There is no control in this group to compare with."
    return out + "".join(f" Left out: {w}." for w in wrong)


def _acc(r: RoleRow) -> str:
    return f"{100 * r.final_test[0]:.1f}%" if math.isfinite(r.final_test[0]) else "–"


def verdict(c: Comparison, finished: bool = True, waiting: int = 0) -> str:
    """The weak-LTH claim, checked on this group, in plain words — only once every run has ended,
    saying what was pruned (a cut of no weight is no lottery ticket) and the final test accuracy
    beside the iterations to the target."""
    d, t = c.row("dense"), c.row("ticket") or c.row("rewind")
    pct = f"{100 * c.target_frac:.0f}%"
    if d is None or t is None:
        return "Needs a dense run and a ticket run in the group to judge the weak lottery-ticket claim."
    if not finished:
        return (f"Waiting for {waiting or 'some'} run(s) to finish: the verdict is given once every run of the group "
                "has ended, so that it never speaks from half the evidence.")
    if d.reached == 0:
        return "The dense run has no training accuracy, so there is no target to reach."
    name = title(t.role)
    sp = t.sparsity or 0.0
    what = (f" at {100 * sp:.0f}% sparsity ({t.size})" if sp >= 0.005 else "")
    caveat = ("" if sp >= 0.005 else
              " The cut removes no weight (0% of the weights are pruned: an arc such as a skip connection carries "
              "none), so this compares an architecture change with the dense network, not a lottery ticket.")
    ctrl_s = _controls(c, t)
    seeds = f" (mean over {t.n} seed{'s' if t.n > 1 else ''})"
    acc = f" Final test accuracy: {name} {_acc(t)} vs dense {_acc(d)}."
    if t.reached < t.n:
        return (f"Weak LTH not shown: {t.n - t.reached} of {t.n} {name} run(s){what} never reached {pct} of the "
                f"dense run's best training accuracy (dense: {d.iters[0]:.0f} iterations).{acc}{ctrl_s}{caveat}")
    if t.iters[0] <= d.iters[0]:
        return (f"Weak LTH holds here: the {name}{what} reached {pct} of the dense run's best training accuracy "
                f"in {t.iters[0]:.0f} ± {t.iters[1]:.0f} iterations vs {d.iters[0]:.0f} ± {d.iters[1]:.0f} for the "
                f"dense network{seeds}.{acc}{ctrl_s}{caveat}")
    return (f"Weak LTH not shown: the {name}{what} needed {t.iters[0]:.0f} ± {t.iters[1]:.0f} iterations to reach "
            f"{pct} of the dense best training accuracy, more than the dense network's {d.iters[0]:.0f} ± "
            f"{d.iters[1]:.0f}{seeds}.{acc}{ctrl_s}{caveat}")
