"""Every session-state key that crosses pages, typed: the one place a page learns what another
left for it.

Widget keys are per page (Streamlit drops a widget's state when its page is left), so the
pickers copy the user's choice into these keys, which persist for the session. A `Key`
checks the type of what is put under it, so a hand-off cannot silently carry the wrong thing.

    MODEL.get()                   # the model the user picked last: an explorer.models.key.ModelKey
    SELECTION.put(sel)            # Architecture -> Prune
    req = RETRAIN.pop()           # Prune -> Train: a RetrainRequest or None
    GRID.put(GridRequest(job_id, title))   # Signal propagation -> Train: a trainability grid
    BACKEND.get()                 # where background work runs: "local" or "ray" (`ui.jobs.backend_choice`)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from explorer.models.key import ModelKey
from explorer.server.identity import Identity
from explorer.pruning.selection import Selection

T = TypeVar("T")


@dataclass(frozen=True)
class Key(Generic[T]):
    """A session-state key and the type of its value."""

    name: str
    type: Any  # a class, or a tuple of classes, for isinstance

    def get(self, default: T | None = None) -> T | None:
        import streamlit as st

        return st.session_state.get(self.name, default)

    def put(self, value: T) -> None:
        import streamlit as st

        if not isinstance(value, self.type):
            raise TypeError(f"session key {self.name} holds {self.type}, not {type(value).__name__}")
        st.session_state[self.name] = value

    def pop(self) -> T | None:
        import streamlit as st

        return st.session_state.pop(self.name, None)


@dataclass(frozen=True)
class RetrainRequest:
    """Prune -> Train: retrain this pruned export against the dense network and controls."""

    key: ModelKey  # the dense model, the granularity the selection was made at, the init seed the ticket keeps
    pruned_dir: str  # the export directory (`explorer.pruning.export`)
    mode: str = "quick"  # the comparison to run: "quick" (a lesson's length) or "full" (the model's recipe)
    start: bool = True  # start it on arrival (the Prune page's one click); False: land on the form

    @property
    def model(self) -> str:
        return self.key.spec

    @property
    def granularity(self) -> str:
        return self.key.granularity

    @property
    def seed(self) -> int:
        return self.key.seed


@dataclass(frozen=True)
class GridRequest:
    """Signal propagation -> Train: the trainability grid job `job_id` (`propagation.grid`: its exports, then
    its runs as child jobs); the Train page shows its progress above the grid's comparison group."""

    job_id: str
    title: str  # one line for people: what the grid compares


MODEL: Key[ModelKey] = Key("explorer.model", ModelKey)  # the model picked last, as every page's picker opens
ONNX_BYTES: Key[bytes] = Key("explorer.onnx_bytes", bytes)  # an uploaded ONNX file (its key holds the digest)
SELECTION: Key[Selection] = Key("explorer.selection", Selection)  # Architecture -> Prune, and Prune's own
RETRAIN: Key[RetrainRequest] = Key("explorer.retrain", RetrainRequest)
GRID: Key[GridRequest] = Key("explorer.grid", GridRequest)
BACKEND: Key[str] = Key("explorer.backend", str)  # the backend every page submits to (`ui.jobs`)
MEMBER: Key[Identity] = Key("explorer.member", Identity)  # a class server: who this browser is (ui.join)
MEMBER_TOKEN: Key[str] = Key("explorer.member_token", str)  # ... and the signed token its link carries


def model() -> ModelKey:
    """The model picked last (a key with an empty spec before any)."""
    return MODEL.get() or ModelKey("")


def pick(**changes: Any) -> ModelKey:
    """Change the picked model's key (`spec`, `source`, `granularity`, `depth`, `seed`, ...); returns it."""
    key = model().replace(**changes)
    MODEL.put(key)
    return key
