"""The Signal-propagation page's controls: the network (a generated deep MLP or any model), the init
schemes and inputs, the pruning and isometry settings, the depth sweep and the training grid —
each widget carrying the library's help text — turned into the lab's configs."""

from __future__ import annotations

import streamlit as st

from ui.picker import model_picker

SCHEME_CHOICES = ("orthogonal", "delta-orthogonal", "kaiming-normal", "kaiming-uniform", "xavier-normal",
                  "xavier-uniform", "lecun-normal", "gaussian", "as-built")
CRITERIA = {"snip": "SNIP (supervised)", "snip_unsupervised": "SNIP (unsupervised: uniform target)",
            "random": "random", "magnitude": "magnitude |w|"}


def _help(name: str) -> str:
    from explorer.propagation.lab import LabConfig

    return LabConfig.help()[name]


def _options(name: str, skip: tuple = ()) -> dict:
    """A LabConfig setting's choices (minus `skip`) and the index of its default, for a radio or selectbox."""
    from explorer.propagation.lab import LabConfig

    s = next(s for s in LabConfig.settings() if s.name == name)
    opts = [c for c in s.choices if c not in skip]
    return {"options": opts, "index": opts.index(s.default)}


def network() -> tuple[str, object | None]:
    """Sidebar: a generated deep MLP (depth, width, activation, in/out) or a model; (spec, shape or None)."""
    from explorer.models.generated import ACTIVATIONS, DeepMLPShape

    sb = st.sidebar
    kind = sb.radio("Network", ["generated", "model"], key="spp.kind", horizontal=True,
                    format_func={"generated": "deep MLP", "model": "a model"}.get,
                    help="a generated deep MLP (depth × width, one activation), or any model the explorer loads")
    if kind == "model":
        picked = model_picker("spp", allow_onnx=False)
        return (picked[0] if picked else ""), None
    # Four choices, shown all at once: a select box here opened only on a second click in a window under about
    # 850 px tall (the box, cut by the window's bottom edge, scrolled the sidebar on its first click, and the
    # scroll closed its list: react-aria's close-on-scroll); a row of radio buttons has no list to close.
    act = sb.radio("Activation", list(ACTIVATIONS), key="spp.act", horizontal=True,
                   help="between the layers; linear nets show the orthogonal identity exactly")
    depth = int(sb.slider("Depth (weight matrices)", 1, 60, 7, key="spp.depth"))
    width = int(sb.number_input("Width", 2, 512, 100, key="spp.width"))
    io = sb.radio("Inputs → outputs", ["square", "mnist1d"], key="spp.io",
                  format_func={"square": f"square ({width} → {width})", "mnist1d": "MNIST-1D (40 → 10)"}.get,
                  help="square: the Jacobian has `width` singular values; MNIST-1D: the net trains on MNIST-1D")
    d_in, d_out = (width, width) if io == "square" else (40, 10)
    shape = DeepMLPShape(depth, width, act, d_in, d_out)
    return shape.spec, shape


def spectra_settings(image: bool = False, big: bool = False) -> dict:
    """Schemes (with σ_w² for gaussian), seed, K inputs, input source, per-layer route, float64 — and for
    image models the input size. `big` (a torchvision model): defaults that finish in minutes."""
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1.4])
    picked = c1.multiselect("Init schemes", SCHEME_CHOICES, default=["orthogonal", "gaussian"],
                            key="spp.schemes", help=_help("schemes"))
    s2 = c2.number_input("σ_w² (gaussian)", 0.05, 10.0, 1.0, 0.05, key="spp.sigma2",
                         help="gaussian draws N(0, σ_w² / fan_in)", disabled="gaussian" not in picked)
    seed = int(c3.number_input("Seed", 0, 10_000, 0, key="spp.seed", help=_help("seed")))
    sfx = ".big" if big else ""
    k = int(c4.number_input("Inputs K", 1, 1000, 4 if big else 32, key=f"spp.inputs{sfx}", help=_help("inputs")))
    c5, c6, c7, c8 = st.columns([1.4, 2, 1, 1])
    source = c5.selectbox("Inputs from", ["", "noise"], key="spp.inputs_from", help=_help("dataset"),
                          format_func={"": "the model's dataset", "noise": "Gaussian noise"}.get)
    route = c6.radio("Per-layer maps", **_options("per_layer", skip=("none",)), horizontal=True, key="spp.route",
                     help=_help("per_layer"), format_func={"auto": "auto", "lifting": "lifting D_l(x)T_l",
                                                           "autograd": "autograd"}.get)
    f64 = c7.toggle("float64", not big, key=f"spp.f64{sfx}", help=_help("float64"))
    size = int(c8.number_input("Image size", 0, 512, 32 if big else 0, key=f"spp.size{sfx}",
                               help=_help("image_size"))) if image else 0
    if big:
        st.caption("A torchvision model: its Jacobians have 1,000 rows, so the spectra take minutes in the worker "
                   "(a few inputs, small images, float32 keep it short).")
    schemes = [f"gaussian:{s2:g}" if s == "gaussian" else s for s in picked]
    return {"schemes": schemes, "seed": seed, "inputs": k, "dataset": source, "per_layer": route, "float64": f64,
            "image_size": size}


def pruning_settings() -> dict:
    c1, c2, c3 = st.columns([2, 2, 1])
    crit = c1.selectbox("Criterion", list(CRITERIA), format_func=CRITERIA.get, key="spp.crit",
                        help=_help("criterion") + "; with SNIP the other SNIP's mask is shown beside it")
    sparsity = c2.slider("Sparsity", 0.0, 0.99, 0.9, 0.01, key="spp.sparsity", help=_help("sparsity"))
    scope = c3.radio("Ranking", **_options("scope"), key="spp.scope", help=_help("scope"))
    return {"criterion": crit, "sparsity": float(sparsity), "scope": scope}


def isometry_settings() -> dict:
    c1, c2, c3 = st.columns(3)
    steps = int(c1.number_input("SGD steps", 0, 20_000, 1000, 100, key="spp.iso_steps", help=_help("isometry_steps")))
    lr = float(c2.number_input("Learning rate", 1e-4, 1.0, 0.1, format="%.4g", key="spp.iso_lr",
                               help=_help("isometry_lr")))
    sched = c3.radio("Schedule", **_options("isometry_schedule"), horizontal=True, key="spp.iso_sched",
                     help=_help("isometry_schedule"))
    return {"isometry_steps": steps, "isometry_lr": lr, "isometry_schedule": sched}


def depth_settings(shape, schemes: list[str], seed: int):
    """The depth sweep's config: the network's width and activation (100 and linear for a model)."""
    from explorer.propagation.depth import DepthConfig

    c1, c2 = st.columns([3, 1])
    depths = c1.multiselect("Depths", [1, 2, 3, 5, 7, 10, 15, 20, 30, 50], default=[3, 7, 15, 30], key="spp.depths",
                            help="square MLPs of the network's width and activation, generated at each depth")
    k = int(c2.number_input("Inputs", 1, 256, 16, key="spp.depth_inputs", help="Gaussian inputs per net"))
    width, act = (shape.width, shape.act) if shape is not None else (100, "linear")
    return DepthConfig(width=width, act=act, depths=tuple(depths or [7]), schemes=tuple(schemes), inputs=k, seed=seed)


def train_settings(spec: str, dataset: str):
    """The grid's training settings as a base RunConfig (the spp reference: SGD 0.1, batch 100), and seeds."""
    from explorer.training.config import RunConfig, field_help
    from explorer.training.optim import OPTIMIZERS

    c1, c2, c3, c4, c5 = st.columns(5)
    steps = int(c1.number_input("Steps", 10, 100_000, 2000, 100, key="spp.t_steps", help=field_help("steps")))
    opt = c2.selectbox("Optimiser", OPTIMIZERS, index=OPTIMIZERS.index("sgd"), key="spp.t_opt",  # the spp reference's
                       help=field_help("optimizer"))
    lr = float(c3.number_input("Learning rate", 1e-5, 1.0, 0.1 if opt == "sgd" else 1e-3, format="%.4g",
                               key=f"spp.t_lr.{opt}", help=field_help("lr")))
    n = int(c4.number_input("Seeds", 1, 10, 3, key="spp.t_seeds", help="independent inits; mean ± std over them"))
    every = int(c5.number_input("Evaluate every", 1, 10_000, 100, key="spp.t_eval", help=field_help("eval_every")))
    base = RunConfig(model=spec, dataset=dataset, optimizer=opt, lr=lr, steps=steps, batch_size=100,
                     eval_every=every, log_every=max(1, min(10, steps // 100)))
    return base, list(range(n))


# ---- the page's link (`ui.links`; the schema is `explorer.links.pages.PAGES["Signal propagation"]`) -------

DEPTH_CHOICES = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50)


def _list_setting(param, key: str, choices: tuple, cast=str):
    """A multiselect in the link, comma-separated; a value outside `choices` is a notice."""
    from ui.links import Setting

    def put(raw: str) -> None:
        items = [cast(t) for t in str(raw).split(",") if t.strip()]
        bad = [str(t) for t in items if t not in choices]
        if bad:
            raise ValueError(f"{param.name}: {', '.join(bad)} not among {', '.join(map(str, choices))}")
        st.session_state[key] = items

    def get() -> str | None:
        v = st.session_state.get(key)
        return None if v is None else ",".join(map(str, v))

    return Setting(param, put=put, get=get)


def link_settings() -> tuple:
    from explorer.links.pages import PAGES
    from ui.links import Setting

    P = PAGES["Signal propagation"]
    keys = {"net": "spp.kind", "depth_l": "spp.depth", "width": "spp.width", "act": "spp.act", "io": "spp.io",
            "s2": "spp.sigma2", "iseed": "spp.seed", "k": "spp.inputs", "crit": "spp.crit", "sp": "spp.sparsity",
            "scope": "spp.scope", "iso": "spp.iso_steps"}
    return (*(Setting(P[k], key) for k, key in keys.items()),
            _list_setting(P["schemes"], "spp.schemes", SCHEME_CHOICES),
            _list_setting(P["depths"], "spp.depths", DEPTH_CHOICES, int))
