"""Cached builders for the pages. Models and graphs come from the library's own caches
(`explorer.models.load_cached`, `explorer.graph.build_dag`): one model per (spec, seed) in
the process, shared by every page, rerun and library call. What only the pages need
(layouts, lifting matrices at an input, verification badges) is cached here on top.

A graph is named by the one model key, `explorer.models.key.ModelKey` (`DagKey` here); ONNX uploads are
keyed by the SHA-256 of their bytes, which live in session state (`ui.state.ONNX_BYTES`).
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref

import streamlit as st

from explorer.models.key import ModelKey as DagKey  # the one model key
from ui import state


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(show_spinner="building the model…", max_entries=16)
def model(spec: str, seed: int = 0):
    """`explorer.models.load_cached(spec, seed)`: the model in eval mode and its example input — the
    same object the graph was traced from (`build_dag` loads through the same cache), so a page
    that needs both builds the model once. Shared by every session: never modify it in place."""
    from explorer import models

    return models.load_cached(spec, seed)


@st.cache_resource(show_spinner=False, max_entries=8)
def _onnx_dag(onnx_digest: str, _data: bytes):
    from explorer.graph.onnx_file import onnx_dag

    return onnx_dag(_data)


def _dag(spec: str, granularity: str, depth: int | None, seed: int):
    from explorer.graph import build_dag

    with st.spinner("tracing the graph…"):
        return build_dag(spec, granularity=granularity, depth=depth, seed=seed)


def dag(key: DagKey):
    """The `Dag` named by `key` (cached)."""
    if key.is_onnx:
        data = state.ONNX_BYTES.get()
        if data is None or digest(data) != key.onnx_digest:
            raise ValueError("the uploaded ONNX file is no longer in this session; upload it again "
                             "on the Architecture page")
        return _onnx_dag(key.onnx_digest, data)
    return _dag(key.spec, key.granularity, key.depth, key.seed)


_LAID_OUT = threading.local()  # `layout_built`: whether `_layout`'s body ran (a cache miss) in this thread's call


@st.cache_resource(show_spinner="laying out the graph…", max_entries=32)
def _layout(key: DagKey):
    from explorer.figures.layout import level_layout

    _LAID_OUT.layout_built = True
    return level_layout(dag(key))


def layout(key: DagKey):
    """`level_layout(dag(key))` (cached: the barycentre sweeps are the slow part of a big figure)."""
    return _layout(key)


_TIMED: dict[int, weakref.ref] = {}  # the graphs `timed_graph` has handed out, by identity


def timed_graph(key: DagKey, since: float):
    """`dag(key)` with its layout ready, and a line saying how long that took since `since` (a
    `time.perf_counter()` taken before the page's model picker, which may build the graph) and what, if
    anything, came from a cache: the graph when this same object was handed out before, the layout when
    its cached builder did not run. "Cached" is said only when it was."""
    _LAID_OUT.layout_built = False
    g = dag(key)
    layout(key)
    seconds = time.perf_counter() - since
    seen = _TIMED.get(id(g))
    graph_cached, layout_cached = seen is not None and seen() is g, not _LAID_OUT.layout_built
    for k in [k for k, r in _TIMED.items() if r() is None]:
        del _TIMED[k]
    _TIMED[id(g)] = weakref.ref(g)
    if graph_cached and layout_cached:
        how = f"graph, levels and layout from this server's cache (built by an earlier visit): {seconds:.2f} s"
    elif graph_cached:
        how = f"graph and levels from this server's cache, layout computed: {seconds:.2f} s"
    elif layout_cached:
        how = f"graph and levels ready, layout from this server's cache: {seconds:.2f} s"
    else:
        how = f"graph, levels and layout ready in {seconds:.2f} s"
    return g, how


@st.cache_resource(show_spinner=False, max_entries=64)
def _dag_figure(key: DagKey, search: str, ids_digest: str, dragmode: str, _selected_nodes: tuple,
                _selected_arcs: tuple, _dimmed: tuple):
    from explorer.figures.dag_plot import dag_figure as draw

    return draw(dag(key), search=search, selected_nodes=_selected_nodes, selected_arcs=_selected_arcs,
                dimmed=_dimmed, dragmode=dragmode, layout=layout(key))


def _ids_digest(*groups: tuple) -> str:
    """One short digest of tuples of ids (Streamlit's own argument hashing takes seconds on the 224,000
    arcs of a magnitude ticket; this takes milliseconds)."""
    h = hashlib.blake2b(digest_size=16)
    for g in groups:
        h.update("\x00".join(g).encode())
        h.update(b"\x01")
    return h.hexdigest()


def dag_figure(key: DagKey, search: str = "", selected_nodes=(), selected_arcs=(), dimmed=(), dragmode: str = "zoom"):
    """`explorer.figures.dag_plot.dag_figure` of `dag(key)` (cached: a unit-level graph has tens of thousands
    of arcs, and a rerun that changes nothing in the graph should not draw it again). Treat it as read-only."""
    nodes, arcs, dim = tuple(selected_nodes), tuple(selected_arcs), tuple(sorted(dimmed))
    return _dag_figure(key, search.strip(), _ids_digest(nodes, arcs, dim), dragmode, nodes, arcs, dim)


@st.cache_resource(show_spinner=False, max_entries=32)
def level_widths(key: DagKey):
    """`explorer.figures.level_widths.level_width_figure(dag(key))` (cached: 0.25 s for a 2,000-node graph,
    paid on every rerun of the Architecture page before). Treat it as read-only."""
    from explorer.figures.level_widths import level_width_figure

    return level_width_figure(dag(key))


_MEMO_LOCK = threading.Lock()
MEMO_SIZE = 8  # selections remembered per graph


@st.cache_resource(show_spinner=False, max_entries=16)
def _memo(key: DagKey, what: str) -> dict:
    """Facts about the graph's last few selections (`verdict`, `removal`), oldest first."""
    return {}


def _remembered(key: DagKey, what: str, sel, compute):
    memo = _memo(key, what)
    with _MEMO_LOCK:
        if sel in memo:
            return memo[sel]
    out = compute()
    with _MEMO_LOCK:
        memo[sel] = out
        while len(memo) > MEMO_SIZE:
            memo.pop(next(iter(memo)))
    return out


def verdict(key: DagKey, sel):
    """`explorer.pruning.validity.check(dag(key), sel)`, remembered for the graph's last few selections: a
    magnitude ticket of lottery_mlp (224,000 arcs) takes seconds to check, and every rerun of the Prune
    page that keeps the selection (a slider, a tab) would pay it again."""
    from explorer.pruning.validity import check

    return _remembered(key, "verdict", sel, lambda: check(dag(key), sel))


def removal(key: DagKey, sel, v) -> dict:
    """`explorer.pruning.apply.removal_counts` of the valid verdict `v` of `sel` on the model, remembered
    like `verdict` (at unit level it masks a copy of the model and counts its cost)."""
    from explorer.pruning.apply import removal_counts

    lm = model(key.spec, key.seed)
    return dict(_remembered(key, "removal", sel, lambda: removal_counts(lm.model, dag(key), v, lm.example_input)))


@st.cache_resource(show_spinner=False, max_entries=64)
def branches(key: DagKey, head: str):
    """`explorer.pruning.operations.branches_of(dag(key), head)` (cached)."""
    from explorer.pruning.operations import branches_of

    return branches_of(dag(key), head)


@st.cache_resource(show_spinner=False, max_entries=16)
def bypassable_ranges(key: DagKey):
    """`explorer.pruning.operations.bypassable_ranges(dag(key))` (cached)."""
    from explorer.pruning.operations import bypassable_ranges as ranges

    return ranges(dag(key))


@st.cache_resource(show_spinner="computing the lifting matrices…", max_entries=16)
def lifting(key: DagKey, input_seed: int = 0, sample: int | None = None):
    """`explorer.lifting.base.lifting(dag, x)` at a seeded random input (or dataset sample `sample`)."""
    from explorer.lifting import lifting as _lifting

    return _lifting(dag(key), x=input_tensor(key, input_seed, sample))


def input_tensor(key: DagKey, input_seed: int = 0, sample: int | None = None):
    """The input the numeric views use (`explorer.lifting.inputs.view_input`): the dataset sample `sample`
    where one fits the model's example, else a seeded draw like that example (token ids stay integers,
    several inputs stay several) — the inputs `python -m explorer verify` draws."""
    from explorer.lifting.inputs import view_input

    if key.is_onnx:
        return None
    arr = None
    if sample is not None:
        ds = model(key.spec, key.seed).info.dataset
        arr = _dataset_array(ds, sample) if ds else None
    return view_input(dag(key), input_seed, arr)


@st.cache_data(show_spinner="loading the dataset…", max_entries=64)
def _dataset_array(name: str, index: int):
    """Test input `index` of a built-in dataset (`explorer.data.load_dataset`), or None if unavailable."""
    try:
        from explorer.data import load_dataset

        split = load_dataset(name)
    except Exception:  # noqa: BLE001 — no dataset: the numeric views fall back to seeded noise
        return None
    x = split.x_test
    return x[int(index) % len(x)].numpy()


@st.cache_data(show_spinner="verifying against the forward pass…", max_entries=32)
def verification(key: DagKey, input_seed: int = 0, sample: int | None = None) -> dict:
    """`explorer.lifting.verify.verify_model` (the policy `python -m explorer verify` runs too) at the input
    on show, as a plain dict (forward_error, jacobian_error, tol, ok, dtype, trivial, notes)."""
    from explorer.lifting.verify import verify_model

    m = model(key.spec, key.seed)
    v = verify_model(m.model, dag(key), input_tensor(key, input_seed, sample), seed=int(input_seed))
    out = {}
    for k in ("forward_error", "jacobian_error", "tol", "ok"):
        val = getattr(v, k, None)
        out[k] = val if val is None or isinstance(val, bool) else float(val)
    out["dtype"], out["trivial"], out["notes"] = v.dtype, v.trivial, list(v.notes)
    return out


@st.cache_data(show_spinner="evaluating the sub-architecture…", max_entries=64)
def function_value(key: DagKey, input_seed: int, sample: int | None, node: str,
                   removed_nodes: tuple[str, ...] = (), removed_arcs: tuple[str, ...] = ()):
    """`lifting(...).function_at(node, x, removed_nodes, removed_arcs)` as a flat float64 numpy array (cached)."""
    import numpy as np

    from explorer.graph.shapes import tensors_in

    L = lifting(key, input_seed, sample)
    v = L.function_at(node, input_tensor(key, input_seed, sample), removed_nodes=tuple(removed_nodes),
                      removed_arcs=tuple(removed_arcs))
    parts = [t.detach().cpu().double().numpy().ravel() for t in tensors_in(v)]  # a tuple/dict output: every tensor
    return np.concatenate(parts) if parts else np.asarray(v, dtype=float).ravel()
