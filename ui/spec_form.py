"""A config setting as a Streamlit widget: the library describes it (`explorer.config.forms.Widget`:
kind, label, help, choices, default), this draws it and returns the value the config takes."""

from __future__ import annotations

from typing import Any


def draw(col: Any, w: Any, key: str, value: Any = None) -> Any:
    """Draw widget `w` in `col` (a column or `st`) under session `key`, starting at `value` (default: the
    setting's default); returns the value as the setting's type (a list's comma-separated text as a tuple)."""
    v = w.default if value is None else value
    if w.kind == "select":
        opts = list(w.choices)
        return col.selectbox(w.label, opts, index=opts.index(v), key=key, help=w.help)
    if w.kind == "checkbox":
        return col.checkbox(w.label, value=bool(v), key=key, help=w.help)
    if w.kind == "int":
        return int(col.number_input(w.label, value=int(v), step=1, key=key, help=w.help))
    if w.kind == "float":
        return float(col.number_input(w.label, value=float(v), format="%.4g", key=key, help=w.help))
    if w.kind == "list":
        return w.parse(col.text_input(w.label, ",".join(map(str, v)), key=key, help=w.help))
    return col.text_input(w.label, value=str(v), key=key, help=w.help)
