"""The Playground page's settings: the widgets TensorFlow Playground has (and skip arcs), kept in
the URL so that a lesson can link to a preset, read back into a `PlaygroundConfig`.

`url_state()` is the one place that touches `st.query_params`: on a session's first run it seeds
every setting's widget state from the URL (or the default), and on every run it writes the
settings that differ from their defaults back, so the address bar always holds the current preset
(and `classroom=1` while classroom mode is on, as on every page).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from explorer.playground.config import (ACTIVATIONS, DATASETS, FEATURES, MAX_LAYERS, MAX_NEURONS, OPTIMIZERS,
                                        REGULARIZATIONS, PlaygroundConfig, field_help, url_fields)
from explorer.playground.features import LABELS
from ui.classroom import classroom, set_classroom
from ui.join import carried

P = "pg."  # session-state prefix of the page's widgets
LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
REG_RATES = [0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
VIEW_DEFAULTS = {"show_test": False, "discretize": False}  # display settings, in the URL too
SETTLE_RUNS = 6  # runs after a link is read in which the settings are handed to their widgets again (`_keep_values`)
DATA_NAMES = {"circle": "circle", "xor": "xor", "gauss": "gaussian", "spiral": "spiral", "moons": "moons",
              "csv": "your CSV"}


def defaults() -> dict[str, Any]:
    base = PlaygroundConfig()
    return {**{k: getattr(base, k) for k in url_fields()}, **VIEW_DEFAULTS}


def _parse(key: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw in ("1", "true", "True", "yes")
    if isinstance(default, int):
        return int(float(raw))
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        items = [t for t in raw.split(",") if t]
        return tuple(int(t) for t in items) if key == "hidden" else tuple(items)
    return raw


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, tuple):
        return ",".join(str(t) for t in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def url_state() -> dict[str, str]:
    """Two-way binding of the settings and the URL (see the module doc). Call before the widgets; returns the
    query it wrote."""
    ss, qp = st.session_state, st.query_params
    if not ss.get(P + "url_loaded"):
        for k, d in defaults().items():
            v = d
            if k in qp:
                try:
                    v = _parse(k, qp[k], d)
                    if k not in VIEW_DEFAULTS and k != "skips":  # skips depend on the depth: the pills filter them
                        PlaygroundConfig(**{k: v})
                except ValueError as e:  # PlaygroundConfigError included
                    v = d
                    st.toast(f"ignored the link's {k}={qp[k]!r}: {e}", icon=":material/warning:")
            if k == "hidden":
                ss[P + "layers"] = len(v)
                for i, w in enumerate(v):
                    ss[f"{P}w{i}"] = int(w)
            else:
                ss[P + k] = list(v) if isinstance(d, tuple) else v
        if "classroom" in qp:  # the mode every page's link carries (`ui.links` on the other pages)
            set_classroom(qp["classroom"] in ("1", "true", "True", "yes"))
        ss[P + "url_loaded"] = True
        ss[P + "settled"] = 0
    if ss.get(P + "settled", 0) < SETTLE_RUNS:  # the session's first runs only: later, a value handed to a widget
        ss[P + "settled"] = ss.get(P + "settled", 0) + 1  # on every run fights fast input (a slider dragged
        _keep_values()  # while reruns land would be pulled back)
    cur = {k: current(k) for k in defaults()}
    q = {k: _fmt(v) for k, v in cur.items() if v != defaults()[k]} | ({"classroom": "1"} if classroom() else {})
    qp.from_dict(q | carried())  # a class member's link keeps their identity (ui.join)
    return q


def _keep_values() -> None:
    """Hand every setting's value to its widget again (in the first runs after a link is read). The widgets take
    no `value=` (their state is the value), so a widget the browser mounts afresh — its first drawing dropped by a rerun that overtook it, as
    happens when sessions open at once — would otherwise report its *default*, the minimum, and the settings
    would silently become `steps=10, hidden=()`; a value set through the session state is sent with the widget
    and wins."""
    ss = st.session_state
    for k in [*defaults(), "layers", *(f"w{i}" for i in range(MAX_LAYERS))]:
        if k != "hidden" and P + k in ss:
            ss[P + k] = ss[P + k]


def share() -> None:
    """The sidebar's "Share this view" box, as on every page: the settings' link (`url_state`'s query)."""
    from ui.links import share_box

    q = st.query_params.to_dict()
    csv = "Your CSV's points cannot travel in a link: it opens the page on the CSV dataset without them." \
        if q.get("dataset") == "csv" else ""
    share_box(q, model=False, left_out=csv)


def current(k: str) -> Any:
    """A setting's value from the widgets' state (tuples for the list-valued ones)."""
    ss = st.session_state
    if k == "hidden":
        return tuple(int(ss.get(f"{P}w{i}", 4)) for i in range(int(ss.get(P + "layers", 0))))
    v = ss.get(P + k, defaults()[k])
    return tuple(v) if isinstance(defaults()[k], tuple) else v


def _h(name: str) -> str:
    return field_help(name)


def data_panel() -> None:
    st.markdown("**Data**")
    st.selectbox("Dataset", DATASETS, key=P + "dataset", format_func=DATA_NAMES.get, help=_h("dataset"))
    if st.session_state.get(P + "dataset") == "csv":
        up = st.file_uploader("2-D CSV (x1, x2, label)", type=["csv"], key=P + "upload",
                              help="rows x1, x2, label (labels 0..K-1); a header row is fine")
        if up is not None:
            from explorer.playground.data import read_points

            st.session_state[P + "points"] = read_points(up.getvalue(), up.name)
    st.slider("Ratio of training to test data (%)", 10, 90, step=10, key=P + "train_ratio", help=_h("train_ratio"))
    st.slider("Noise", 0, 50, step=5, key=P + "noise", help=_h("noise"))
    st.slider("Batch size", 1, 30, key=P + "batch_size", help=_h("batch_size"))
    st.number_input("Seed", 0, 10_000, key=P + "seed", help=_h("seed"))
    st.toggle("Show test data", key=P + "show_test")
    st.toggle("Discretize output", key=P + "discretize", help="colour each cell by its class only (no confidence)")


def network_panel() -> None:
    st.markdown("**Features and network**")
    st.pills("Features", FEATURES, selection_mode="multi", key=P + "features", format_func=LABELS.get,
             help=_h("features"), wrap=True)
    depth = st.number_input("Hidden layers", 0, MAX_LAYERS, key=P + "layers", help=_h("hidden"))
    if depth:
        cols = st.columns(MAX_LAYERS)
        for i in range(int(depth)):
            st.session_state.setdefault(f"{P}w{i}", 4)
            cols[i].number_input(f"L{i + 1}", 1, MAX_NEURONS, key=f"{P}w{i}", help=f"neurons in hidden layer {i + 1}")
    pairs = [f"{i}-{j}" for i in range(int(depth) + 2) for j in range(i + 2, int(depth) + 2)]
    st.session_state[P + "skips"] = [s for s in st.session_state.get(P + "skips", []) if s in pairs]
    st.pills("Skip arcs (layer i → layer j, added before j's activation)", pairs, selection_mode="multi",
             key=P + "skips", format_func=lambda s: _skip_label(s, int(depth)), help=_h("skips"), wrap=True)


def _skip_label(s: str, depth: int) -> str:
    i, j = (int(t) for t in s.split("-"))
    name = lambda k: "in" if k == 0 else "out" if k == depth + 1 else f"L{k}"  # noqa: E731
    return f"{name(i)}→{name(j)}"


def _options(values: list[float], key: str) -> list[float]:
    """The choices, with a linked value that is not among them added in its place."""
    return sorted(set(values) | {float(st.session_state.get(P + key, values[0]))})


def training_panel() -> None:
    st.markdown("**Training**")
    c1, c2 = st.columns(2)
    c1.selectbox("Learning rate", _options(LEARNING_RATES, "learning_rate"), key=P + "learning_rate",
                 help=_h("learning_rate"), format_func=lambda v: f"{v:g}")
    c2.selectbox("Optimizer", OPTIMIZERS, key=P + "optimizer", help=_h("optimizer"))
    st.selectbox("Activation", ACTIVATIONS, key=P + "activation", help=_h("activation"))
    c1, c2 = st.columns(2)
    c1.selectbox("Regularization", REGULARIZATIONS, key=P + "regularization", help=_h("regularization"))
    c2.selectbox("Regularization rate", _options(REG_RATES, "reg_rate"), key=P + "reg_rate", help=_h("reg_rate"),
                 format_func=lambda v: f"{v:g}")
    c1, c2 = st.columns(2)
    c1.number_input("Steps", 10, 100_000, step=500, key=P + "steps", help=_h("steps"))
    c2.number_input("Frame every", 1, 1000, step=5, key=P + "frame_every", help=_h("frame_every"))


def config() -> PlaygroundConfig:
    """The `PlaygroundConfig` the widgets describe (raises `PlaygroundConfigError` naming a bad setting)."""
    names = {f.name for f in dataclasses.fields(PlaygroundConfig)}
    kw = {k: current(k) for k in defaults() if k in names}
    kw["points"] = tuple(st.session_state.get(P + "points", ())) if kw.get("dataset") == "csv" else ()
    kw["trial"] = int(st.session_state.get(P + "trial", 0))
    return PlaygroundConfig(**kw)


def view_settings() -> dict[str, bool]:
    return {k: bool(st.session_state.get(P + k, d)) for k, d in VIEW_DEFAULTS.items()}
