"""Fair scheduling on a class server (issue 19, phase 2): the round-robin claim policy (property: with K
owners each submitting bursts, no owner with work waiting waits more than K - 1 other claims between its
jobs, against a first-come queue that starves), the queue position and estimated start a student sees,
and the per-student quotas with their refusal messages."""

from __future__ import annotations

import random

import pytest

from explorer.jobs import demo  # noqa: F401 - registers demo.count
from explorer.jobs.backends import LocalBackend
from explorer.jobs.member import MemberBackend
from explorer.jobs.policy import Fifo, RoundRobin, order
from explorer.jobs.queue import where
from explorer.jobs.rows import Submission
from explorer.jobs.store import JobStore
from explorer.training.quota import Quota, QuotaError


def _bursts(rng: random.Random, k: int) -> list[tuple[float, str, int]]:
    """(arrival time, owner, job number) of K owners each submitting bursts of 1..8 jobs at random times."""
    out = []
    for o in range(k):
        t = rng.uniform(0, 5)
        for b in range(rng.randint(1, 3)):
            for j in range(rng.randint(1, 8)):
                out.append((t + j * 1e-3, f"o{o}", len(out)))
            t += rng.uniform(0, 10)
    return sorted(out)


def _simulate(policy, arrivals, claims_per_tick: int = 1) -> list[str]:
    """Owners of the claims, one claim per tick, jobs arriving on their ticks (the worker's view)."""
    queued, served, got, now, i = [], {}, [], 0.0, 0
    while i < len(arrivals) or queued:
        while i < len(arrivals) and arrivals[i][0] <= now:
            t, o, n = arrivals[i]
            queued.append({"id": f"j{n}", "owner": o, "kind": "train", "priority": 0, "created": t, "served": None})
            i += 1
        if queued:
            for r in queued:  # what the store's claim query says: when the owner's newest job started
                r["served"] = served.get(r["owner"])
            jid = policy.pick(queued, [])
            row = next(r for r in queued if r["id"] == jid)
            queued.remove(row)
            served[row["owner"]] = now
            got.append((row["owner"], [r["owner"] for r in queued]))
        now += 1.0
    return got


@pytest.mark.parametrize("seed", range(25))
def test_no_owner_waits_more_than_k_claims_between_its_jobs(seed):
    rng = random.Random(seed)
    k = rng.randint(2, 7)
    got = _simulate(RoundRobin(), _bursts(rng, k))
    # while an owner has a job waiting, at most K - 1 claims go to others before its next one
    for i, (owner, waiting) in enumerate(got):
        for o in set(waiting):
            nxt = next(j for j in range(i + 1, len(got)) if got[j][0] == o)
            assert nxt - i <= k, (seed, k, o, i, nxt)


def test_first_come_first_served_lets_a_burst_starve_the_others():
    """The reference the property is not vacuous against: FIFO serves a burst of 20 before anyone else."""
    arrivals = [(0.0 + j * 1e-3, "flood", j) for j in range(20)] + [(0.5, "late", 99)]
    fifo = [o for o, _ in _simulate(Fifo(), arrivals)]
    rr = [o for o, _ in _simulate(RoundRobin(), arrivals)]
    assert fifo.index("late") == 20 and rr.index("late") == 1  # RR: the first claim after it arrived


def test_order_plays_the_policy_forward():
    q = [{"id": f"{o}{i}", "owner": o, "kind": "t", "priority": 0, "created": float(t), "served": None}
         for t, (o, i) in enumerate([("a", 1), ("a", 2), ("b", 1), ("c", 1), ("b", 2)])]
    assert order(RoundRobin(), q) == ["a1", "b1", "c1", "a2", "b2"]
    assert order(RoundRobin(), [{**r, "served": 1.0 if r["owner"] == "a" else None} for r in q]) == \
        ["b1", "c1", "a1", "b2", "a2"]
    assert order(Fifo(), q) == [r["id"] for r in q]


def test_the_store_claims_in_turn(tmp_path):
    s = JobStore(tmp_path)
    ids = {o: [s.submit(Submission("demo.count", {"n": i, "o": o}, module="explorer.jobs.demo", owner=o))
               for i in range(3)] for o in ("ada", "bob")}
    got = []
    for _ in range(6):
        j = s.claim("w", policy=RoundRobin())
        got.append(j.owner)
        s.finish(j.id, "done", worker_id="w")
    assert got == ["ada", "bob", "ada", "bob", "ada", "bob"]
    assert {j.id for j in s.list_jobs(status="done")} == set(ids["ada"] + ids["bob"])


def test_a_student_sees_their_place_and_a_measured_estimate(tmp_path):
    s = JobStore(tmp_path)
    done = s.submit(Submission("demo.count", {"n": 0}, module="explorer.jobs.demo", owner="x"))
    s.claim("w", job=done)
    s.finish(done, "done", worker_id="w")
    s._conn().execute("UPDATE jobs SET started=finished-12 WHERE id=?", (done,))  # it ran 12 s
    s._conn().commit()
    a = [s.submit(Submission("demo.count", {"n": i}, module="explorer.jobs.demo", owner="ada")) for i in (1, 2, 3)]
    b = s.submit(Submission("demo.count", {"n": 9}, module="explorer.jobs.demo", owner="bob"))
    place = where(s, b, RoundRobin())
    assert (place.position, place.ahead) == (2, 1) and place.start_s == pytest.approx(12.0)
    assert "estimate" in place.text() and "median run time of the last 1 finished demo.count" in place.text()
    assert where(s, a[2], RoundRobin()).start_s == pytest.approx(36.0)  # a1, b, a2 ahead
    assert where(s, a[2], Fifo()).position == 3 and where(s, done, RoundRobin()) is None


def test_quotas_refuse_with_the_limit_and_the_way_on(tmp_path):
    be = LocalBackend(JobStore(tmp_path), autostart=False)
    ada = MemberBackend(be, "ada", quota=Quota(jobs=2, steps=100, params=1_000_000))
    for n in (1, 2):
        ada.submit("demo.count", {"n": n, "steps": 10})
    with pytest.raises(QuotaError, match="you have 2 jobs queued or running, the class limit is 2"):
        ada.submit("demo.count", {"n": 3})
    assert len(be.store.list_jobs()) == 2  # nothing queued by the refusal
    ada.submit("demo.count", {"n": 1, "steps": 10})  # the same work again queues nothing: never refused
    bob = MemberBackend(be, "bob", quota=Quota(jobs=2, steps=100, params=1_000))
    with pytest.raises(QuotaError, match="500 training steps per run is over the class limit of 100"):
        bob.submit("demo.count", {"n": 4, "steps": 500})
    with pytest.raises(QuotaError, match=r"model mlp has 15,210 parameters, over the class limit of 1,000"):
        bob.submit("demo.count", {"n": 5, "model": "mlp"})
    teacher = MemberBackend(be, "t", sees_all=True)  # no quota
    teacher.submit("demo.count", {"n": 6, "steps": 10_000})


def test_a_job_claimed_while_its_place_is_read_has_no_place(tmp_path, monkeypatch):
    """A worker may claim a queued job between `where`'s read of the job and its read of the queue (a merged
    batch takes other students' jobs at once): the job is no longer waiting, so it has no place, and the
    page that asked shows no error."""
    from explorer.jobs import queue

    s = JobStore(tmp_path)
    a = s.submit(Submission("demo.count", {"n": 1}, module="explorer.jobs.demo", owner="ada"))
    real = queue.order

    def claimed_meanwhile(policy, queued, running=()):
        s.claim("w", job=a)
        return real(policy, [q for q in queued if q["id"] != a], running)

    monkeypatch.setattr(queue, "order", claimed_meanwhile)
    assert where(s, a, RoundRobin()) is None
