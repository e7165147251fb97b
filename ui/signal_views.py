"""The Signal-propagation page's views: each figure of the lab drawn from its documents, with one
sentence saying what to look at."""

from __future__ import annotations

import streamlit as st

STAGE_NAMES = {"init": "after init", "pruned": "after pruning", "isometry": "after isometry"}
PLOT_CONFIG = {"displaylogo": False}


def _stage(entry: dict, name: str) -> dict | None:
    return next((s for s in entry["stages"] if s["stage"] == name), None)


def _panels(entries: list[dict], stages: tuple[str, ...]) -> list:
    """(scheme, [(stage, singular values)]) per scheme, for `stages_figure`."""
    return [(e["init"], [(n, s["singular_values"]) for n in stages if (s := _stage(e, n))]) for e in entries]


def _twins(doc: dict) -> str:
    """A sentence naming schemes whose spectra are identical (e.g. Kaiming and Gaussian σ_w² = 1 on a linear net)."""
    seen: dict[tuple, str] = {}
    same = []
    for e in doc["schemes"]:
        s = _stage(e, "init")
        if s is None:
            continue
        k = tuple(s["singular_values"])
        if k in seen:
            same.append(f"{e['init']} draws the same weights as {seen[k]} here")
        seen.setdefault(k, e["init"])
    return (" " + "; ".join(same) + " (the same distribution, the same seed), so their curves coincide."
            if same else "")


def stats_table(doc: dict, stages: tuple[str, ...] = ("init",)) -> None:
    import pandas as pd

    rows = []
    for e in doc["schemes"]:
        for name in stages:
            s = _stage(e, name)
            if s is None:
                continue
            st_ = s["stats"]
            cond = st_["condition"]
            rows.append({"init": e["init"], "stage": STAGE_NAMES[name], "mean σ": st_["mean"], "std σ": st_["std"],
                         "min σ": st_["min"], "max σ": st_["max"],
                         "condition": "∞" if cond is None else f"{cond:.3g}", "values": st_["n"]})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={k: st.column_config.NumberColumn(format="%.4g")
                                    for k in ("mean σ", "std σ", "min σ", "max σ")})


def spectra_panel(doc: dict, key: str) -> None:
    from explorer.figures.spectra import layer_heatmap, spectrum_figure

    series = [(e["init"], s["singular_values"]) for e in doc["schemes"] if (s := _stage(e, "init"))]
    if not series:
        st.info("The spectra appear here as soon as the first scheme is done.")
        return
    shape = _stage(doc["schemes"][0], "init")["shape"]
    st.plotly_chart(spectrum_figure(series, title=f"input–output Jacobian ({shape[0]}×{shape[1]}) at "
                                                   f"{doc.get('inputs', {}).get('n', '?')} inputs"),
                    key=f"{key}.hist", config=PLOT_CONFIG)
    st.caption("Each curve is the distribution of the input–output Jacobian's singular values over the K inputs: "
               "dynamical isometry is a spike at σ = 1 — look at how far each init spreads from it." + _twins(doc))
    stats_table(doc)
    st.caption("Isometry means mean σ = 1 and std σ = 0; the condition number max σ / min σ is how unevenly the "
               "network stretches directions (∞: some direction is lost).")
    stage = st.radio("Per-layer spread", list(STAGE_NAMES), horizontal=True, format_func=STAGE_NAMES.get,
                     key=f"{key}.stage", help="which stage's layer maps to show")
    layers = [(e["init"], s["per_layer"]) for e in doc["schemes"] if (s := _stage(e, stage)) and s["per_layer"]]
    if not layers:
        st.caption("No per-layer spectra for this stage yet.")
        return
    route = next(s["route"] for e in doc["schemes"] if (s := _stage(e, stage)))
    st.plotly_chart(layer_heatmap(layers), key=f"{key}.heat.{stage}", config=PLOT_CONFIG)
    how = ("the lifting: the level-l block of D_l(x) T_l(x)" if route == "lifting"
           else "autograd on each layer's input → activation")
    st.caption(f"Each row is one layer's map ({how}), each column a quantile of its singular values: white is "
               "σ ≈ 1, blue σ < 1 (the signal shrinks), red σ > 1 (it grows) — find the layer where the signal dies.")
    skipped = [f"{l['layer']}: {l['note']}" for _, ls in layers for l in ls if l.get("mean") is None]
    if skipped:
        st.caption("Skipped: " + "; ".join(dict.fromkeys(skipped)))


def depth_panel(depth_doc: dict | None, key: str) -> None:
    from explorer.figures.spectra import depth_figure

    points = (depth_doc or {}).get("points") or []
    if not points:
        st.info("The depth sweep appears here point by point.")
        return
    w, a = depth_doc["config"]["width"], depth_doc["config"]["act"]
    st.plotly_chart(depth_figure(points), key=f"{key}.depth", config=PLOT_CONFIG)
    st.caption(f"Square {a} MLPs of width {w}: with orthogonal weights a deep linear net stays an exact isometry at "
               "any depth, while Gaussian and Kaiming weights widen the spread (error bars) and the condition "
               "number with every layer (past ~10¹⁵ the smallest σ is at float64's resolution).")


def pruning_panel(doc: dict, key: str) -> None:
    from explorer.figures.spectra import kept_figure, stages_figure

    done = [e for e in doc["schemes"] if e.get("pruning")]
    if not done:
        st.info("Kept fractions and the pruned spectrum appear here once pruning is done.")
        return
    bars, twins = [], []
    for e in done:
        p = e["pruning"]
        bars.append((f"{e['init']} · {p['criterion']}", p["kept_fraction"]))
        twins.append(False)
        if p.get("other"):
            bars.append((f"{e['init']} · {p['other']['criterion']}", p["other"]["kept_fraction"]))
            twins.append(True)
    st.plotly_chart(kept_figure(bars, done[0]["pruning"]["sparsity"], twins), key=f"{key}.kept", config=PLOT_CONFIG)
    agree = [f"{e['init']}: {100 * e['pruning']['other']['agreement']:.1f}%" for e in done if e["pruning"].get("other")]
    st.caption("The fraction of each layer's weights the criterion keeps: SNIP's global ranking spends the budget "
               "unevenly; hatched bars are the other SNIP (supervised ↔ unsupervised) on the same weights."
               + (f" Weights both SNIPs keep: {', '.join(agree)}." if agree else ""))
    st.plotly_chart(stages_figure(_panels(done, ("init", "pruned"))), key=f"{key}.after", config=PLOT_CONFIG)
    st.caption("Solid: at init; dotted: after pruning. Pruning most of the weights at init shrinks and spreads the "
               "singular values: the signal no longer propagates faithfully — what the isometry step below repairs.")
    stats_table(doc, ("init", "pruned"))


def isometry_panel(doc: dict, key: str) -> None:
    from explorer.figures.spectra import penalty_figure, stages_figure

    done = [e for e in doc["schemes"] if e.get("isometry")]
    if not done:
        st.info("The penalty curve grows here while the isometry step runs.")
        return
    curves = [(e["init"], e["isometry"]["penalty"], e["isometry"].get("steps")) for e in done]
    st.plotly_chart(penalty_figure(curves), key=f"{key}.penalty", config=PLOT_CONFIG)
    facts = [f"{e['init']} {e['isometry']['penalty'][0]:.3g} → {e['isometry']['penalty'][-1]:.3g}"
             for e in done if not e["isometry"].get("steps")]
    st.caption("The data-free penalty Σ_l ‖(C⊙W)ᵀ(C⊙W) − I‖_F falls as SGD moves only the surviving weights; a floor "
               "above 0 means the mask's pattern admits no exactly orthogonal layer." +
               (f" Before → after: {', '.join(facts)}." if facts else ""))
    if any(_stage(e, "isometry") for e in done):
        st.plotly_chart(stages_figure(_panels(done, ("pruned", "isometry"))), key=f"{key}.after", config=PLOT_CONFIG)
        st.caption("Dotted: after pruning; dashed: after the isometry step, which pulls the spectrum back towards "
                   "σ = 1 — mean nearer 1, std nearer 0 — without looking at any data.")
        stats_table(doc, ("pruned", "isometry"))
