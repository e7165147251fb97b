"""The Train page's forms: the run settings (with the config's help texts), the Prune hand-off (ticket vs
dense vs controls over seeds) and new runs of any kind, queued on the backend the user chose (`ui.jobs`)."""

from __future__ import annotations

import time

import streamlit as st

from ui import state
from ui.errors import guard
from ui.jobs import backend

GROUP_KEY = "train.group"  # the comparison group on show (this page's own key)


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


def default_config(spec: str, quick: bool = False, optimizer: str = "adam"):
    """The run settings the forms open with for `spec`: its default dataset, and the learning rate and
    length of its measured recipe (`quick`: the quick-comparison length); the Prune hand-off starts with these."""
    from explorer.training.config import RunConfig

    rec = recipe(spec)
    lr = (rec.lr if rec else 1e-3) if optimizer == "adam" else 0.05
    steps = int((rec.quick_steps if quick else rec.steps) if rec else (300 if quick else 1000))
    return RunConfig(model=spec, dataset=_default_dataset(spec), optimizer=optimizer, lr=float(lr), steps=steps,
                     batch_size=100, eval_every=max(10, steps // 10), log_every=_log_every(steps))


def _log_every(steps: int) -> int:
    return max(1, min(10, int(steps) // 100))


def config_form(prefix: str, spec_default: str | None = None, fixed_model: bool = False, quick: bool = False):
    """The run settings as widgets; returns a base RunConfig (dense, seed 0) or None.
    `fixed_model`: the model is given (a pruned export's) and shown, not chosen. The learning rate and
    the steps default to the zoo model's recipe (`quick`: its quick-comparison length; `default_config`)."""
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
    from explorer.server.settings import serving_class

    ds_opts = [*BUILTIN] if serving_class() else [*BUILTIN, "file…"]  # a class server reads no server paths
    ds = c2.selectbox("Dataset", ds_opts, index=ds_opts.index(_default_dataset(spec)), key=f"{prefix}.dataset.{spec}",
                      help=_help("dataset"))
    if ds == "file…":
        ds = c2.text_input("Path to .csv / .npz", key=f"{prefix}.dataset_path", help=_help("dataset"))
    optimizer = c3.selectbox("Optimiser", ["adam", "sgd"], key=f"{prefix}.opt", help=_help("optimizer"))
    rec = recipe(spec) if spec else None
    d = default_config(spec or spec0, quick, optimizer)
    for_what = (spec, quick, optimizer)
    if st.session_state.get(f"{prefix}.defaults_for") != for_what:  # a new model or mode: its recipe's values
        st.session_state[f"{prefix}.defaults_for"] = for_what
        st.session_state[f"{prefix}.lr"] = d.lr
        st.session_state[f"{prefix}.steps"] = d.steps
        st.session_state[f"{prefix}.eval"] = d.eval_every
    c4, c5, c6, c7 = st.columns(4)
    lr = c4.number_input("Learning rate", min_value=1e-6, format="%.4g", key=f"{prefix}.lr", help=_help("lr"))
    steps = c5.number_input("Steps", 10, 200_000, step=50, key=f"{prefix}.steps",
                            help=_help("steps") + (f" — {spec}'s recipe: {rec.steps} steps reach about "
                                                   f"{100 * rec.test_acc:.0f}% test accuracy" if rec else ""))
    batch = c6.number_input("Batch size", 1, 4096, d.batch_size, key=f"{prefix}.batch", help=_help("batch_size"))
    eval_every = c7.number_input("Evaluate every", 1, 100_000, key=f"{prefix}.eval", help=_help("eval_every"))
    c8, c9, c10 = st.columns(3)
    schedule = c8.selectbox("Schedule", ["constant", "cosine"], key=f"{prefix}.sched", help=_help("schedule"))
    data_seed = c9.number_input("Data-order seed", 0, 2**31 - 1, d.data_seed, key=f"{prefix}.dseed",
                                help=_help("data_seed"))
    device = c10.selectbox("Device", ["auto", *available()], key=f"{prefix}.device",
                           help=_help("device") + f" — here: {', '.join(available())}")
    if not spec or not ds:
        return None
    return RunConfig(model=spec, dataset=ds, optimizer=optimizer, lr=float(lr), steps=int(steps),
                     batch_size=int(batch), eval_every=int(eval_every), log_every=_log_every(int(steps)),
                     schedule=schedule, data_seed=int(data_seed), device=device)


def submit(configs, batched: bool = False) -> None:
    """Queue the runs (one batched job where `batched`) and show their group."""
    from explorer.training.kinds import submit_runs

    ids = submit_runs(backend(), configs, batched)
    st.session_state[GROUP_KEY] = configs[0].group
    st.toast(f"queued {len(ids)} run(s)")


@st.cache_data(show_spinner="checking the controls…", max_entries=32)
def _plan(base_json: str, pruned_dir: str, seeds: int) -> tuple[list[str], list[str]]:
    """The comparison's configs (as JSON) and the notes on controls left out (`lottery.group.plan`)."""
    from explorer.lottery.group import plan
    from explorer.training.config import RunConfig

    configs, notes = plan(RunConfig.from_json(base_json), pruned_dir, range(seeds))
    return [c.to_json() for c in configs], notes


SEEDS = {"quick": 2, "full": 3}  # seeds of the Prune hand-off's comparison, per mode
MODES = {"quick": "Quick — a few hundred steps, 2 seeds (a lesson's length)",
         "full": "Full — the model's training recipe, 3 seeds"}
STARTED = "train.started"  # group -> what the Prune hand-off started in it (shown above its table)
NOTES = "train.notes"  # group -> the controls left out of it, and why (`lottery.group.plan`)


def _comparison(req, base, seeds: int) -> tuple[list, list[str]]:
    from explorer.training.config import RunConfig

    cj, notes = _plan(base.to_json(), req.pruned_dir, int(seeds))
    return [RunConfig.from_json(c) for c in cj], notes


def _started(req, configs, notes: list[str], batched: bool, how: str) -> None:
    """Record what the hand-off queued (shown above the group's table) and let the new-run form hold the export."""
    g = configs[0].group
    st.session_state[NOTES] = {g: notes}
    roles = ", ".join(dict.fromkeys(c.init for c in configs))
    st.session_state[STARTED] = {g: (
        f"Started from the Prune page: {how} of `{req.pruned_dir}` ({req.model}) — {roles} over "
        f"{len({c.seed for c in configs})} seed(s), {configs[0].steps} steps each"
        + (", as one batched job" if batched else "") + ". To change the settings or run the full recipe, open "
        "*New run(s)* below: it holds this export.")}
    st.session_state["new.pruned"] = req.pruned_dir
    state.RETRAIN.pop()


def start_handoff(req) -> None:
    """The one click of the Prune page's Retrain: queue the comparison it asked for (`req.mode`) with the
    forms' default settings (`default_config`), the controls checked first (`lottery.group.plan`)."""
    from explorer.training.sweep import batched_blocker

    configs, notes = _comparison(req, default_config(req.model, quick=req.mode == "quick"), SEEDS[req.mode])
    batched = batched_blocker(configs) is None
    submit(configs, batched)
    _started(req, configs, notes, batched, f"the {req.mode} comparison")


def started_note(group: str) -> None:
    """What the hand-off started in `group`, and the controls it left out with the reason."""
    text = st.session_state.get(STARTED, {}).get(group)
    if text:
        st.success(text, icon=":material/play_circle:")
    for note in st.session_state.get(NOTES, {}).get(group, []):
        st.warning(note, icon=":material/warning:")


def retrain_panel() -> None:
    """The Prune page's hand-off. Its Retrain button is the one click: the comparison starts here at once
    (`start_handoff`); the form below is shown only when that could not start, to set it up by hand."""
    from dataclasses import replace

    from ui.errors import show_error

    req = state.RETRAIN.get()
    if req is None:
        return
    if req.start:
        try:
            start_handoff(req)
            return
        except Exception as e:  # noqa: BLE001 - shown, and the form below lets the user fix the settings
            show_error(e, "starting the comparison from the Prune page")
            req = replace(req, start=False)
            state.RETRAIN.put(req)
    with st.container(border=True):
        st.subheader("Retrain the pruned network")
        st.markdown(f"From the Prune page: **{req.model}** ({req.granularity} level), exported to "
                    f"`{req.pruned_dir}`. Per seed, the **dense** network, the **ticket** (the dense init with the "
                    "cut), a **reinit** control (the same cut, a fresh init) and a **random** control (a random "
                    "network of the ticket's size, layer for layer: a random mask, or a random branch, skip or set "
                    "of units), all with the same data order.")
        mode = st.radio("Comparison", list(MODES), horizontal=True, key="retrain.mode", format_func=MODES.get)
        base = config_form("retrain", req.model, fixed_model=True, quick=mode == "quick")
        if st.session_state.get("retrain.seeds_for") != mode:
            st.session_state["retrain.seeds_for"] = mode
            st.session_state["retrain.seeds"] = SEEDS[mode]
        n = st.number_input("Seeds", 1, 10, key="retrain.seeds", help="independent inits; mean ± std over them")
        configs, notes = [], []
        if base is not None:
            with guard("checking the controls"):
                configs, notes = _comparison(req, base, n)
        for note in notes:
            st.warning(note, icon=":material/warning:")
        batched = batched_toggle(configs, "retrain")
        st.caption(f"{len(configs)} runs: {', '.join(sorted({c.init for c in configs}))} × {int(n)} seed(s), "
                   f"{configs[0].steps if configs else 0} steps each" + (", as one batched job" if batched else ""))
        if configs and st.button("Retrain: ticket vs dense vs controls", type="primary", key="retrain.go"):
            with guard("submitting the comparison"):
                submit(configs, batched)
                _started(req, configs, notes, batched, f"the {mode} comparison")


def batched_toggle(configs, prefix: str) -> bool:
    """Offer one batched job (all variants at once, torch.vmap) where the runs can share it."""
    from explorer.training.sweep import batched_blocker

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
    from explorer.lottery.group import plan
    from explorer.server.settings import serving_class

    with st.expander("New run(s)", expanded=state.RETRAIN.get() is None and not backend().store.list_runs()):
        base = config_form("new")
        c1, c2, c3 = st.columns(3)
        seeds = c1.text_input("Seeds", "0", key="new.seeds", help="comma-separated init seeds, e.g. 0,1,2")
        pruned = c2.text_input("Pruned export dir (optional)", key="new.pruned", help=_help("pruned_dir"),
                               disabled=serving_class())  # a class server: only the Prune hand-off names one
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
                if cmp:  # the controls checked first, as the hand-off's: one of the wrong size never trains
                    configs, notes = plan(base.replace(group=group), pruned, ss, group=group)
                    submit(configs)
                    st.session_state[NOTES] = {group: notes}
                else:
                    submit([base.replace(seed=s, group=group, init=init, pruned_dir=pruned if init != "dense" else "",
                                         label=f"{init} s{s}") for s in ss])


def refused_group() -> bool:
    """A link naming another student's comparison group: say so, forget it, show nothing of it (True)."""
    from ui.jobs import backend, refuse_hidden

    cur = st.session_state.get(GROUP_KEY)
    if cur is None or not backend().store.hidden(group=cur):
        return False
    refuse_hidden(f"Comparison group {cur!r}")
    st.session_state.pop(GROUP_KEY, None)
    return True


def choose_group(roles) -> str:
    """The comparison group on show: the one this session or a link chose (`GROUP_KEY`), else the newest
    complete comparison (`lottery.group.opening_group`). The session's model
    then becomes the group's, so the address bar names the model whose runs are shown."""
    from explorer.lottery.group import opening_group

    groups = list(roles)
    cur = st.session_state.get(GROUP_KEY)
    if cur is not None and cur not in roles and not refused_group():
        st.warning(f"There is no comparison group {cur!r} in this run store; showing another.", icon=":material/link:")
    pick = cur if cur in roles else opening_group(roles)
    group = st.selectbox("Comparison group", groups, index=groups.index(pick), key=f"train.groupsel.{pick}",
                         format_func=lambda g: g or "(no group)")
    st.session_state[GROUP_KEY] = group
    models = roles[group][1]
    if len(models) == 1:
        _show_model(next(iter(models)))
    return group


def _show_model(spec: str) -> None:
    from explorer.models import ZOO

    src = "zoo" if spec in ZOO else "file" if ".py:" in spec.split("@")[0] else "torchvision"
    if (state.model().source, state.model().spec) != (src, spec):
        state.pick(spec=spec, source=src)


def damaged_store_way_out(e: BaseException) -> None:
    """A damaged run store: one click moves it aside (kept, never deleted) and starts a fresh one."""
    from explorer.jobs.database import StoreDamaged, move_aside

    if not isinstance(e, StoreDamaged):
        return
    if st.button("Move the damaged store aside and start a fresh one", key="train.repair", type="primary",
                 help=f"{e.path.name} is renamed to {e.path.name}.damaged-<time> in the same folder"):
        from ui.jobs import reset_backends

        kept = move_aside(e.path)
        reset_backends()
        st.success(f"Kept the damaged store as {kept.name}; a fresh store starts now.")
        st.rerun()
