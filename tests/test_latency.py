"""Latency measurement and the dense/masked/compacted table (no timing assertions: those live in bench/)."""

from __future__ import annotations

import pytest
import torch

from explorer import models
from explorer.pruning.compact import compact, masked_copy
from explorer.pruning.criteria import propose
from explorer.pruning.latency import NOTE, Latency, LatencyError, compare, measure


def test_measure_reports_median_and_iqr_and_restores_threads():
    before = torch.get_num_threads()
    lat = measure(torch.nn.Linear(16, 16), torch.zeros(4, 16), warmup=2, repeats=7, threads=1)
    assert isinstance(lat, Latency) and lat.repeats == 7 and lat.threads == 1
    assert lat.median_ms > 0 and lat.iqr_ms >= 0
    assert torch.get_num_threads() == before


def test_measure_keeps_the_model_mode():
    m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5)).train()
    measure(m, torch.zeros(1, 4), warmup=0, repeats=1)
    assert m.training


def test_measure_refuses_bad_parameters():
    with pytest.raises(LatencyError, match="repeats"):
        measure(torch.nn.Linear(2, 2), torch.zeros(1, 2), repeats=0)


def test_compare_rows_and_note():
    lm = models.load("cnn1d")
    x = torch.randn(32, 40)
    p = propose(lm, "magnitude", 0.5, target="units")
    rows = compare(lm.model, masked_copy(lm.model, p.mask), compact(lm.model, p.mask, lm.example_input), x,
                   warmup=1, repeats=5, threads=1)
    assert [r["form"] for r in rows] == ["dense", "masked", "compacted"]
    for r in rows:
        assert {"params", "nonzero_params", "macs", "latency_ms", "speedup"} <= set(r)
        assert r["latency_ms"] > 0
    dense, masked, comp = rows
    assert dense["speedup"] == pytest.approx(1.0)
    assert masked["macs"] == dense["macs"] and masked["nonzero_params"] < dense["nonzero_params"]
    assert comp["macs"] < dense["macs"] and comp["params"] < dense["params"]
    assert "mask" in NOTE and "not speed" in NOTE


@pytest.mark.parametrize("granularity", ["unit", "op"])
def test_the_prune_pipeline_counts_each_forms_macs_as_a_fresh_trace_does(tmp_path, granularity):
    """The pipeline passes the dense MACs it knows (one trace per graph, also the masked copy's) instead of
    tracing each form again: the table must still say what tracing each form says."""
    from explorer.graph import build_dag
    from explorer.pruning.cost import count_macs
    from explorer.pruning.pipeline import run
    from explorer.pruning.selection import Selection

    lm = models.load("mlp_skip")
    dag = build_dag(lm, granularity)
    if granularity == "unit":  # four hidden units: the masked form
        top = max(dag.level.values())
        sel = Selection("unit", tuple(n.id for n in dag.nodes if 0 < dag.level[n.id] < top)[:4])
    else:  # a skip arc (it spans levels): the rewritten form
        skip = next(a for a in dag.arcs if dag.level[a.dst] - dag.level[a.src] > 1)
        sel = Selection("op", (), (f"{skip.src}->{skip.dst}",))
    r = run(lm, dag, selection=sel, out=tmp_path, spec="mlp_skip", seed=0, repeats=3, onnx=False)
    forms = {"dense": lm.model, r.table[1]["form"]: r.pruned.model, "compacted": r.compacted}
    for row in r.table:
        assert row["macs"] == count_macs(forms[row["form"]], lm.example_input), row["form"]
