"""Sessions are threads of one process: what one traces or builds must not change what another gets.

Every result computed with many threads at once is compared with the same result computed alone
(a fresh process cache each time): the same tracer, nodes, arcs and levels; the same weights; a
forward pass in another thread untouched by a trace. Nothing here waits on a clock.
"""

from __future__ import annotations

import importlib
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch import nn

from explorer import models
from explorer.concurrency import Progress, exclusive, once_per_key, reporting
from explorer.graph import build_dag
from explorer.graph.trace import trace

sys.path.insert(0, str(Path(__file__).resolve().parent / "models"))
import handwritten as H  # noqa: E402

_build = importlib.import_module("explorer.graph.build")
_load = importlib.import_module("explorer.models.load")

# the five views of the issue, a block view and the same graph twice (two tabs of one user)
SPECS = [("mlp_skip", "unit"), ("lottery_mlp", "unit"), ("resnet_tiny", "op"), ("densenet_tiny", "op"),
         ("cnn1d", "op"), ("resnet_tiny", "block"), ("mlp_skip", "op")]


def _forget() -> None:
    """A fresh process, as far as the library's caches go."""
    _build._cached.cache_clear()
    _load._cached.cache_clear()


def facts(dag) -> tuple:
    """What a person compares between two views of one graph: tracer, nodes, arcs, levels."""
    return (dag.granularity, dag.meta.get("tracer"),
            tuple((n.id, n.op, n.module, n.shape, n.params, n.macs) for n in dag.nodes),
            tuple((a.src, a.dst, a.label, a.kind) for a in dag.arcs),
            tuple(sorted(dag.level.items())))


@contextmanager
def _one_runtime_for_apptests():
    """Streamlit's AppTest keeps one process-wide Runtime: it sets `Runtime._instance` when a run starts and
    clears it when the run ends, so AppTests in threads at once found it cleared by another's end ("Runtime
    hasn't been created!", once in a full suite). While this is open, a cleared Runtime reads as the last
    one set. A real server has one Runtime for all its sessions, so this is the app's situation, not a mask."""
    from streamlit.runtime import Runtime

    original = Runtime.__dict__["instance"]
    last: list = []

    def instance(cls):
        if cls._instance is not None:
            last[:] = [cls._instance]
            return cls._instance
        if last:
            return last[0]
        return original.__func__(cls)

    Runtime.instance = classmethod(instance)
    try:
        yield
    finally:
        Runtime.instance = original


def at_once(calls: list, repeat: int = 1) -> list:
    """Run the zero-argument `calls` in threads released together; their results (or exceptions) in order.
    The calls may be AppTest runs (`_one_runtime_for_apptests`)."""
    with _one_runtime_for_apptests():
        return _at_once(calls, repeat)


def _at_once(calls: list, repeat: int) -> list:
    out: list = [None] * (len(calls) * repeat)
    gate = threading.Barrier(len(out))

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = calls[i % len(calls)]()
        except Exception as e:  # noqa: BLE001 - compared below, with its message
            out[i] = e
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(out))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.fixture(scope="module")
def alone():
    _forget()
    ref = {s: facts(build_dag(*s)) for s in SPECS}
    yield ref
    _forget()


@pytest.mark.parametrize("rnd", range(3))
def test_graphs_built_in_many_threads_at_once_equal_the_lone_ones(alone, rnd):
    _forget()
    got = at_once([lambda s=s: build_dag(*s) for s in SPECS], repeat=2)  # every view in two tabs
    for k, dag in enumerate(got):
        spec = SPECS[k % len(SPECS)]
        assert not isinstance(dag, Exception), f"{spec}: {type(dag).__name__}: {dag}"
        assert facts(dag) == alone[spec], f"{spec} differs from its lone build (tracer {dag.meta.get('tracer')})"
    for k, spec in enumerate(SPECS):  # two tabs asking at once get the one cached graph
        assert got[k] is got[k + len(SPECS)], spec


def test_models_built_at_once_get_the_weights_their_seed_gives_alone():
    seeds = [0, 1, 2, 3]
    lone = [models.load("mlp_skip", s).model.state_dict() for s in seeds]
    got = at_once([lambda s=s: models.load("mlp_skip", s).model.state_dict() for s in seeds], repeat=2)
    for k, sd in enumerate(got):
        ref = lone[k % len(seeds)]
        assert all(torch.equal(sd[n], ref[n]) for n in ref), f"seed {seeds[k % len(seeds)]}: other weights"


class ParamGate(nn.Module):
    """A branch on a parameter's value: torch.fx and torch.export refuse it, the recording traces it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        h = torch.relu(self.fc(x))
        return self.head(h * 2 if self.fc.weight.mean() > -1e9 else h)


def _fresh(cls) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    m = cls().eval()
    return m, (m.example_input() if hasattr(m, "example_input") else torch.randn(1, *getattr(m, "input_shape", (4,))))


@pytest.mark.parametrize("cls, tracer", [(H.TupleIn, "fx"), (H.InplaceSlice, "export"), (ParamGate, "hooks")])
def test_every_tracer_traces_the_shared_model_while_other_threads_run_it(cls, tracer):
    """fx patches nn.Module on the class, export swaps the module's parameters for fake ones, the
    recording hooks the model's modules: none of it may reach a forward pass in another thread, and
    those forwards may not reach the trace."""
    model, x = _fresh(cls)
    args = x if isinstance(x, tuple) else (x,)
    with torch.no_grad():
        ref_out = model(*args)
    lone = facts(trace(model, x))
    assert lone[1] == tracer
    done, errors = threading.Event(), []

    def run_it() -> None:
        while not done.is_set():
            try:
                with torch.no_grad():
                    out = model(*args)
                if not all(torch.equal(a, b) for a, b in zip(torch.utils._pytree.tree_leaves(out),
                                                             torch.utils._pytree.tree_leaves(ref_out))):
                    errors.append("a forward pass gave another output")
            except Exception as e:  # noqa: BLE001
                errors.append(f"{type(e).__name__}: {e}")

    runners = [threading.Thread(target=run_it) for _ in range(2)]
    for t in runners:
        t.start()
    try:
        traced = [facts(trace(model, x)) for _ in range(6)]
    finally:
        done.set()
        for t in runners:
            t.join()
    assert not errors, errors[:3]
    assert all(f == lone for f in traced), "a trace differs from the lone one"


def test_a_forward_of_another_model_is_untouched_by_a_trace():
    a, b = models.load("resnet_tiny"), models.load("cnn1d")
    with torch.no_grad():
        ref = b.model(b.example_input)
    lone = facts(trace(a.model, a.example_input))

    def forwards() -> list[str]:
        bad = []
        for _ in range(300):
            try:
                with torch.no_grad():
                    if not torch.equal(b.model(b.example_input), ref):
                        bad.append("another output")
            except Exception as e:  # noqa: BLE001
                bad.append(f"{type(e).__name__}: {e}")
        return bad
    got = at_once([lambda: facts(trace(a.model, a.example_input)), forwards, forwards])
    assert got[0] == lone
    assert got[1] == [] and got[2] == [], (got[1] + got[2])[:3]


# ---- the pieces ----------------------------------------------------------------------------------


def test_once_per_key_computes_a_key_once_when_threads_ask_together():
    calls = []

    @once_per_key(maxsize=4)
    def build(k):
        calls.append(k)
        return object()
    got = at_once([lambda: build("a")] * 8 + [lambda: build("b")] * 8)
    assert sorted(calls) == ["a", "b"]
    assert len({id(g) for g in got[:8]}) == 1 and len({id(g) for g in got[8:]}) == 1 and got[0] is not got[8]


def test_once_per_key_shares_a_failure_and_retries_it_later():
    calls = []

    @once_per_key(maxsize=4)
    def fails(k):
        calls.append(k)
        raise ValueError(f"no {k}")
    got = at_once([lambda: fails("x")] * 4)
    assert all(isinstance(g, ValueError) and str(g) == "no x" for g in got)
    with pytest.raises(ValueError):
        fails("x")
    assert len(calls) >= 2  # a failure is not kept: asked again, it is computed again


def test_once_per_key_keeps_the_last_maxsize_keys():
    calls = []

    @once_per_key(maxsize=2)
    def sq(n):
        calls.append(n)
        return n * n
    for n in (1, 2, 1, 3, 1, 2):
        sq(n)
    assert calls == [1, 2, 3, 2]  # 2 was the least recently used when 3 came


def test_a_wait_for_the_lock_is_reported_to_the_waiting_thread():
    p = Progress()
    held, entered = threading.Event(), threading.Event()
    seen: list[str] = []

    def holder() -> None:
        with exclusive():
            held.set()
            entered.wait(60)

    def waiter() -> None:
        with reporting(p):
            p.stage("tracing")
            with exclusive():
                pass

    h = threading.Thread(target=holder)
    h.start()
    held.wait(60)
    w = threading.Thread(target=waiter)
    w.start()
    for _ in range(6000):  # until the waiter reports its wait (a state, not a speed)
        seen.append(p.current)
        if "waiting" in seen[-1]:
            break
        threading.Event().wait(0.01)
    entered.set()
    h.join()
    w.join()
    assert "tracing — waiting: another session is tracing" in seen[-1]
    assert p.current == "tracing" and p.done


def test_the_gc_pause_lasts_until_the_last_thread_leaves():
    """Two sessions building unit graphs: the first to finish must not turn the collector back on under the
    other, and the last one out turns it back on."""
    import gc

    from explorer.concurrency.gc_pause import paused_gc

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a() -> None:
        with paused_gc():
            a_in.set()
            b_in.wait(60)
        a_out.set()

    def b() -> None:
        a_in.wait(60)
        with paused_gc():
            b_in.set()
            a_out.wait(60)
            seen["after a left"] = gc.isenabled()

    assert gc.isenabled()
    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert seen == {"after a left": False} and gc.isenabled()
