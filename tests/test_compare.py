"""Iterations to target, summaries over seeds and the verdict, against hand-made curves."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from explorer.lottery.group import ticket_group
from explorer.lottery.verdict import RunFacts, compare, iterations_to_target
from explorer.training.config import RunConfig


def curve(accs, every=10):
    return [(every * (i + 1), a) for i, a in enumerate(accs)]


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.floats(0, 1))
def test_iterations_to_target_matches_a_brute_force(accs, target):
    c = curve(accs)
    ref = next((s for s, a in c if a >= target), None)  # independent: first index scan
    assert iterations_to_target(c, target) == ref
    if ref is not None:
        assert all(a < target for s, a in c if s < ref)


def facts(role, seed, accs, **kw):
    return RunFacts(f"{role}{seed}", role, seed, "done", curve(accs), curve(accs[::2]), **kw)


def test_ticket_faster_than_dense_holds():
    runs = []
    for s in range(3):
        runs += [facts("dense", s, [0.2, 0.5, 0.8, 0.9, 1.0]), facts("ticket", s, [0.3, 0.7, 0.99, 1.0, 1.0]),
                 facts("reinit", s, [0.1, 0.2, 0.3, 0.5, 0.6]), facts("random", s, [0.1, 0.3, 0.6, 0.98, 0.99])]
    c = compare(runs, 0.99)
    assert c.targets == {0: 0.99, 1: 0.99, 2: 0.99}
    assert c.row("dense").iters == (50, 0) and c.row("ticket").iters == (30, 0)
    assert c.row("reinit").reached == 0
    assert c.verdict.startswith("Weak LTH holds") and "30 ± 0" in c.verdict and "50 ± 0" in c.verdict
    rec = c.records()
    assert [r["role"] for r in rec][:2] == ["dense", "ticket (dense init + mask)"]
    assert rec[2]["reached target"] == "0/3"


def test_ticket_slower_or_never_is_not_shown():
    slow = compare([facts("dense", 0, [0.5, 1.0]), facts("ticket", 0, [0.2, 0.5, 0.99])], 0.99)
    assert slow.verdict.startswith("Weak LTH not shown") and "more than" in slow.verdict
    never = compare([facts("dense", 0, [0.5, 1.0]), facts("ticket", 0, [0.2, 0.5])], 0.99)
    assert "never reached" in never.verdict
    assert "Needs a dense run" in compare([facts("ticket", 0, [1.0])]).verdict


def test_mean_and_spread_over_seeds():
    rng = random.Random(0)
    finals = [rng.random() for _ in range(5)]
    runs = [facts("dense", s, [0.1, f]) for s, f in enumerate(finals)]
    row = compare(runs).row("dense")
    m = sum(finals) / 5
    sd = math.sqrt(sum((f - m) ** 2 for f in finals) / 4)
    assert math.isclose(row.final_train[0], m) and math.isclose(row.final_train[1], sd)


def test_ticket_group_shares_data_order_and_seeds():
    cs = ticket_group(RunConfig(model="mlp", data_seed=4), "dir", [0, 1, 2])
    assert len(cs) == 12 and len({c.run_id for c in cs}) == 12
    assert {c.data_seed for c in cs} == {4} and len({c.group for c in cs}) == 1
    for s in range(3):
        assert {c.init for c in cs if c.seed == s} == {"dense", "ticket", "reinit", "random"}
    assert all(c.dense_twin().run_id == next(d.run_id for d in cs if d.init == "dense" and d.seed == c.seed)
               for c in cs if c.init == "ticket")


def test_the_verdict_names_each_control_and_its_size_and_leaves_out_a_wrong_size():
    """A control trained before the size check (the issue's 4,962-parameter random cut beside a 3,938-parameter
    ticket) is named as not the ticket's size and not compared; the others are named with their sizes."""
    runs = []
    for s in range(2):
        runs += [facts("dense", s, [0.2, 0.5, 0.8, 0.9, 1.0], params=5122, kept_params=5122, sparsity=0.0),
                 facts("ticket", s, [0.3, 0.7, 0.99, 1.0, 1.0], params=5122, kept_params=3938, sparsity=0.2312),
                 facts("reinit", s, [0.1, 0.2, 0.3, 0.5, 0.6], params=5122, kept_params=3938, sparsity=0.2312),
                 facts("random", s, [0.1, 0.3, 0.6, 0.98, 0.99], params=5122, kept_params=4962, sparsity=0.031)]
    c = compare(runs, 0.99)
    assert "at 23% sparsity (3,938 of 5,122 parameters kept)" in c.verdict
    assert "reinit control (3,938 of 5,122 parameters kept, as the ticket): did not reach it" in c.verdict
    assert ("Left out: the random-mask control (4,962 of 5,122 parameters kept; the ticket: 3,938 of 5,122 "
            "parameters kept) is not the ticket's size" in c.verdict)
    assert [(x["role"], x["same_size_as_ticket"], x["compared"]) for x in c.controls()] == [
        ("reinit", True, True), ("random", False, False)]
    assert [r["params (kept/total)"] for r in c.records()] == ["5,122/5,122", "3,938/5,122", "3,938/5,122",
                                                               "4,962/5,122"]
