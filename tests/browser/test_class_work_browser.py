"""Per-student work on a class server, in a real browser (issue 19, phase 2): two students and the
teacher join; each student's Train page shows their comparison only, and a crafted link to the other's
group says "not yours" and shows none of it; the teacher's Class page puts both students' cuts and
verdicts side by side (screenshot: class_overview_teacher.png); a student opening it is told it is the
teacher's."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

from browser_harness import assert_no_errors, error_texts, screenshot, wait_idle
from conftest import CLASS_CODES

from explorer.server.roster import Roster
from explorer.training.config import RunConfig
from explorer.training.kinds import run_submission
from explorer.training.store import RunStore


def _join(browser, url: str, code: str, name: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page)
    page.get_by_role("heading", name="Join the class").wait_for(timeout=60_000)
    for _ in range(3):  # a cold server may redraw the form under the first try: then type and press again
        page.get_by_label("Class code", exact=True).fill(code)
        page.get_by_label("Display name", exact=True).fill(name)
        page.get_by_role("button", name="Join").click()
        wait_idle(page)
        assert not error_texts(page), error_texts(page)
        if "who=" in page.url:
            break
    screenshot(page, f"class_join_{name.split()[0].lower()}")
    token = parse_qs(urlparse(page.url).query)["who"][0]
    return ctx, page, token


def _finished(store: RunStore, cfg: RunConfig, owner: str) -> str:
    rid = store.submit(run_submission(cfg, owner=owner))
    store.claim("t", job=rid)
    store.log_metrics(rid, [{"step": 10 * (i + 1), "split": s, "loss": 1 - a, "acc": a, "wall_time": 0.0}
                            for i, a in enumerate((0.3, 0.6, 0.9)) for s in ("train", "test")], "t")
    store.finish(rid, "done", result={"params": 100, "kept_params": 100 if cfg.init == "dense" else 60,
                                       "sparsity": 0.0 if cfg.init == "dense" else 0.4}, worker_id="t")
    return rid


def _work(data, ids: dict[str, str]) -> dict[str, list[str]]:
    """Ada's and Bob's comparisons, as if trained, each with their own cut: their run ids."""
    s, runs = RunStore(data), {}
    base = RunConfig(model="mlp", dataset="mnist1d", steps=30)
    for name, nodes, masked in (("Ada", ["h1[0]", "h1[1]"], 0.25), ("Bob", ["h2[3]"], 0.5)):
        ex = data / "ex" / name
        ex.mkdir(parents=True)
        (ex / "spec.json").write_text(json.dumps({"format": "explorer-pruned/1", "model": "mlp",
                                                  "removed": {"nodes": nodes, "arcs": []}, "sparsity": {"mask": masked}}))
        g = f"{name.lower()}-group"
        runs[name] = [_finished(s, base.replace(group=g, label="dense"), ids[name]),
                      _finished(s, base.replace(group=g, init="ticket", pruned_dir=str(ex), label="ticket"), ids[name])]
    return runs


def _text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_two_students_and_the_teacher(class_server, browser):
    url, data = class_server
    ctxs = []
    try:
        joined = {}
        for code, name in ((CLASS_CODES["join"], "Ada"), (CLASS_CODES["join"], "Bob"), (CLASS_CODES["teacher"], "Ms Teach")):
            ctx, page, token = _join(browser, url, code, name)
            ctxs.append(ctx)
            joined[name] = (page, token)
        ids = {m.name: m.id for m in Roster(data).members()}
        runs = _work(data, ids)

        for me, other in (("Ada", "Bob"), ("Bob", "Ada")):
            page, token = joined[me]
            page.goto(f"{url}/Train?who={token}", wait_until="domcontentloaded")
            wait_idle(page)
            text = _text(page)
            assert all(r in text for r in runs[me]) and not any(r in text for r in runs[other]) and "Verdict" in text
            assert_no_errors(page)
            page.goto(f"{url}/Train?group={other.lower()}-group&who={token}", wait_until="domcontentloaded")
            wait_idle(page)
            assert any("belongs to another student" in e for e in error_texts(page))
            text = _text(page)  # their own comparison instead, nothing of the other's
            assert all(r in text for r in runs[me]) and not any(r in text for r in runs[other])
            screenshot(page, f"class_not_yours_{me.lower()}")

        page, token = joined["Ms Teach"]
        page.goto(f"{url}/Class?who={token}", wait_until="domcontentloaded")
        wait_idle(page, live=True)
        text = _text(page)
        assert "Pruning and verdict, side by side" in text
        for name, cut in (("Ada", "2 node(s), 0 arc(s) removed; 25% of weights masked"),
                          ("Bob", "1 node(s), 0 arc(s) removed; 50% of weights masked")):
            assert name in text and cut in text
        assert text.count("60 of 100") >= 2  # each ticket kept 60 of 100 (the verdicts say it too)
        assert_no_errors(page)
        screenshot(page, "class_overview_teacher")

        page, token = joined["Ada"]
        page.goto(f"{url}/Class?who={token}", wait_until="domcontentloaded")
        wait_idle(page)
        assert any("teacher's page" in e for e in error_texts(page)) and "Bob" not in _text(page)
    finally:
        for c in ctxs:
            c.close()


def test_a_student_whose_running_comparison_is_paused_is_told_why(class_server, browser):
    """On a class server a late classmate's short job trains in a pause of a running one
    (`explorer.training.interleave`): the running job's student sees their curves stop, and each of their
    runs says why (screenshot: class_paused_note.png)."""
    import os

    from explorer.jobs.context import beating
    from explorer.training.interleave import PAUSED
    from explorer.training.kinds import batch_submission

    url, data = class_server
    ctx, page, token = _join(browser, url, CLASS_CODES["join"], "Cy")
    try:
        cy = next(m.id for m in Roster(data).members() if m.name == "Cy")
        s = RunStore(data)
        cfgs = [RunConfig(model="mlp", dataset="mnist1d", steps=300, seed=k, group="cy-group", label=f"run {k}")
                for k in range(2)]
        jid = s.submit(batch_submission(cfgs, owner=cy))
        s.claim("t", os.getpid(), job=jid)  # a worker of this test's: the server's own has nothing to claim
        s.claim_children(jid, "t", os.getpid())
        rids = [c.run_id for c in cfgs]
        with beating(s, [jid, *rids], "t"):  # alive while the page reads it
            for r in rids:
                s.log_metrics(r, [{"step": st, "split": "train", "loss": 2.0 - st / 100, "acc": st / 200,
                                   "wall_time": 0.0} for st in (10, 20, 30)], "t")
            s.set_note(rids, PAUSED, "t")
            page.goto(f"{url}/Train?group=cy-group&who={token}", wait_until="domcontentloaded")
            wait_idle(page, live=True)
            page.get_by_text(PAUSED).first.wait_for(timeout=60_000)
            text = _text(page)
            assert text.count(PAUSED) == len(rids)  # beside each of the runs
            assert "The whole group: paused now" in text and "left." not in text  # no estimate from a stalled rate
            assert_no_errors(page)
            screenshot(page, "class_paused_note")
            for r in rids:
                s.finish(r, "cancelled", worker_id="t")
            s.finish(jid, "cancelled", worker_id="t")
    finally:
        ctx.close()
