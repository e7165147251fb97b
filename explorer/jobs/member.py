"""A backend as one member of a class sees it: every job they submit carries their owner id, the store's
reads show only the jobs they asked for (`JobStore.for_viewer`), and cancelling a job they share with
others only drops their interest in it (`JobStore.withdraw`). The teacher sees every job; the local
single-user app uses the default owner '' and sees everything, as before.

    >>> import tempfile
    >>> from explorer.jobs import demo  # registers demo.count
    >>> from explorer.jobs.backends import LocalBackend
    >>> from explorer.jobs.store import NotYours
    >>> be = LocalBackend(tempfile.mkdtemp(), autostart=False)
    >>> ada, bob = MemberBackend(be, "ada"), MemberBackend(be, "bob")
    >>> jid = ada.submit("demo.count", {"n": 3})
    >>> [j.id for j in ada.store.list_jobs()] == [jid], bob.store.list_jobs()
    (True, [])
    >>> try:
    ...     bob.store.get_job(jid)
    ... except NotYours as e:
    ...     print("another member of this class" in str(e))
    True
    >>> bob.submit("demo.count", {"n": 3}) == jid, be.store.owners(jid)  # the same work: one job, shared
    (True, ['ada', 'bob'])
    >>> bob.cancel(jid), ada.store.get_job(jid).status, be.store.owners(jid)  # bob's interest dropped only
    ('queued', 'queued', ['ada'])
"""

from __future__ import annotations

from typing import Any

from explorer.jobs import kinds
from explorer.jobs.rows import Submission
from explorer.jobs.interest import NotYours


class MemberBackend:
    """`inner` (a shared backend) as `owner` sees it; `sees_all` (the teacher) reads every job. `quota`
    (optional) is asked `check(store, owner, submission)` before anything is queued and raises with the
    reason when the submission is over the member's quota."""

    def __init__(self, inner: Any, owner: str, *, sees_all: bool = False, quota: Any = None):
        self.inner, self.owner, self.sees_all, self.quota = inner, owner, sees_all, quota
        self.store = inner.store.for_viewer(None if sees_all or not owner else owner)
        self.name = inner.name

    def submit(self, kind: str | Submission, spec: Any = None, **meta: Any) -> str:
        """Queue a job as this member's (their interest is recorded even when the same job exists already)."""
        if self.owner:
            meta["owner"] = self.owner
        sub = kinds.submission(kind, spec, **meta)
        if self.quota is not None:
            self.quota.check(self.inner.store, self.owner, sub)
        return self.inner.submit(sub)

    def join(self, job_id: str) -> None:
        """This member asks for the existing job `job_id` (the same settings as another's): theirs to see too."""
        if self.owner:
            self.inner.store.take_interest(job_id, self.owner)

    def cancel(self, job_id: str) -> str:
        """This member stops wanting `job_id`: cancelled when nobody else asked for it (the teacher, and the
        local app, cancel it outright). `NotYours` for another's job."""
        if self.sees_all or not self.owner:
            return self.inner.cancel(job_id)
        self.store.get_job(job_id)  # NotYours unless this member may see it
        if self.owner not in self.inner.store.owners(job_id):
            raise NotYours(f"job {job_id} is a shared example of this class: nobody can cancel it")
        left = self.inner.store.withdraw(job_id, self.owner)
        if left == "cancelled" and hasattr(self.inner, "cancel"):
            self.inner.cancel(job_id)  # a Ray task is stopped by its backend, not only by the flag
        return left

    def poll(self) -> None:
        self.inner.poll()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
