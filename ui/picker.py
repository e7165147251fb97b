"""The model picker every page shares: zoo (with descriptions), torchvision, ONNX upload,
or the user's own `file.py:ClassName`; then granularity and block depth.

    key = graph_picker("arch")          # in a page: widgets in the sidebar
    dag = ui.cache.dag(key)             # the cached Dag

The choice is kept as the session's model key (`ui.state.MODEL`, an `explorer.models.key.ModelKey`)
so the next page opens on the same model.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from explorer.models.key import ONNX_SPEC, ModelKey
from explorer.server.settings import serving_class
from ui import state
from ui.cache import digest
from ui.progress import wait_for

SOURCES = {"zoo": "Zoo (small models)", "torchvision": "torchvision (random init)",
           "onnx": "ONNX upload", "file": "Python file"}
DEFAULT_ZOO = "resnet_tiny"
DEFAULT_TV = "resnet18"
GRANULARITY_HELP = ("unit: neurons/channels, arcs are weights or kernels (small Linear/Conv models); "
                    "op: one node per traced tensor op; block: ops collapsed by module depth (big models)")


@st.cache_data(show_spinner=False)
def _zoo() -> list[tuple[str, str, tuple[int, ...]]]:
    from explorer.models.zoo import ZOO

    return [(name, e.info.description, e.info.input_shape) for name, e in ZOO.items()]


@st.cache_data(show_spinner=False)
def _torchvision() -> list[str]:
    from explorer.models import torchvision_names

    return torchvision_names()


def upload_cap_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def default_granularity(spec: str, source: str, seed: int = 0, prefer_unit: bool = False) -> str:
    """The library's choice (`explorer.graph.default_granularity`); an ONNX upload is op level."""
    from explorer.graph import default_granularity as lib_default

    if source == "onnx":
        return "op"
    return lib_default(spec, seed=seed, prefer_unit=prefer_unit and source in ("zoo", "file"))


def _index(options: Sequence[str], value, fallback: int = 0) -> int:
    try:
        return list(options).index(value)
    except ValueError:
        return fallback


def model_picker(page: str, *, allow_onnx: bool = True, allow_file: bool = True,
                 sources: Sequence[str] | None = None) -> tuple[str, str] | None:
    """Sidebar widgets choosing a model; returns (spec, source) or None while nothing is chosen.

    `page` prefixes the widget keys so each page has its own widgets.
    """
    sb = st.sidebar
    cur = state.model()
    allow_file = allow_file and not serving_class()  # a class server runs no uploaded code
    srcs = [s for s in (sources or SOURCES) if (s != "onnx" or allow_onnx) and (s != "file" or allow_file)]
    src = sb.radio("Model source", srcs, format_func=SOURCES.get, key=f"{page}.source",
                   index=_index(srcs, cur.source))
    spec: str | None = None
    if src == "zoo":
        zoo = _zoo()
        names = [z[0] for z in zoo]
        desc = {z[0]: z[1] for z in zoo}
        shape = {z[0]: z[2] for z in zoo}
        prev = cur.spec if cur.source == "zoo" else DEFAULT_ZOO
        spec = sb.selectbox("Zoo model", names, index=_index(names, prev, _index(names, DEFAULT_ZOO)),
                            key=f"{page}.zoo", help="small networks that exercise the DAG structure")
        sb.caption(f"{desc[spec]}  \ninput shape {tuple(shape[spec])}")
    elif src == "torchvision":
        names = _torchvision()
        prev = cur.spec if cur.source == "torchvision" else DEFAULT_TV
        spec = sb.selectbox("torchvision model", names, index=_index(names, prev, _index(names, DEFAULT_TV)),
                            key=f"{page}.tv", help="built with weights=None: random init, no download")
    elif src == "onnx":
        cap = upload_cap_mb()
        up = sb.file_uploader(f"ONNX file (≤ {cap} MB, structure only)", type=["onnx"], key=f"{page}.onnx",
                              help="loaded without executing anything; external data files are refused")
        if up is not None:
            data = up.getvalue()
            if len(data) > cap * 1024 * 1024:
                raise ValueError(f"{up.name} is {len(data) / 2**20:.1f} MB, over the {cap} MB upload cap "
                                 "(server.maxUploadSize in .streamlit/config.toml)")
            state.ONNX_BYTES.put(data)
            state.pick(spec=ONNX_SPEC, source="onnx", onnx_name=up.name, onnx_digest=digest(data))
        if state.ONNX_BYTES.get() is None:
            sb.info("Upload an .onnx file to see its graph.")
            return None
        sb.caption(f"using {state.model().onnx_name}")
        spec = ONNX_SPEC
    else:
        spec = _file_model(page)
        if spec is None:
            return None
    if (cur.spec, cur.source) != (spec, src):
        state.pick(spec=spec, source=src)
    return spec, src


def graph_picker(page: str, *, granularities: Sequence[str] = ("unit", "op", "block"),
                 allow_onnx: bool = True, allow_file: bool = True, show_depth: bool = True,
                 sources: Sequence[str] | None = None, prefer_unit: bool = False) -> ModelKey | None:
    """Model picker + granularity + block depth + seed; returns the `ModelKey` or None.

    The granularity resets to the model's default when the model changes (`prefer_unit`:
    the unit level where the model has one, as the Decomposition page wants)."""
    picked = model_picker(page, allow_onnx=allow_onnx, allow_file=allow_file, sources=sources)
    if picked is None:
        return None
    spec, src = picked
    sb = st.sidebar
    grans = ["op"] if src == "onnx" else list(granularities)
    cur = state.model()
    seed = cur.seed
    # a new model resets granularity to its default; the same model keeps the user's choice
    model_id = f"{src}:{spec}"
    if st.session_state.get(f"{page}.model_id") != model_id or st.session_state.get(f"{page}.granularity") not in grans:
        # deciding builds the model's graphs: the slow part of opening a model, shown as it goes
        default = wait_for(page, f"default:{model_id}:{seed}:{prefer_unit}", f"Opening {_short(spec)}",
                           lambda: default_granularity(spec, src, seed, prefer_unit), record=src == "file")
        if default is None:  # the user stopped waiting
            return None
        if default not in grans:
            default = "op" if "op" in grans else grans[0]
        st.session_state[f"{page}.model_id"] = model_id
        st.session_state[f"{page}.granularity"] = default
    gran = sb.radio("Granularity", grans, key=f"{page}.granularity", horizontal=True, help=GRANULARITY_HELP)
    depth = None
    if gran == "block" and show_depth:
        depth = int(sb.slider("Block depth (module nesting)", 1, 6, int(cur.depth or 2),
                              key=f"{page}.depth", help="collapse ops into modules this many levels deep"))
    seed = int(sb.number_input("Seed (init)", 0, 10_000, seed, key=f"{page}.seed"))
    onnx_digest = digest(state.ONNX_BYTES.get()) if spec == ONNX_SPEC else None
    key = cur.replace(granularity=gran, depth=depth if depth is not None else cur.depth, seed=seed,
                      onnx_digest=onnx_digest)
    if key != cur:
        state.MODEL.put(key)  # the block depth stays for when the block view is back
    key = key.replace(depth=depth)
    if src != "onnx" and wait_for(page, f"dag:{key}", f"Opening {_short(spec)} ({gran})", lambda: _build(key),
                                  record=src == "file") is None:
        return None
    return key


def _build(key: ModelKey):
    """The graph of `key`, built into the library's cache (in `ui.progress`'s pool: no Streamlit here)."""
    from explorer.graph import build_dag

    return build_dag(key.spec, key.granularity, key.depth, key.seed)


def _short(spec: str) -> str:
    """How a model is named while it opens: a file's name and class, not its whole path."""
    return spec.rpartition("/")[2]


def _file_model(page: str) -> str | None:
    """A model class from the models folder, the one place the app imports user code from. A new
    file is uploaded, shown, and stored there only when the user confirms it may run."""
    from explorer import paths
    from explorer.models.user_store import listing, store

    sb = st.sidebar
    files = [(p, c) for p, c in listing() if c]
    options = [f"{p}:{c}" for p, cs in files for c in cs]
    prev = state.model().spec if state.model().source == "file" else None
    chosen = None
    if options:
        chosen = sb.selectbox("Model class (models folder)", options, index=_index(options, prev),
                              format_func=lambda s: f"{s.rpartition(':')[2]}  ({s.rpartition(':')[0].rsplit('/', 1)[-1]})",
                              key=f"{page}.file", help=f"classes of the .py files in {paths.user_models()}")
    with sb.expander("Add a model file", expanded=not options):
        up = st.file_uploader("A .py file with an nn.Module class", type=["py"], key=f"{page}.file_upload",
                              help="a class constructible with no arguments, with `input_shape` or `example_input()`")
        if up is not None:
            st.code(up.getvalue().decode("utf-8", errors="replace")[:4000], language="python")
            st.caption("This code will run on this machine (in a limited child process first). Read it before you "
                       "let it run.")
            if st.button("Run this model file", key=f"{page}.file_confirm", type="primary"):
                dst = store(up.getvalue(), up.name)
                st.success(f"Stored as {dst.name} in the models folder.")
                st.rerun()
    if chosen is None:
        sb.info(f"Put a .py file into {paths.user_models()}, or add one above.")
    return chosen
