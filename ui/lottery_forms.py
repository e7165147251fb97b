"""The Lottery page's settings: one form per experiment, its widgets described by the config's
settings (`explorer.config.forms.widgets` of `explorer.lottery.experiment`) so every tooltip is the
setting's own help; Start submits the experiment as a background job, and the page remembers which
job it shows."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import state

KINDS = {"IMP": "lottery.imp", "One-shot sweep": "lottery.sweep", "Stability": "lottery.stability",
         "Transfer": "lottery.transfer", "Early-bird": "lottery.earlybird"}
JOB_KEY = "lottery.job.{kind}"  # the job on show for each kind
UNNAMED = "lottery.job_unnamed.{kind}"  # the job on show is the shipped example shown by default: not in the link
TRAINING = ("steps", "lr", "batch_size", "eval_every", "seeds")
FIELDS = {  # per kind: the fields the form shows besides model, dataset and the training settings
    "lottery.imp": ("rounds", "rate", "scope", "output_rate", "rewind_step", "prune_biases", "controls", "batched"),
    "lottery.sweep": ("sweep", "scope", "prune_biases", "controls", "batched"),
    "lottery.stability": ("rewind_step", "pruned_dir", "order_a", "order_b", "points"),
    "lottery.transfer": ("target_dataset", "sparsity", "scope", "prune_biases", "controls"),
    "lottery.earlybird": ("ratio", "ratios", "window", "threshold", "l1_gamma"),
}
DEFAULTS = {"lottery.sweep": {"sweep": (0.5, 0.8, 0.9, 0.95, 0.97, 0.99)}}
LABELS = {"lr": "Learning rate", "eval_every": "Evaluate every", "rate": "Rate per round", "output_rate": "Output-layer rate",
          "rewind_step": "Rewind to step", "batched": "Batched (vmap)", "pruned_dir": "Ticket folder (optional)",
          "order_a": "Data order A", "order_b": "Data order B", "points": "Points on the line",
          "target_dataset": "Task B dataset", "l1_gamma": "L1 on BatchNorm scales", "sweep": "Sparsities",
          "ratios": "Ratios watched", "ratio": "Ticket ratio", "window": "Masks compared", "threshold": "Draw threshold"}


def config_class(kind: str) -> Any:
    from explorer.lottery.experiment import KINDS as CLASSES

    return CLASSES[kind]


def _widget(col: Any, cls: Any, name: str, key: str, default: Any) -> Any:
    """One widget for one config setting, as the library describes it (its help as the tooltip)."""
    from explorer.config.forms import widgets
    from ui.spec_form import draw

    return draw(col, widgets(cls, (name,), labels=LABELS)[0], key, default)


def _chosen(key: str) -> None:
    """A model chosen here becomes the session's model: the link carries it, the next page opens on it."""
    state.pick(spec=st.session_state[key], source="zoo")


def _model(prefix: str, cls: Any) -> tuple[str, str]:
    from explorer.models import zoo_names
    from explorer.models.zoo import ZOO

    names = zoo_names()
    spec0 = state.model().spec if state.model().spec in names else "lottery_mlp"
    c1, c2 = st.columns(2)
    spec = c1.selectbox("Model", names, index=names.index(spec0), key=f"{prefix}.model", help=cls.help()["model"],
                        on_change=_chosen, args=(f"{prefix}.model",))
    c1.caption(ZOO[spec].info.description)
    ds = c2.text_input("Dataset", ZOO[spec].info.dataset or "", key=f"{prefix}.dataset.{spec}",
                       help=cls.help()["dataset"])
    return spec, ds


def form_defaults(kind: str, spec: str) -> dict[str, Any]:
    """What the form of `kind` shows for model `spec` before anything is changed: the settings' defaults,
    then the zoo model's own lab settings where its recipe has some (lottery_mlp: the notebook's)."""
    from explorer.models.zoo import ZOO

    cls = config_class(kind)
    recipe = ZOO[spec].info.recipe if spec in ZOO else None
    names = {s.name for s in cls.settings()}
    return {**{s.name: s.default for s in cls.settings()}, **DEFAULTS.get(kind, {}),
            **{k: v for k, v in (recipe.lottery if recipe else ()) if k in names}}


def form(kind: str) -> Any:
    """The settings of one experiment kind as widgets; returns its config (or raises its error)."""
    cls = config_class(kind)
    prefix = f"lottery.{kind.split('.')[1]}"
    spec, ds = _model(prefix, cls)
    defaults = form_defaults(kind, spec)
    values: dict[str, Any] = {}
    cols = st.columns(len(TRAINING))
    for col, name in zip(cols, TRAINING):
        values[name] = _widget(col, cls, name, f"{prefix}.{name}.{spec}", defaults[name])
    extra = FIELDS[kind]
    for i in range(0, len(extra), 4):
        cols = st.columns(4)
        for col, name in zip(cols, extra[i:i + 4]):
            values[name] = _widget(col, cls, name, f"{prefix}.{name}.{spec}", defaults[name])
    return cls.of(model=spec, dataset=ds, **values).resolved()  # device "auto": the GPU where there is one


def submit(kind: str, cfg: Any) -> str:
    """Start the experiment (`explorer.lottery.kinds`) on the chosen backend; it is the one on show."""
    from explorer.lottery import kinds  # noqa: F401 - registers the lab's kinds
    from ui.jobs import submit as submit_job

    jid = submit_job(kind, cfg, retry=True)
    st.session_state[JOB_KEY.format(kind=kind)] = jid
    return jid


def job_picker(store: Any, kind: str) -> str | None:
    """The job of `kind` on show: the one just started, or one picked from the store's list (the user's
    own newest first, the shipped examples last: one's own result replaces the example on show)."""
    from explorer.lessons.results import is_shipped

    cur = st.session_state.get(JOB_KEY.format(kind=kind))
    if cur and store.hidden(cur):  # a link naming another student's experiment
        from ui.jobs import refuse_hidden

        refuse_hidden(f"Experiment {cur}")
        st.session_state.pop(JOB_KEY.format(kind=kind), None)
        cur = None
    jobs = sorted(reversed(store.list_jobs(kind=kind)), key=is_shipped)  # stable: newest first within each
    if not jobs:
        return None
    ids = [j.id for j in jobs]
    idx = ids.index(cur) if cur in ids else 0

    def label(jid: str) -> str:
        j = next(x for x in jobs if x.id == jid)
        c = j.config
        what = f"{len(c['sweep'])} sparsities" if c.get("sweep") else f"{c['rounds']} rounds" if "rounds" in c else ""
        return (f"{'shipped example · ' if is_shipped(j) else ''}{c.get('model')} on {c.get('dataset')} · "
                f"{what + ' · ' if what else ''}{c.get('seeds')} seed(s) · {jid}")

    jid = st.selectbox("Experiment on show", ids, index=idx, format_func=label, key=f"lottery.pick.{kind}.{cur}")
    st.session_state[JOB_KEY.format(kind=kind)] = jid
    # the shipped example every install opens on needs no naming in the page's link
    st.session_state[UNNAMED.format(kind=kind)] = jid == ids[0] and is_shipped(jobs[0])
    return jid


# ---- the page's link (`ui.links`; the schema is `explorer.links.pages.PAGES["Lottery"]`) -----------

def _kind() -> str:
    return KINDS.get(st.session_state.get("lottery.kind"), "lottery.imp")


def _spec(kind: str) -> str:
    from explorer.models import zoo_names

    spec = st.session_state.get(f"lottery.{kind.split('.')[1]}.model") or state.model().spec
    return spec if spec in zoo_names() else "lottery_mlp"


def _shown(name: str, d: Any) -> Any:
    """A default as its widget holds it (tuples as comma-separated text)."""
    return ",".join(map(str, d)) if isinstance(d, tuple) else d


def _field_get(name: str) -> Any:
    kind = _kind()
    if name != "dataset" and name not in TRAINING + FIELDS[kind]:
        return None
    spec = _spec(kind)
    if name == "dataset":
        from explorer.models.zoo import ZOO

        v, d = st.session_state.get(f"lottery.{kind.split('.')[1]}.dataset.{spec}"), ZOO[spec].info.dataset or ""
    else:
        v, d = st.session_state.get(f"lottery.{kind.split('.')[1]}.{name}.{spec}"), _shown(name, form_defaults(kind, spec)[name])
    return None if v is None or v == d else v


def on_link(values: dict[str, Any]) -> None:
    """Apply a Lottery link: the experiment, then every field of its form for the link's model (those the
    link leaves out go back to the form's defaults), and the experiment on show."""
    from explorer.links.pages import LOTTERY_KINDS

    ss = st.session_state
    kind = LOTTERY_KINDS[values.get("kind", "imp")]
    ss["lottery.kind"] = next(label for label, k in KINDS.items() if k == kind)
    slug = kind.split(".")[1]
    if "model" in values:
        for k in KINDS.values():
            ss.pop(f"lottery.{k.split('.')[1]}.model", None)  # the forms open on the link's model
    spec = _spec(kind)
    for name in ("dataset", *TRAINING, *FIELDS[kind]):
        key = f"lottery.{slug}.{name}.{spec}" if name != "dataset" else f"lottery.{slug}.dataset.{spec}"
        if name in values:
            ss[key] = values[name]
        else:
            ss.pop(key, None)
    if "job" in values:
        ss[JOB_KEY.format(kind=kind)] = values["job"]


def _job_in_link() -> str | None:
    kind = _kind()
    return None if st.session_state.get(UNNAMED.format(kind=kind)) else st.session_state.get(JOB_KEY.format(kind=kind))


def link_settings() -> tuple:
    from explorer.links.pages import LOTTERY_FIELDS, LOTTERY_KINDS, PAGES
    from ui.links import Setting

    P = PAGES["Lottery"]
    slug_of = {k: s for s, k in LOTTERY_KINDS.items()}
    noop = lambda v: None  # noqa: E731 - applied together by on_link
    return (Setting(P["kind"], put=noop, get=lambda: slug_of[_kind()]),
            Setting(P["job"], put=noop, get=_job_in_link),
            *(Setting(P[n], put=noop, get=lambda n=n: _field_get(n)) for n in LOTTERY_FIELDS))
