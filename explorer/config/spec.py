"""`Spec`: the one base of every config. A config is a frozen dataclass whose fields are declared once
with `setting(default, help, choices=...)`; from those declarations come its checks (types, choices),
`to_dict` / `from_dict`, its id hash (`digest`), its command-line arguments (`explorer.config.forms`)
and the plain descriptions the pages turn into widgets.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo(Spec):
    ...     lr: float = setting(0.1, "learning rate")
    ...     opt: str = setting("adam", "optimiser", choices=("adam", "sgd"))
    ...     sizes: tuple[int, ...] = setting((8, 8), "units per layer")
    ...     note: str = setting("", "for people only", hashed="never")
    >>> d = Demo.from_dict({"opt": "sgd", "sizes": [4], "from_a_newer_version": 1})
    >>> d, d.to_dict()
    (Demo(lr=0.1, opt='sgd', sizes=(4,), note=''), {'lr': 0.1, 'opt': 'sgd', 'sizes': [4], 'note': ''})
    >>> d.digest() == d.replace(note="mine").digest(), d.digest() == Demo().digest()
    (True, False)
    >>> Demo(opt="rmsprop")
    Traceback (most recent call last):
    ...
    explorer.config.spec.SpecError: opt='rmsprop' is not one of adam, sgd
    >>> Demo.from_dict({"lr": "fast"})
    Traceback (most recent call last):
    ...
    explorer.config.spec.SpecError: lr must be a number; got 'fast'

A field may hold another spec (`embed`): Lottery's training settings are a `RunConfig`, flattened
into the outer spec's dict, arguments and widgets, so a field added to `RunConfig` reaches the lab
without a second declaration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

S = TypeVar("S", bound="Spec")
HASHED = ("always", "when_set", "never")
_FIELDS: dict[type, list[tuple[dataclasses.Field, Any]]] = {}  # per spec class: its fields and annotations


class SpecError(ValueError):
    """A setting of the wrong type or outside its choices; the message names the field and what it takes."""


def setting(default: Any, help: str, *, choices: tuple[Any, ...] | None = None, hashed: str = "always",
            cli: bool = True, url: bool = True) -> Any:
    """Declare a config field: its default, a one-line help (the widget's tooltip and `--help`), the values
    it may take, and whether the id hash includes it: `always`, `when_set` (only when it differs from the
    default: a field added after configs were first stored keeps their ids) or `never` (a display label).
    `cli` / `url`: whether the command line and a shared link carry it."""
    if hashed not in HASHED:
        raise ValueError(f"hashed={hashed!r} is not one of {', '.join(HASHED)}")
    meta = {"help": help, "choices": None if choices is None else tuple(choices), "hashed": hashed, "cli": cli,
            "url": url}
    return dataclasses.field(default=default, metadata=meta)


def embed(spec: type[Spec], *, defaults: Mapping[str, Any] | None = None, fixed: tuple[str, ...] = (),
          always: tuple[str, ...] = ()) -> Any:
    """Declare a field holding a `spec` (built from `defaults` when not given). Its settings are flattened
    into the outer spec's dict, arguments and widgets, except `fixed`: those the outer spec sets itself
    (a lab sets each run's seed and mask). In the outer dict (and so its hash) an embedded setting appears
    when it is in `always` or differs from its default, so settings added to `spec` later keep the outer
    configs' ids."""
    kw = dict(defaults or {})
    return dataclasses.field(default_factory=lambda: spec(**kw),
                             metadata={"embed": spec, "defaults": kw, "fixed": tuple(fixed), "always": tuple(always)})


@dataclass(frozen=True)
class Setting:
    """One declared field, flattened: what the forms, the dict and the hash read."""

    name: str
    default: Any
    help: str
    type: Any  # bool | int | float | str | tuple
    item: Any = None  # a tuple's item type (a type, or a tuple of types for fixed-length items)
    choices: tuple[Any, ...] | None = None
    hashed: str = "always"
    cli: bool = True
    url: bool = True
    within: str = ""  # the embedded field it belongs to ("" = the spec's own)


def _type_of(hint: Any) -> tuple[Any, Any]:
    """(type, item type) of an annotation: `tuple[float, ...]` -> (tuple, float)."""
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            inner = args[0]
            return tuple, (typing.get_args(inner) if typing.get_origin(inner) is tuple else inner)
        return tuple, args
    return hint, None


class Spec:
    """Base of every config: subclass it as a `@dataclass(frozen=True)` whose fields are `setting`s (or an
    `embed`), and put the rules that tie fields together in `check` (raise `self.error`)."""

    error: ClassVar[type[ValueError]] = SpecError

    # ---- the declarations ----------------------------------------------------------------
    @classmethod
    def _own(cls) -> list[tuple[dataclasses.Field, Any]]:
        if cls not in _FIELDS:
            hints = typing.get_type_hints(cls)
            _FIELDS[cls] = [(f, hints[f.name]) for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        return _FIELDS[cls]

    @classmethod
    def settings(cls) -> list[Setting]:
        """Every setting, embedded ones flattened (without their `fixed` ones), in declaration order."""
        out = []
        for f, hint in cls._own():
            inner = f.metadata.get("embed")
            if inner is not None:
                defaults, fixed = f.metadata["defaults"], f.metadata["fixed"]
                out += [dataclasses.replace(s, within=f.name, default=defaults.get(s.name, s.default))
                        for s in inner.settings() if s.name not in fixed]
                continue
            t, item = _type_of(hint)
            m = f.metadata
            out.append(Setting(f.name, f.default, m.get("help", ""), t, item, m.get("choices"), m.get("hashed", "always"),
                               m.get("cli", True), m.get("url", True)))
        return out

    @classmethod
    def help(cls) -> dict[str, str]:
        """Setting name -> its one-line help."""
        return {s.name: s.help for s in cls.settings()}

    # ---- checks --------------------------------------------------------------------------
    def __post_init__(self) -> None:
        for f, hint in self._own():
            inner = f.metadata.get("embed")
            if inner is not None:
                if not isinstance(getattr(self, f.name), inner):
                    raise self.error(f"{f.name} must be a {inner.__name__}; got {getattr(self, f.name)!r}")
                continue
            t, item = _type_of(hint)
            v = _checked(f.name, getattr(self, f.name), t, item, self.error)
            if v is not getattr(self, f.name):
                object.__setattr__(self, f.name, v)
            choices = f.metadata.get("choices")
            for x in (v if t is tuple else (v,)) if choices is not None else ():
                if x not in choices:
                    shown = f"{f.name}={x!r}" if t is not tuple else f"{f.name}: {x!r}"
                    raise self.error(f"{shown} is not one of {', '.join(map(str, choices))}")
        self.check()

    def check(self) -> None:
        """Rules between fields (raise `self.error` naming the field and the fix); none by default."""

    # ---- identity and JSON ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON (tuples as lists), embedded specs flattened."""
        out: dict[str, Any] = {}
        for f, _ in self._own():
            v = getattr(self, f.name)
            if f.metadata.get("embed") is None:
                out[f.name] = _plain(v)
                continue
            keep, fixed, given = f.metadata["always"], f.metadata["fixed"], f.metadata["defaults"]
            defaults = {s.name: given.get(s.name, s.default) for s in type(v).settings()}
            out.update({k: x for k, x in v.to_dict().items()
                        if k not in fixed and (k in keep or x != _plain(defaults.get(k)))})
        return out

    @classmethod
    def from_dict(cls: type[S], d: Mapping[str, Any], strict: bool = False) -> S:
        """The spec of `d` (as `to_dict` writes it): missing settings take their defaults, and settings this
        version does not know are left out (`strict`: refused), so a stored config still opens."""
        if not isinstance(d, Mapping):
            raise cls.error(f"a {cls.__name__} is a JSON object of settings; got {type(d).__name__}")
        known = {s.name: s for s in cls.settings()}
        unknown = sorted(set(d) - set(known))
        if strict and unknown:
            raise cls.error(f"unknown {cls.__name__} setting(s) {unknown}; known: {sorted(known)}")
        own: dict[str, Any] = {}
        inner: dict[str, dict[str, Any]] = {}
        for k, v in d.items():
            if k in known:
                s = known[k]
                v = _items(k, v, s.item, cls.error) if s.type is tuple else v
                (inner.setdefault(s.within, {}) if s.within else own)[k] = v
        for f, _ in cls._own():
            if f.metadata.get("embed") is not None and f.name in inner:
                own[f.name] = f.metadata["embed"].from_dict({**f.metadata["defaults"], **inner[f.name]}, strict)
        return cls(**own)

    @classmethod
    def of(cls: type[S], **settings: Any) -> S:
        """The spec of flat keyword settings (an embedded spec's included); unknown names are refused."""
        return cls.from_dict(settings, strict=True)

    def replace(self: S, **changes: Any) -> S:
        """A copy with `changes` (flat names: an embedded spec's settings are replaced inside it)."""
        where = {s.name: s.within for s in self.settings()}
        own = {k: v for k, v in changes.items() if not where.get(k)}
        for emb in {where[k] for k in changes if where.get(k)}:
            own[emb] = getattr(self, emb).replace(**{k: v for k, v in changes.items() if where.get(k) == emb})
        return dataclasses.replace(self, **own)

    def digest(self, **extra: Any) -> str:
        """12 hex digits of the SHA-256 of the hashed settings (and `extra`, e.g. the kind): the config's id."""
        d = dict(self.to_dict())
        for s in self.settings():
            if s.within:
                continue
            if s.hashed == "never" or (s.hashed == "when_set" and d.get(s.name) == _plain(s.default)):
                d.pop(s.name, None)
        return hashlib.sha256(json.dumps({**extra, **d}, sort_keys=True).encode()).hexdigest()[:12]


def _plain(v: Any) -> Any:
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    return v


def _checked(name: str, v: Any, t: Any, item: Any, error: type[ValueError]) -> Any:
    """`v` if it is a `t` (a list becomes a tuple); else `error` naming the field."""
    if t is tuple:
        if not isinstance(v, tuple | list):
            raise error(f"{name} must be a list; got {v!r}")
        v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        for x in v:
            _is(name, x, item, error, "each item of ")
        return v
    _is(name, v, t, error)
    return v


def _is(name: str, v: Any, t: Any, error: type[ValueError], what: str = "") -> None:
    if isinstance(t, tuple):  # a fixed-length item, e.g. a point (x1, x2, label)
        if not isinstance(v, tuple) or len(v) != len(t):
            raise error(f"{what}{name} must have {len(t)} entries; got {v!r}")
        for x, tx in zip(v, t):
            _is(name, x, tx, error, what)
        return
    ok = {bool: lambda x: isinstance(x, bool),
          int: lambda x: isinstance(x, numbers.Integral) and not isinstance(x, bool),
          float: lambda x: isinstance(x, numbers.Real) and not isinstance(x, bool),
          str: lambda x: isinstance(x, str)}.get(t, lambda x: True)
    if not ok(v):
        kind = {bool: "true or false", int: "an integer", float: "a number", str: "text"}[t]
        raise error(f"{what}{name} must be {kind}; got {v!r}")


def _items(name: str, v: Any, item: Any, error: type[ValueError]) -> Any:
    """A JSON list read back as a tuple, items converted to the declared type (a stored 1 for a float is 1.0)."""
    if not isinstance(v, list | tuple):
        return v  # the type check names it

    def conv(x: Any, t: Any) -> Any:
        if isinstance(t, tuple) and isinstance(x, list | tuple) and len(x) == len(t):
            return tuple(conv(a, ta) for a, ta in zip(x, t))
        if t in (int, float) and isinstance(x, numbers.Real | str) and not isinstance(x, bool):
            try:
                return t(x)
            except ValueError:
                raise error(f"each item of {name} must be {'an integer' if t is int else 'a number'}; got {x!r}") from None
        return x

    return tuple(conv(x, item) for x in v)
