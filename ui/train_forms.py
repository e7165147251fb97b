"""The Train page's forms: the backend choice, the run settings (with the config's help texts),
the Prune hand-off (ticket vs dense vs controls over seeds) and new runs of any kind."""

from __future__ import annotations

import time

import streamlit as st

from ui import state
from ui.errors import guard

GROUP_KEY = "train.group"  # the comparison group on show (this page's own key)


BACKENDS = {"local": "local worker process", "ray": "Ray (RAY_ADDRESS, else a local instance)"}


@st.cache_resource(show_spinner="starting the backend…")
def _backend(data_dir: str, name: str):
    """One backend per data dir, kind and server: it keeps the worker's Popen (or Ray's
    driver-side pump) alive across reruns."""
    from explorer.training.jobs.backend import get_backend
    from explorer.training.store import RunStore

    return get_backend(name, RunStore(data_dir))


def backend_name() -> str:
    import os

    default = "ray" if os.environ.get("RAY_ADDRESS") else "local"
    return st.sidebar.radio("Training backend", list(BACKENDS), index=list(BACKENDS).index(default),
                            format_func=BACKENDS.get, key="train.backend",
                            help="Where runs execute. Both write to the same run store; the page only "
                                 "submits, polls and draws. Ray starts a local instance (no dashboard) "
                                 "unless RAY_ADDRESS names a cluster.")


def backend():
    from explorer import paths

    return _backend(str(paths.data_dir().resolve()), st.session_state.get("train.backend", "local"))


def _help(name: str) -> str:
    from explorer.training.config import field_help

    return field_help(name)


def _default_dataset(spec: str) -> str:
    from explorer.models.zoo import ZOO

    return (ZOO[spec].info.dataset if spec in ZOO else None) or "mnist1d"


def recipe(spec: str):
    """The zoo model's measured training recipe (`explorer.models.Recipe`), or None."""
    from explorer.models import ZOO

    return ZOO[spec].info.recipe if spec in ZOO else None


def config_form(prefix: str, spec_default: str | None = None, fixed_model: bool = False, quick: bool = False):
    """The run settings as widgets; returns a base RunConfig (dense, seed 0) or None.
    `fixed_model`: the model is given (a pruned export's) and shown, not chosen. The learning rate and
    the steps default to the zoo model's recipe (`quick`: its quick-comparison length)."""
    from explorer.data import BUILTIN
    from explorer.training.config import RunConfig
    from explorer.runtime.device import available
    from explorer.models import zoo_names

    names = zoo_names()
    spec0 = spec_default or state.model().spec or "mlp"
    c1, c2, c3 = st.columns(3)
    if fixed_model:
        c1.text_input("Model", value=spec0, disabled=True, key=f"{prefix}.model_fixed",
                      help="the model the mask was pruned from")
        choice = spec0
    else:
        choice = c1.selectbox("Model", [*names, "other…"], index=names.index(spec0) if spec0 in names else len(names),
                              key=f"{prefix}.model", help=_help("model"))
    spec = c1.text_input("Model spec", value=spec0 if spec0 not in names else "", key=f"{prefix}.spec",
                         help="a torchvision name, or a file of the models folder as path/to/file.py:ClassName") \
        if choice == "other…" else choice
    if spec and not fixed_model:
        from explorer.models.user_store import check_allowed

        check_allowed(spec)  # the worker runs model code only from the models folder
    ds_default = _default_dataset(spec)
    ds_opts = [*BUILTIN, "file…"]
    ds = c2.selectbox("Dataset", ds_opts, index=ds_opts.index(ds_default), key=f"{prefix}.dataset.{spec}",
                      help=_help("dataset"))
    if ds == "file…":
        ds = c2.text_input("Path to .csv / .npz", key=f"{prefix}.dataset_path", help=_help("dataset"))
    optimizer = c3.selectbox("Optimiser", ["adam", "sgd"], key=f"{prefix}.opt", help=_help("optimizer"))
    rec = recipe(spec) if spec else None
    lr0 = (rec.lr if rec else 1e-3) if optimizer == "adam" else 0.05
    steps0 = (rec.quick_steps if quick else rec.steps) if rec else (300 if quick else 1000)
    for_what = (spec, quick, optimizer)
    if st.session_state.get(f"{prefix}.defaults_for") != for_what:  # a new model or mode: its recipe's values
        st.session_state[f"{prefix}.defaults_for"] = for_what
        st.session_state[f"{prefix}.lr"] = float(lr0)
        st.session_state[f"{prefix}.steps"] = int(steps0)
        st.session_state[f"{prefix}.eval"] = max(10, int(steps0) // 10)
    c4, c5, c6, c7 = st.columns(4)
    lr = c4.number_input("Learning rate", min_value=1e-6, format="%.4g", key=f"{prefix}.lr", help=_help("lr"))
    steps = c5.number_input("Steps", 10, 200_000, step=50, key=f"{prefix}.steps",
                            help=_help("steps") + (f" — {spec}'s recipe: {rec.steps} steps reach about "
                                                   f"{100 * rec.test_acc:.0f}% test accuracy" if rec else ""))
    batch = c6.number_input("Batch size", 1, 4096, 100, key=f"{prefix}.batch", help=_help("batch_size"))
    eval_every = c7.number_input("Evaluate every", 1, 100_000, key=f"{prefix}.eval", help=_help("eval_every"))
    c8, c9, c10 = st.columns(3)
    schedule = c8.selectbox("Schedule", ["constant", "cosine"], key=f"{prefix}.sched", help=_help("schedule"))
    data_seed = c9.number_input("Data-order seed", 0, 2**31 - 1, 0, key=f"{prefix}.dseed", help=_help("data_seed"))
    device = c10.selectbox("Device", ["auto", *available()], key=f"{prefix}.device",
                           help=_help("device") + f" — here: {', '.join(available())}")
    if not spec or not ds:
        return None
    return RunConfig(model=spec, dataset=ds, optimizer=optimizer, lr=float(lr), steps=int(steps),
                     batch_size=int(batch), eval_every=int(eval_every), log_every=max(1, min(10, int(steps) // 100)),
                     schedule=schedule, data_seed=int(data_seed), device=device)


def submit(configs, batched: bool = False) -> None:
    be = backend()
    ids = be.submit_sweep(configs) if batched else be.submit(configs)
    st.session_state[GROUP_KEY] = configs[0].group
    st.toast(f"queued {len(ids)} run(s)")


@st.cache_data(show_spinner="checking the controls…", max_entries=32)
def _plan(base_json: str, pruned_dir: str, seeds: int) -> tuple[list[str], list[str]]:
    """The comparison's configs (as JSON) and the notes on controls left out (`lottery.group.plan`)."""
    from explorer.lottery.group import plan
    from explorer.training.config import RunConfig

    configs, notes = plan(RunConfig.from_json(base_json), pruned_dir, range(seeds))
    return [c.to_json() for c in configs], notes


def retrain_panel() -> None:
    """The Prune page's hand-off: one click for dense vs ticket vs controls over seeds — a quick
    comparison that fits a lesson, or the model's full recipe."""
    from explorer.training.config import RunConfig

    req = state.RETRAIN.get()
    if req is None:
        return
    with st.container(border=True):
        st.subheader("Retrain the pruned network")
        st.markdown(f"From the Prune page: **{req.model}** ({req.granularity} level), exported to "
                    f"`{req.pruned_dir}`. Per seed, the **dense** network, the **ticket** (the dense init with the "
                    "cut), a **reinit** control (the same cut, a fresh init) and a **random** control (a random cut "
                    "of the same size: a random mask of equal per-layer sparsity, or a random branch, skip or set of "
                    "units), all with the same data order.")
        mode = st.radio("Comparison", ["quick", "full"], horizontal=True, key="retrain.mode",
                        format_func={"quick": "Quick — a few hundred steps, 2 seeds (a lesson's length)",
                                     "full": "Full — the model's training recipe, 3 seeds"}.get)
        quick = mode == "quick"
        base = config_form("retrain", req.model, fixed_model=True, quick=quick)
        if st.session_state.get("retrain.seeds_for") != mode:
            st.session_state["retrain.seeds_for"] = mode
            st.session_state["retrain.seeds"] = 2 if quick else 3
        n = st.number_input("Seeds", 1, 10, key="retrain.seeds", help="independent inits; mean ± std over them")
        configs, notes = [], []
        if base is not None:
            cj, notes = _plan(base.to_json(), req.pruned_dir, int(n))
            configs = [RunConfig.from_json(c) for c in cj]
        for note in notes:
            st.warning(note, icon="⚠️")
        batched = batched_toggle(configs, "retrain")
        st.caption(f"{len(configs)} runs: {', '.join(sorted({c.init for c in configs}))} × {int(n)} seed(s), "
                   f"{configs[0].steps if configs else 0} steps each" + (", as one batched job" if batched else ""))
        if configs and st.button("Retrain: ticket vs dense vs controls", type="primary", key="retrain.go"):
            with guard("submitting the comparison"):
                submit(configs, batched)
                st.session_state["train.notes"] = {configs[0].group: notes}
                state.RETRAIN.pop()


def batched_toggle(configs, prefix: str) -> bool:
    """Offer one batched job (all variants at once, torch.vmap) where the runs can share it."""
    from explorer.training.jobs.sweep import batched_blocker

    reason = batched_blocker(configs) if configs else "no runs"
    on = st.toggle("Train as one batched job", value=reason is None, disabled=reason is not None,
                   key=f"{prefix}.batched",
                   help="All variants train at once in one process (torch.vmap over stacked weights; BatchNorm "
                        "keeps running statistics per variant; a rewritten ticket trains beside its own "
                        "architecture), with the same results as one by one.")
    if reason is not None and configs:
        st.info(f"These runs train one by one: {reason}.")
    return bool(on and reason is None)


def new_runs_panel() -> None:
    from explorer.lottery.group import ticket_group

    with st.expander("New run(s)", expanded=state.RETRAIN.get() is None and not backend().store.list_runs()):
        base = config_form("new")
        c1, c2, c3 = st.columns(3)
        seeds = c1.text_input("Seeds", "0", key="new.seeds", help="comma-separated init seeds, e.g. 0,1,2")
        pruned = c2.text_input("Pruned export dir (optional)", key="new.pruned", help=_help("pruned_dir"))
        init = c3.selectbox("Init", ["dense", "ticket", "reinit", "random", "rewind"], key="new.init",
                            help=_help("init"))
        group = st.text_input("Group", value=f"g{time.strftime('%H%M%S')}", key="new.group", help=_help("group"))
        b1, b2 = st.columns(2)
        go = b1.button("Submit", type="primary", key="new.go", disabled=base is None)
        cmp = b2.button("Ticket vs dense vs controls", key="new.cmp", disabled=base is None or not pruned,
                        help="needs a pruned export dir")
        if go or cmp:
            with guard("submitting runs"):
                ss = [int(s) for s in seeds.replace(" ", "").split(",") if s]
                if not ss:
                    raise ValueError("give at least one seed, e.g. 0 or 0,1,2")
                if cmp:
                    submit(ticket_group(base.replace(group=group), pruned, ss, group=group))
                else:
                    submit([base.replace(seed=s, group=group, init=init, pruned_dir=pruned if init != "dense" else "",
                                         label=f"{init} s{s}") for s in ss])


def damaged_store_way_out(e: BaseException) -> None:
    """A damaged run store: one click moves it aside (kept, never deleted) and starts a fresh one."""
    from explorer.training.database import StoreDamaged, move_aside

    if not isinstance(e, StoreDamaged):
        return
    if st.button("Move the damaged store aside and start a fresh one", key="train.repair", type="primary",
                 help=f"{e.path.name} is renamed to {e.path.name}.damaged-<time> in the same folder"):
        kept = move_aside(e.path)
        _backend.clear()
        st.success(f"Kept the damaged store as {kept.name}; a fresh store starts now.")
        st.rerun()
