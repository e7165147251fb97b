"""The playground: settings, data, the network with skip arcs, and the job that trains it live —
frames, pause and resume (bit for bit the uninterrupted run), prune-and-continue, the timeline."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from explorer.graph.unit import unit_dag
from explorer.playground.config import PlaygroundConfig, PlaygroundConfigError, url_fields
from explorer.playground.control import child, play, run_id, step
from explorer.playground.data import BOX, PlaygroundDataError, make_data, read_points
from explorer.playground.features import feature_plane, features
from explorer.playground.frame import load_weights
from explorer.playground.job import KIND, UNWATCHED_S
from explorer.playground.net import build_net
from explorer.playground.snapshot import check_prune, snapshot, structure_dag
from explorer.playground.timeline import timeline
from explorer.regions.encoding import decode
from explorer.regions.partition import partition_of
from explorer.jobs.backends import InlineBackend
from explorer.jobs.rows import WATCHED, Submission
from explorer.training.store import RunStore

SMALL = dict(hidden=(5, 5), skips=("0-2",), steps=60, frame_every=20, dataset="circle", batch_size=10)


def test_config_round_trip_and_errors():
    c = PlaygroundConfig(**SMALL, points=(), pruned=("h1[0]",))
    back = PlaygroundConfig.from_dict(c.to_dict())
    assert back == c and back.config_id == c.config_id
    assert {"points", "pruned", "parent", "trial"}.isdisjoint(url_fields())
    for bad, word in ((dict(noise=80), "noise"), (dict(hidden=(17,)), "hidden"), (dict(features=()), "features"),
                      (dict(skips=("0-9",)), "skip"), (dict(activation="gelu"), "activation"),
                      (dict(dataset="csv"), "csv")):
        with pytest.raises(PlaygroundConfigError, match=word):
            PlaygroundConfig(**bad)


@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "spiral", "moons"])
def test_datasets_follow_the_settings(name):
    d = make_data(PlaygroundConfig(dataset=name, train_ratio=70, n_points=200, seed=3))
    assert len(d.y_train) == 140 and len(d.y_test) == 60 and d.n_classes == 2
    y = torch.cat([d.y_train, d.y_test])
    assert set(y.tolist()) == {0, 1}
    x = torch.cat([d.x_train, d.x_test])
    assert x.abs().max() <= 6.5 and d.box == BOX
    again = make_data(PlaygroundConfig(dataset=name, train_ratio=70, n_points=200, seed=3))
    assert torch.equal(again.x_train, d.x_train)
    noisy = make_data(PlaygroundConfig(dataset=name, train_ratio=70, n_points=200, seed=3, noise=50))
    assert not torch.equal(noisy.x_train, d.x_train)


def test_user_csv_points():
    pts = read_points(b"x1,x2,label\n0,0,0\n1,1,1\n2,0,2\n0,2,1\n")
    c = PlaygroundConfig(dataset="csv", points=pts)
    assert c.n_classes == 3 and c.widths[-1] == 3
    d = make_data(c)
    assert len(d.y_train) + len(d.y_test) == 4 and d.box[0] < 0 < 2 < d.box[1]
    with pytest.raises(PlaygroundDataError, match="2-D"):
        read_points(b"1,2,3,0\n4,5,6,1\n")
    with pytest.raises(PlaygroundDataError, match="two classes"):
        read_points(b"1,2,0\n3,4,0\n")
    with pytest.raises(ValueError, match="row 1"):
        read_points(b"1,2,0\n3,x,1\n")


def test_features_and_their_plane():
    x = np.array([[1.5, -2.0]])
    f = features(x, ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"))
    assert np.allclose(f, [[1.5, -2.0, 2.25, 4.0, -3.0, np.sin(1.5), np.sin(-2.0)]])
    assert feature_plane(("x1", "x2"), BOX).linear and not feature_plane(("x1", "x1^2"), BOX).linear
    assert np.allclose(feature_plane(("x2", "x1"), BOX).inputs(x), [[-2.0, 1.5]])


def test_skip_arcs_add_before_the_activation_and_span_levels():
    cfg = PlaygroundConfig(hidden=(3, 3), skips=("0-2", "1-3", "0-3"))
    net = build_net(cfg)
    x = torch.randn(7, 2)
    h1 = torch.relu(net.h1(x))
    h2 = torch.relu(net.h2(h1) + net.skip0_2(x))
    out = net.out(h2) + net.skip1_3(h1) + net.skip0_3(x)
    assert torch.allclose(net(x), out, atol=1e-6)
    dag = unit_dag(net, torch.zeros(1, 2), "pg")
    spans = {(a.src[:2], a.dst[:2]) for a in dag.arcs if dag.level[a.dst] - dag.level[a.src] > 1}
    assert spans == {("x[", "h2"), ("h1", "ou"), ("x[", "ou")}


def test_the_linear_activation_bends_nowhere():
    net = build_net(PlaygroundConfig(hidden=(4, 4), activation="linear"))
    P = partition_of(net, feature_plane(("x1", "x2"), BOX))
    assert len(P) == 1 and P.units == ()


def _frames(store, jid):
    return timeline(store, jid)


def test_the_job_emits_frames_with_exact_regions(tmp_path, one_thread):
    store = RunStore(tmp_path)
    cfg = PlaygroundConfig(**SMALL)
    job = InlineBackend(store).run(KIND, cfg)
    fr = _frames(store, job.id)
    assert job.status == "done" and [f["step"] for f in fr] == [0, 20, 40, 60]
    for f in fr:
        v = decode(f["regions"])
        assert f["exact"] and v.exact and f["count"] == v.regions == f["per_level"][-1]
        assert abs(v.cells.areas().sum() - 144.0) < 1e-3  # the cells tile the 12 x 12 square
        assert 0 <= f["test_acc"] <= 1
    assert fr[0]["distance"] is None and any(f["distance"] is not None for f in fr)
    net = build_net(cfg)
    load_weights(net, fr[-1]["weights"])
    P = partition_of(net, feature_plane(cfg.features, BOX))
    assert abs(len(P) - fr[-1]["count"]) <= 1  # float32 weights in the frame, float64 partition


def test_pause_and_resume_give_the_uninterrupted_run(tmp_path, one_thread):
    cfg = PlaygroundConfig(**SMALL)
    a = RunStore(tmp_path / "a")
    whole = _frames(a, InlineBackend(a).submit(KIND, cfg))
    b = RunStore(tmp_path / "b")
    be = InlineBackend(b)
    jid = play(be, cfg, until_step=20)  # the pause point is the job's control message, not a side file
    assert b.get_job(jid).status == "cancelled" and [f["step"] for f in _frames(b, jid)] == [0, 20]
    assert b.get_job(jid).error == "paused at step 20" and not list((tmp_path / "b" / "jobs" / jid).glob("*.json"))
    step(be, cfg, 20)  # one frame more
    assert [f["step"] for f in _frames(b, jid)] == [0, 20, 40] and b.control(jid) == {"until_step": 40}
    play(be, cfg)
    resumed = _frames(b, jid)
    assert b.get_job(jid).status == "done" and [f["step"] for f in resumed] == [0, 20, 40, 60]
    assert [f["weights"] for f in resumed] == [f["weights"] for f in whole]
    assert [f["count"] for f in resumed] == [f["count"] for f in whole]


def test_a_run_no_page_shows_pauses_itself_and_play_resumes_it(tmp_path, one_thread):
    """A closed tab: the page stopped saying it shows the run (`JobStore.watch`) long ago, so the run pauses at its
    next frame with the reason, keeping its state; Play resumes it to the uninterrupted run's end."""
    cfg = PlaygroundConfig(**SMALL)
    a = RunStore(tmp_path / "a")
    whole = _frames(a, InlineBackend(a).submit(KIND, cfg))
    b = RunStore(tmp_path / "b")
    be = InlineBackend(b)
    jid = be.submit(KIND, cfg, control={WATCHED: time.time() - 10 * UNWATCHED_S})
    job = b.get_job(jid)
    assert job.status == "cancelled" and [f["step"] for f in _frames(b, jid)] == [0]
    assert job.error.startswith("paused at step 0: no page showed it") and "Play resumes it" in job.error
    play(be, cfg)  # a new submission carries no stale stamp
    assert b.get_job(jid).status == "done"
    assert [f["weights"] for f in _frames(b, jid)] == [f["weights"] for f in whole]


def test_watch_stamps_live_jobs_and_keeps_their_control(tmp_path):
    store = RunStore(tmp_path)
    cfg = PlaygroundConfig(**SMALL)
    jid = store.submit(Submission(KIND, cfg.to_dict(), control={"until_step": 40}))
    store.watch([jid, "no-such-job"], now=123.0)
    assert store.control(jid) == {"until_step": 40, WATCHED: 123.0}
    store.request_cancel(jid)  # a queued job ends at once
    store.watch([jid], now=456.0)
    assert store.control(jid)[WATCHED] == 123.0  # an ended job is not stamped


def test_a_prune_continues_the_run_without_the_unit(tmp_path, one_thread):
    store = RunStore(tmp_path)
    cfg = PlaygroundConfig(**SMALL)
    parent = InlineBackend(store).submit(KIND, cfg)
    s = snapshot(cfg, _frames(store, parent)[1])
    victim = next(u for u in decode(s.frame["regions"]).units if u.startswith("h1"))
    assert check_prune(s, [victim]).ok
    kid = child(cfg, parent, 20, [victim])
    assert kid.parent == parent and kid.pruned == (victim,)
    job = InlineBackend(store).run(KIND, kid)
    fr = _frames(store, job.id)
    assert [f["step"] for f in fr] == [0, 20, 20, 40, 60]  # the parent's history, then the child from step 20
    before, after = fr[1], fr[2]
    assert victim in decode(before["regions"]).units and victim not in decode(after["regions"]).units
    assert after["count"] <= before["count"]
    net = build_net(cfg)
    load_weights(net, fr[-1]["weights"])
    k = int(victim[3:-1])
    w1, w2 = net.h1.weight.detach(), net.h2.weight.detach()
    assert float(w1[k].abs().sum()) == 0.0 and float(w2[:, k].abs().sum()) == 0.0
    assert all(victim not in decode(f["regions"]).units for f in fr[2:])


def test_prunes_that_break_the_network_are_refused(tmp_path, one_thread):
    cfg = PlaygroundConfig(**SMALL)
    store = RunStore(tmp_path)
    jid = play(InlineBackend(store), cfg, until_step=0)
    s = snapshot(cfg, _frames(store, jid)[0])
    v = check_prune(s, [f"h2[{k}]" for k in range(5)])
    assert not v.ok and v.reasons
    assert structure_dag(cfg).level["h2[0]"] == 2 and run_id(cfg) == jid
