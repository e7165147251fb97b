"""The link schema: which query parameters a page understands, how each is read and written.

A link is `?v=1&model=resnet_tiny&g=op&l=3`: `v` is the schema version, then one key per setting
that differs from its default. Reading a link never raises: a value that cannot be used is left
out and said in `notices` ("ignored l='x': not a whole number"), so a malformed link still opens
the page, on the defaults, with the reason on screen.

    >>> P = (Param("l", int, 1, lo=1, hi=50, label="level"),)
    >>> d = LinkDoc.parse({"v": "1", "l": "7", "zz": "1"}, P)
    >>> d.values, d.notices
    ({'l': 7}, ["ignored 'zz': this page has no such setting"])
    >>> LinkDoc.parse({"l": "0"}, P).notices
    ['ignored l=0: level must be at least 1']
    >>> encode({"l": 1}, P), encode({"l": 4}, P)
    ({}, {'v': '1', 'l': '4'})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

SCHEMA_VERSION = 1
MAX_URL_CHARS = 2000  # what every browser, chat and mail client passes on whole
MAX_VALUE_CHARS = 300  # one parameter's value; a selection beyond this goes by hash (`selection`)


@dataclass(frozen=True)
class Param:
    """One setting in a link: its URL `key`, type (`int`, `float`, `bool`, `str`), default, and limits
    (`choices` for a `str`, `lo`/`hi` for numbers). `label` names it in notices."""

    key: str
    kind: type
    default: Any = None
    choices: tuple = ()
    lo: float | None = None
    hi: float | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.key

    def parse(self, raw: str) -> Any:
        """The value of `raw`, or ValueError naming what is wrong with it."""
        raw = str(raw).strip()
        if len(raw) > MAX_VALUE_CHARS:
            raise ValueError(f"{self.name} is {len(raw)} characters long, over the {MAX_VALUE_CHARS} a link carries")
        if self.kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{self.name} must be 1 or 0")
        if self.kind is int:
            try:
                v: Any = int(raw)
            except ValueError:
                raise ValueError(f"{self.name} must be a whole number") from None
        elif self.kind is float:
            try:
                v = float(raw)
            except ValueError:
                raise ValueError(f"{self.name} must be a number") from None
            if not math.isfinite(v):
                raise ValueError(f"{self.name} must be a finite number")
        else:
            v = raw
            if not v:
                raise ValueError(f"{self.name} is empty")
        if self.choices and v not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(map(str, self.choices))}")
        if self.lo is not None and v < self.lo:
            raise ValueError(f"{self.name} must be at least {self.lo:g}")
        if self.hi is not None and v > self.hi:
            raise ValueError(f"{self.name} must be at most {self.hi:g}")
        return v

    def format(self, v: Any) -> str:
        if self.kind is bool:
            return "1" if v else "0"
        if self.kind is float:
            return f"{float(v):.6g}"
        return str(v)


@dataclass
class LinkDoc:
    """What a link says: `values` {key: parsed value} for the keys it carried and could use, and
    `notices`, one sentence per thing it carried and could not."""

    values: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, query: Mapping[str, str], params: Sequence[Param]) -> LinkDoc:
        doc = cls()
        by_key = {p.key: p for p in params}
        version = query.get("v")
        if version is not None:
            try:
                ver = int(version)
            except ValueError:
                ver = None
                doc.notices.append(f"the link's version v={version!r} is not a number; read it as version "
                                   f"{SCHEMA_VERSION}")
            if ver is not None and ver > SCHEMA_VERSION:
                doc.notices.append(f"the link was made by a newer version of the explorer (v={ver}, this one reads "
                                   f"v={SCHEMA_VERSION}); settings it does not know are ignored")
        for k, raw in query.items():
            if k == "v":
                continue
            p = by_key.get(k)
            if p is None:
                doc.notices.append(f"ignored {k!r}: this page has no such setting")
                continue
            try:
                doc.values[k] = p.parse(raw)
            except ValueError as e:
                shown = raw if len(str(raw)) <= 40 else str(raw)[:37] + "..."
                doc.notices.append(f"ignored {k}={shown}: {e}")
        return doc


def encode(values: Mapping[str, Any], params: Sequence[Param]) -> dict[str, str]:
    """The query of `values`: `v` and each param whose value is set and differs from its default
    (an all-default view is the bare page address)."""
    out: dict[str, str] = {}
    for p in params:
        v = values.get(p.key)
        if v is None or v == p.default:
            continue
        out[p.key] = p.format(v)
    return {"v": str(SCHEMA_VERSION), **out} if out else {}


def url_length(base: str, query: Mapping[str, str]) -> int:
    """Characters of `base?query` as a browser sends it."""
    return len(base) + (1 + len(urlencode(query)) if query else 0)


SOURCES = ("zoo", "torchvision", "file")  # an uploaded ONNX file cannot travel in a link

MODEL_PARAMS = (
    Param("src", str, "zoo", choices=SOURCES, label="model source"),
    Param("model", str, None, label="model"),
    Param("g", str, None, choices=("unit", "op", "block"), label="granularity"),
    Param("depth", int, 2, lo=1, hi=6, label="block depth"),
    Param("seed", int, 0, lo=0, hi=10_000, label="seed"),
)


def check_model(src: str, spec: str) -> str | None:
    """Why `spec` cannot be opened from a link as a `src` model, or None when it can. A file model must
    already be in the models folder: a link never brings code with it.

    >>> check_model("zoo", "mlp") is None, check_model("zoo", "nope")[:30]
    (True, "'nope' is not a zoo model (one")
    """
    from explorer.models import ZOO

    if src == "zoo":
        return None if spec in ZOO else f"{spec!r} is not a zoo model (one of {', '.join(ZOO)})"
    if src == "torchvision":
        from explorer.models import torchvision_names

        return None if spec in torchvision_names() else (f"{spec!r} is not a torchvision classification model "
                                                         "(e.g. resnet18)")
    if src == "file":
        from explorer.models.user_store import check_allowed

        if ".py:" not in spec:
            return f"{spec!r} is not a file model (path/to/file.py:ClassName)"
        try:
            check_allowed(spec)
        except ValueError as e:
            return str(e)
        from pathlib import Path

        if not Path(spec.rpartition(":")[0]).is_file():
            return f"{spec.rpartition(':')[0]} is not in this machine's models folder (a link carries no code)"
        return None
    return f"model source {src!r} is not one of {', '.join(SOURCES)}"
