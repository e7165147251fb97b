"""The results shipped with the lessons (`explorer.lessons.results`) on the pages: installed into the
run store the first time a page needs them (the Lottery page, or a Train link naming a shipped
group), and labelled wherever they are shown, saying how they were computed and how to replace
them with one's own."""

from __future__ import annotations

from typing import Any

import streamlit as st


@st.cache_resource(show_spinner=False)
def _shipped() -> dict[str, Any]:
    """What the shipped file holds, read once per server: its groups and how it was made."""
    from explorer.lessons import results

    doc = results.read()
    return {"groups": {r["config"]["group"] for r in doc["runs"]}, "made": doc["made"], "doc": doc}


@st.cache_resource(show_spinner="putting the shipped example results into the run store…")
def _installed(data_dir: str, _store: Any) -> list[str]:
    from explorer.lessons import results

    return results.install(_store, _shipped()["doc"])


def ensure(store: Any) -> None:
    """The shipped results in `store` (once per data folder and server; cheap after that)."""
    from pathlib import Path

    _installed(str(Path(store.dir).resolve()), store)


def is_shipped_group(group: str | None) -> bool:
    return bool(group) and group in _shipped()["groups"]


def how_made() -> str:
    """'computed with `CMD` on DATE (MACHINE, N min)'."""
    from explorer.lessons import results

    m = _shipped()["made"]
    minutes = sum(m.get("seconds", {}).values()) / 60
    return (f"computed with `{results.COMMAND}` on {m.get('date', '?')} ({m.get('machine', '?')}, torch "
            f"{m.get('torch', '?')}; both experiments took {minutes:.0f} min)")


def minutes(kind: str) -> float:
    """How long the shipped experiment of `kind` took to compute."""
    return _shipped()["made"].get("seconds", {}).get(kind, 0.0) / 60


def banner(what: str) -> None:
    """The label on a shipped result: what it is, how it was made, how to get one's own."""
    st.info(f"**Shipped example result**, {how_made()}. {what}", icon=":material/inventory_2:")
