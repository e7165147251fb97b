"""Every session-state key that crosses pages, typed: the one place a page learns what another
left for it.

Widget keys are per page (Streamlit drops a widget's state when its page is left), so the
pickers copy the user's choice into these keys, which persist for the session. A `Key`
checks the type of what is put under it, so a hand-off cannot silently carry the wrong thing.

    SELECTION.put(sel)            # Architecture -> Prune
    req = RETRAIN.pop()           # Prune -> Train: a RetrainRequest or None
    GRID.put(GridRequest(job_id, title))   # Signal propagation -> Train: a trainability grid
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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

    model: str  # the dense model's spec
    pruned_dir: str  # the export directory (`explorer.pruning.export`)
    granularity: str  # where the selection was made (unit | op)
    seed: int = 0  # the dense model's init seed the ticket keeps
    mode: str = "quick"  # the comparison to run: "quick" (a lesson's length) or "full" (the model's recipe)
    start: bool = True  # start it on arrival (the Prune page's one click); False: land on the form


@dataclass(frozen=True)
class GridRequest:
    """Signal propagation -> Train: the trainability grid whose exports job `job_id`
    (`propagation.grid`) prepares; the Train page submits its runs when the job is done."""

    job_id: str
    title: str  # one line for people: what the grid compares
    batched: bool = True  # train as one batched job where the runs can share it


ONNX_SPEC = "onnx-upload"  # the spec string of an uploaded ONNX file

SPEC: Key[str] = Key("explorer.spec", str)  # zoo name, torchvision name, "file.py:Class", or ONNX_SPEC
SOURCE: Key[str] = Key("explorer.source", str)  # "zoo" | "torchvision" | "onnx" | "file"
ONNX_BYTES: Key[bytes] = Key("explorer.onnx_bytes", bytes)
ONNX_NAME: Key[str] = Key("explorer.onnx_name", str)
GRANULARITY: Key[str] = Key("explorer.granularity", str)  # "unit" | "op" | "block"
DEPTH: Key[int] = Key("explorer.depth", int)  # module depth of the block view
SEED: Key[int] = Key("explorer.seed", int)  # model init / input seed
SELECTION: Key[Selection] = Key("explorer.selection", Selection)  # Architecture -> Prune, and Prune's own
RETRAIN: Key[RetrainRequest] = Key("explorer.retrain", RetrainRequest)
GRID: Key[GridRequest] = Key("explorer.grid", GridRequest)
