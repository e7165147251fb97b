"""The kinds of job: each registers itself beside its code with a decorator, so this package names
no domain package. The decorated function takes a `JobContext` and returns the job's result document
(or a `Stop` with another end).

    @job_kind("lottery.imp")
    def imp(ctx): ...

A submission records the registering module's name in the job's row (`submission`), and the worker
imports that module before it runs the job (`resolve`), so a page that submits and a worker that
runs need nothing else in common. Keep a registering module light (heavy imports inside the
function): a page imports it to submit.

    >>> @job_kind("doc.echo", attempts=1)
    ... def echo(ctx):
    ...     return dict(ctx.config)
    >>> KINDS["doc.echo"].function, submission("doc.echo", {"a": 1}).max_attempts
    ('echo', 1)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from explorer.jobs.store import Submission


class UnknownJobKind(ValueError):
    """A job kind nobody registered (in this process, or in the module its row names)."""


@dataclass(frozen=True)
class JobKind:
    """A registered kind: where its function lives and how its jobs are run."""

    name: str
    module: str  # the registering module: the worker imports it
    function: str
    attempts: int = 3  # how many times a job is started in all when its worker dies (1: never resumed)
    portable: bool = False  # runs anywhere (a Ray task): it only writes through its context, reads no store

    def fn(self) -> Callable[[Any], Any]:
        return getattr(importlib.import_module(self.module), self.function)


KINDS: dict[str, JobKind] = {}


def job_kind(name: str, *, attempts: int = 3, portable: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as the code of jobs of kind `name` (see the module doc)."""
    def register(fn: Callable) -> Callable:
        if fn.__module__ == "__main__":
            raise UnknownJobKind(f"job kind {name!r} is defined in a script run as __main__; a worker cannot import "
                                 "it: define it in a module of a package")
        old = KINDS.get(name)
        if old is not None and (old.module, old.function) != (fn.__module__, fn.__qualname__):
            raise UnknownJobKind(f"job kind {name!r} is registered twice: by {old.module}.{old.function} and by "
                                 f"{fn.__module__}.{fn.__qualname__}; give one of them another name")
        KINDS[name] = JobKind(name, fn.__module__, fn.__qualname__, attempts, portable)
        return fn
    return register


def check(kind: str) -> JobKind:
    """The registered kind `kind`; `UnknownJobKind`, naming those registered here, when no module imported in
    this process registered it.

    >>> check("no.such.kind")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    explorer.jobs.kinds.UnknownJobKind: unknown job kind 'no.such.kind'; registered here: ...
    """
    if kind not in KINDS:
        raise UnknownJobKind(f"unknown job kind {kind!r}; registered here: {', '.join(sorted(KINDS)) or 'none'} "
                             "(import the module that registers it with @job_kind before submitting)")
    return KINDS[kind]


def resolve(kind: str, module: str = "") -> Callable[[Any], Any]:
    """The function that runs jobs of `kind`, importing `module` (the one its row names) first."""
    if kind not in KINDS and module:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise UnknownJobKind(f"job kind {kind!r}: its module {module} cannot be imported ({e})") from e
    return check(kind).fn()


def spec_dict(spec: Any) -> dict[str, Any]:
    """A job's config as plain JSON: a `Spec` (anything with `to_dict`) or a mapping."""
    if hasattr(spec, "to_dict"):
        return dict(spec.to_dict())
    if isinstance(spec, Mapping):
        return dict(spec)
    raise TypeError(f"a job's config is a Spec or a dict, not {type(spec).__name__}")


def submission(kind: str | Submission, spec: Any = None, **meta: Any) -> Submission:
    """What to queue for a job of `kind` (registered) with config `spec`: the registering module and the
    kind's attempts filled in; `meta` are `Submission`'s other fields (id, group, label, owner, children...).
    A `Submission` given whole is completed the same way."""
    if isinstance(kind, Submission):
        sub = replace(kind, **meta) if meta else kind
    else:
        sub = Submission(kind, spec_dict(spec if spec is not None else {}), **meta)
    k = check(sub.kind)
    return replace(sub, module=sub.module or k.module, max_attempts=k.attempts if "max_attempts" not in meta
                   else sub.max_attempts, children=tuple(submission(c) for c in sub.children))
