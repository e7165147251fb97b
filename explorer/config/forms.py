"""What a spec's declarations become outside the library: command-line arguments (`add_arguments`,
`from_args`) and plain widget descriptions (`widgets`) that the pages turn into Streamlit widgets
(`ui.spec_form`). Each carries the setting's own help, choices and default.

    >>> import argparse
    >>> from explorer.training.config import RunConfig
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p, RunConfig, ("model", "steps", "optimizer", "save_final"), positional=("model",))
    >>> a = p.parse_args(["mlp", "--steps", "5", "--optimizer", "sgd"])
    >>> c = from_args(RunConfig, a)
    >>> c.model, c.steps, c.optimizer, c.save_final
    ('mlp', 5, 'sgd', False)
    >>> [(w.name, w.kind, w.choices) for w in widgets(RunConfig, ("steps", "optimizer", "save_final"))]
    [('steps', 'int', None), ('optimizer', 'select', ('adam', 'sgd')), ('save_final', 'checkbox', None)]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from explorer.config.spec import Setting, Spec


def _chosen(spec: type[Spec], names: Iterable[str] | None, skip: Iterable[str]) -> list[Setting]:
    by = {s.name: s for s in spec.settings()}
    if names is None:
        return [s for s in by.values() if s.cli and s.name not in set(skip)]
    missing = [n for n in names if n not in by]
    if missing:
        raise KeyError(f"{spec.__name__} has no setting(s) {missing}; it has {sorted(by)}")
    return [by[n] for n in names if n not in set(skip)]


def parse_items(text: str, item: Any) -> tuple[Any, ...]:
    """Comma-separated text as a tuple of `item`s: parse_items("0.5, 0.9", float) == (0.5, 0.9)."""
    return tuple(item(x) if item in (int, float) else x for x in str(text).replace(" ", "").split(",") if x)


def add_arguments(p: argparse.ArgumentParser, spec: type[Spec], names: Iterable[str] | None = None, *,
                  skip: Iterable[str] = (), positional: Iterable[str] = (), flags: Mapping[str, str] | None = None,
                  defaults: Mapping[str, Any] | None = None, helps: Mapping[str, str] | None = None,
                  extra: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Add an argument per setting of `spec` (`names`, default: every one the CLI carries, minus `skip`):
    `--name-with-dashes` (or `flags[name]`), typed, with the setting's choices, default and help. A bool
    is a switch: `--name` turns on one that is off; `--no-name` (or `flags[name]`) turns off one that is
    on. A tuple is comma-separated text. `positional` settings are positional; `defaults` and `helps`
    replace a setting's default or help for this command only (say why in the help); `extra` adds or
    replaces `add_argument` keywords of a setting (None removes one)."""
    flags, defaults, helps, pos = dict(flags or {}), dict(defaults or {}), dict(helps or {}), set(positional)
    extra = dict(extra or {})
    for s in _chosen(spec, names, skip):
        default = defaults.get(s.name, s.default)
        kw: dict[str, Any] = {"help": helps.get(s.name, s.help)}
        if s.name in pos:
            p.add_argument(s.name, **kw)
            continue
        if s.type is bool:
            flag = flags.get(s.name, f"--{'no-' if default else ''}{s.name.replace('_', '-')}")
            p.add_argument(flag, dest=s.name, action="store_false" if default else "store_true", default=default, **kw)
            continue
        if s.type is tuple:
            kw["type"] = lambda text, item=s.item: parse_items(text, item)
            kw["metavar"] = "A,B,..."
        elif s.type in (int, float, str):
            kw["type"] = s.type
        if s.choices is not None and s.type is not tuple:
            kw["choices"] = s.choices
        kw = {k: v for k, v in {**kw, **extra.get(s.name, {})}.items() if v is not None}
        p.add_argument(flags.get(s.name, "--" + s.name.replace("_", "-")), dest=s.name, default=default, **kw)


def from_args(spec: type[Spec], a: argparse.Namespace, **extra: Any) -> Any:
    """The spec of the parsed arguments that name its settings (the others keep their defaults), with `extra`.
    An argument left at None (a command's "the model's own") is left out."""
    names = {s.name for s in spec.settings()}
    given = {k: v for k, v in vars(a).items() if k in names and v is not None}
    return spec.from_dict({**given, **extra}, strict=True)


@dataclass(frozen=True)
class Widget:
    """A widget as plain data: the page draws `kind` ("select", "checkbox", "int", "float", "text", or
    "list": comma-separated text, checked against `choices` where it has some) labelled `label`, with
    `help` as its tooltip."""

    name: str
    label: str
    kind: str
    help: str
    default: Any
    choices: tuple[Any, ...] | None = None
    item: Any = None  # a list's item type

    def parse(self, text: str) -> tuple[Any, ...]:
        """A "list" widget's text as the setting's tuple."""
        return parse_items(text, self.item)


def widgets(spec: type[Spec], names: Iterable[str] | None = None, *, labels: Mapping[str, str] | None = None,
            defaults: Mapping[str, Any] | None = None) -> list[Widget]:
    """The widget of each setting of `spec` (`names`, default: every one), labelled by `labels` or the name."""
    labels, defaults = dict(labels or {}), dict(defaults or {})
    out = []
    for s in _chosen(spec, names, ()):
        kind = "select" if s.choices is not None and s.type is not tuple else \
            {bool: "checkbox", int: "int", float: "float", tuple: "list"}.get(s.type, "text")
        out.append(Widget(s.name, labels.get(s.name, s.name.replace("_", " ").capitalize()), kind, s.help,
                          defaults.get(s.name, s.default), s.choices, s.item))
    return out
