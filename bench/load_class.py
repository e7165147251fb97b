"""A class under load: N simulated students against a real class server on loopback, each doing the
loop of issue 19 through the UI: join with the class code, open a lesson link, open Prune on a zoo
model with a selection of their own (a different set of hidden units each), press *Prune*, press
*Retrain: ticket vs dense vs controls* (the quick comparison starts on the Train page), and follow
the live page until its verdict.

    python3 bench/load_class.py --students 10 --browsers 2 [--model mlp] [--time-limit 600] [--json F]

Students are protocol-level clients (`bench/st_client.py`: Streamlit's own WebSocket messages, as a
browser sends them, fragment timers included) plus `--browsers` real Chromium contexts doing the same
clicks. All start at once (a burst; `--ramp S` spreads the starts over S seconds), once the server has
settled after the teacher's first visit (its background imports done, as when a class joins minutes after
the teacher started the server; the wait is reported as `server_settled_s`). Bounded: at most
`--students` + `--browsers` sessions and `--time-limit` seconds; a student not done by then counts as
an error. It reports p50/p95 of page opens, of interactions (join, prune, retrain) and of the live
page's refreshes; each student's time from pressing *Retrain* to the first curve point and to the
verdict; the time until every verdict; errors; the server's memory (RSS of the server and its workers,
peak and end) and its CPU seconds (per student: what a burst queues on, steadier than the latencies); how
the training was scheduled (batched jobs, merged, let in during a pause); and cross-student leaks: another
student's comparison group or display name on a student's page (each student's pages list their own work
only, so this must be 0). A protocol student's page is read in full (the group list's options included); a
browser's as its text on screen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app_server import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from st_client import AppError, Session  # noqa: E402

JOIN, TEACHER = "maple-42", "oak-tree-7"
LESSON = "lesson=dag&step=1&v=1"
UNITS = 10  # hidden units each student removes


@dataclass
class Student:
    name: str
    sel: str  # the link value of their selection
    browser: bool = False
    pages: dict[str, float] = field(default_factory=dict)  # page open -> seconds
    actions: dict[str, float] = field(default_factory=dict)  # interaction -> seconds
    refreshes: list[float] = field(default_factory=list)  # live fragment reruns, seconds
    first_point: float | None = None  # seconds from pressing Retrain
    verdict: float | None = None
    verdict_at: float | None = None  # monotonic
    group: str = ""
    seen_groups: list[str] = field(default_factory=list)
    seen_text: str = ""
    errors: list[str] = field(default_factory=list)


def selections(model: str, n: int) -> list[str]:
    """n different valid selections of `UNITS` hidden units of `model` (unit level), as link values."""
    from explorer import models
    from explorer.graph import build_dag
    from explorer.links.selection import encode_selection
    from explorer.pruning.selection import Selection
    from explorer.pruning.validity import check

    dag = build_dag(models.load_cached(model, 0), granularity="unit")
    top = max(dag.level.values())
    hidden = [nd.id for nd in dag.nodes if 0 < dag.level[nd.id] < top]
    out, seen = [], set()
    rng = random.Random(0)
    while len(out) < n:
        ids = tuple(sorted(rng.sample(hidden, UNITS)))
        sel = Selection.from_ids(dag, ids)
        if ids not in seen and check(dag, sel).ok:
            seen.add(ids)
            out.append(encode_selection(sel))
    return out


# ---- a protocol-level student -------------------------------------------------------------------------------
async def protocol_student(url: str, s: Student, model: str, deadline: float, timeout: float) -> None:
    async with Session(url, timeout=timeout) as c:
        s.pages["join form"] = await c.open("")
        s.actions["join"] = await c.submit({"join.code": JOIN, "join.name": s.name}, "join")
        _errors(c, s)
        who = dict(q.split("=", 1) for q in c.query.split("&") if "=" in q).get("who")
        if not who:
            raise AppError("joining gave no identity in the link")
        s.pages["lesson"] = await c.open("Learn", f"{LESSON}&who={who}")
        _errors(c, s)
        s.pages["prune"] = await c.open("Prune", f"model={model}&g=unit&sel={s.sel}&who={who}")
        s.actions["prune"] = await c.click("prune.btn_prune")
        _errors(c, s)
        t0 = time.monotonic()
        s.actions["retrain"] = await c.click("prune.btn_retrain")
        _errors(c, s)
        while time.monotonic() < deadline:
            if s.first_point is None and _has_point(c.figure("train.curves")):
                s.first_point = time.monotonic() - t0
            texts = c.texts()
            if any(x.startswith("**Verdict.**") and "Waiting for" not in x for x in texts) \
                    and any("all finished" in x for x in texts):
                s.verdict, s.verdict_at = time.monotonic() - t0, time.monotonic()
                break
            took = await c.tick()
            if took is not None:
                s.refreshes.append(took)
            else:
                await asyncio.sleep(0.05)
        box = next((e for t, e in c.elements.values() if t == "selectbox" and e.label == "Comparison group"), None)
        if box is not None:
            s.seen_groups = list(box.options)
            s.group = box.options[box.default] if box.options else ""
        s.seen_text = "\n".join(c.texts())
        _errors(c, s)


def _errors(c: Session, s: Student) -> None:
    """What the page shows as an error (an exception, a red alert), each once."""
    for e in c.exceptions + [e.body for t, e in c.elements.values() if t == "alert" and e.format == 1]:
        if e not in s.errors:
            s.errors.append(e)


def _has_point(fig: dict | None) -> bool:
    return bool(fig) and any(_length(t.get("x")) for t in fig.get("data", []))


def _length(v) -> int:
    """Points in a figure's array: a list, or plotly's binary form of a numpy array ({"dtype", "bdata"})."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        import numpy as np

        return len(base64.b64decode(v["bdata"])) // np.dtype(v["dtype"]).itemsize
    return len(v or [])


# ---- a student in Chromium -----------------------------------------------------------------------------------
_IDLE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  const st = a && a.getAttribute('data-test-script-state');
  return !!a && !['running', 'rerunRequested', 'initial'].includes(st) &&
    !document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'); }"""
# plotly's decoded traces (`_fullData`): `data` may hold a typed array as {dtype, bdata}, which has no length
_POINT_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].some(p => (p._fullData || []).some(t => t.x && t.x.length))"""


async def _idle(page, t0: float) -> float:
    quiet = 0
    while quiet < 2:
        await page.wait_for_timeout(250)
        quiet = quiet + 1 if await page.evaluate(_IDLE_JS) else 0
    return time.monotonic() - t0 - 0.5  # the two quiet checks are not the page's time


async def browser_student(browser, url: str, s: Student, model: str, deadline: float) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        p = await ctx.new_page()
        p.set_default_timeout(max(1.0, deadline - time.monotonic()) * 1000)  # a loaded server: the class's limit
        t = time.monotonic()
        await p.goto(url, wait_until="domcontentloaded")
        await p.get_by_label("Class code", exact=True).wait_for()
        s.pages["join form"] = await _idle(p, t)
        await p.get_by_label("Class code", exact=True).fill(JOIN)
        await p.get_by_label("Display name", exact=True).fill(s.name)
        t = time.monotonic()
        await p.get_by_role("button", name="Join").click()
        await p.wait_for_url(re.compile(r"who="))
        s.actions["join"] = await _idle(p, t)
        who = re.search(r"who=([^&]+)", p.url).group(1)
        for name, path in (("lesson", f"Learn?{LESSON}"), ("prune", f"Prune?model={model}&g=unit&sel={s.sel}")):
            t = time.monotonic()
            await p.goto(f"{url}/{path}&who={who}", wait_until="domcontentloaded")
            s.pages[name] = await _idle(p, t)
        t = time.monotonic()
        await p.get_by_role("button", name="Prune", exact=True).click()
        await p.get_by_role("button", name="Retrain: ticket vs dense vs controls").wait_for()
        s.actions["prune"] = await _idle(p, t)
        t0 = time.monotonic()
        await p.get_by_role("button", name="Retrain: ticket vs dense vs controls").click()
        await p.get_by_text(re.compile(r"queued or running|all finished")).first.wait_for()  # the live page is
        s.actions["retrain"] = time.monotonic() - t0  # drawn (it reruns every 0.5 s after: never idle till the end)
        while time.monotonic() < deadline:
            if s.first_point is None and await p.evaluate(_POINT_JS):
                s.first_point = time.monotonic() - t0
            if await p.get_by_text(re.compile("all finished")).count() \
                    and not await p.get_by_text(re.compile("Waiting for")).count():
                s.verdict, s.verdict_at = time.monotonic() - t0, time.monotonic()
                # a comparison that ran between two live refreshes shows its first points with the verdict:
                # the chart is drawn a moment after the text, and the student's first point is then
                while s.first_point is None and time.monotonic() < deadline:
                    if await p.evaluate(_POINT_JS):
                        s.first_point = time.monotonic() - t0
                    else:
                        await p.wait_for_timeout(100)
                break
            await p.wait_for_timeout(250)
        s.seen_text = await p.inner_text("body")
        box = p.get_by_role("combobox", name="Comparison group")
        if await box.count():
            s.group = await box.first.input_value()
        s.errors += [await e.inner_text() for e in await p.locator(
            '[data-testid="stException"], [data-testid="stAlertContentError"]').all()]
    finally:
        await ctx.close()


# ---- server memory ----------------------------------------------------------------------------------------------
class Memory:
    """RSS of the server process, its children and the worker serving its data folder, sampled each second."""

    def __init__(self, data_dir: Path):
        self.data_dir, self.pid = str(data_dir), 0
        self.peak = self.last = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        procs: dict[int, tuple[int, int, str]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = _stat(int(d))
                    cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    procs[int(d)] = (int(stat[1]), int(stat[21]) * os.sysconf("SC_PAGE_SIZE"), cmd)
                except (OSError, IndexError, ValueError):
                    continue
        mine, grew = {self.pid}, True
        while grew:
            more = {p for p, (pp, _, cmd) in procs.items() if pp in mine or self.data_dir in cmd} - mine
            mine |= more
            grew = bool(more)
        return sum(procs[p][1] for p in mine if p in procs)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            if self.pid:
                self.last = self._rss()
                self.peak = max(self.peak, self.last)


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, ppid, ..., utime at 11, rss at 21)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far; 0 when it is gone."""
    try:
        f = _stat(pid)
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 2)


async def run_class(url: str, students: list[Student], model: str, limit: float, ramp: float, timeout: float) -> None:
    deadline = time.monotonic() + limit

    async def one(i: int, s: Student, browser) -> None:
        await asyncio.sleep(ramp * i / max(1, len(students)))
        try:
            if s.browser:
                await asyncio.wait_for(browser_student(browser, url, s, model, deadline), deadline - time.monotonic())
            else:
                await asyncio.wait_for(protocol_student(url, s, model, deadline, timeout), deadline - time.monotonic())
        except Exception as e:  # noqa: BLE001 - every failure is a figure of the run
            s.errors.append(f"{type(e).__name__}: {e}")
        if s.verdict is None and not s.errors:
            s.errors.append(f"no verdict within the {limit:.0f} s limit")

    browser = pw = None
    if any(s.browser for s in students):
        from playwright.async_api import async_playwright

        pw = await async_playwright().start()
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        await asyncio.gather(*(one(i, s, browser) for i, s in enumerate(students)))
    finally:
        if browser is not None:
            await browser.close()
            await pw.stop()


def report(students: list[Student], t_start: float, mem: Memory) -> dict:
    pages = [v for s in students for v in s.pages.values()]
    acts = [v for s in students for v in s.actions.values()]
    refresh = [v for s in students for v in s.refreshes]
    groups = {s.name: s.group for s in students if s.group}
    leaks = 0
    for s in students:
        others = [o for o in students if o is not s]
        leaks += sum(1 for o in others if o.group and (o.group in s.seen_groups or o.group in s.seen_text))
        leaks += sum(1 for o in others if re.search(rf"\b{re.escape(o.name)}\b", s.seen_text))
    done = [s for s in students if s.verdict is not None]
    first = [s.first_point for s in students if s.first_point is not None]
    return {
        "students": len(students), "browsers": sum(s.browser for s in students),
        "verdicts": len(done), "errors": sum(len(s.errors) for s in students),
        "error_examples": sorted({e.splitlines()[0][:200] for s in students for e in s.errors})[:8],
        "page_p50_s": pct(pages, 0.5), "page_p95_s": pct(pages, 0.95),
        "interaction_p50_s": pct(acts, 0.5), "interaction_p95_s": pct(acts, 0.95),
        "refresh_p50_s": pct(refresh, 0.5), "refresh_p95_s": pct(refresh, 0.95),
        "first_point_p50_s": pct(first, 0.5), "first_point_max_s": round(max(first), 2) if first else None,
        "first_point_missing": len(students) - len(first),  # students whose page never showed a point: say so
        "verdict_p50_s": pct([s.verdict for s in done], 0.5),
        "all_verdicts_s": round(max(s.verdict_at for s in done) - t_start, 1) if len(done) == len(students) else None,
        "server_rss_peak_mb": round(mem.peak / 2**20), "server_rss_end_mb": round(mem.last / 2**20),
        "leaks": leaks, "distinct_groups": len(set(groups.values())),
        "per_student": [{"name": s.name, "browser": s.browser, "pages": s.pages, "actions": s.actions,
                         "first_point_s": s.first_point, "verdict_s": s.verdict, "errors": s.errors[:3]}
                        for s in students],
    }


def scheduling(data: Path) -> dict:
    """How the server scheduled the class's training, read from its store: the batched jobs that trained
    (each possibly with others merged into it), how many were merged, and how many ran in a pause of a
    running one (`explorer.training.interleave`), with the runs they trained."""
    from explorer.jobs.store import JobStore
    from explorer.training.kinds import BATCH

    store = JobStore(data)
    roots = [j for j in store.list_jobs(kind=BATCH) if j.parent is None]
    results = {j.id: j.result or {} for j in roots}
    # a job that trained others names them (a list); each of those names the job that trained it (its id)
    merged = {j for j, r in results.items() if isinstance(r.get("trained_with"), str)}
    paused = [p for r in results.values() for p in r.get("paused_for", ())]

    def runs(jid: str) -> int:
        return len(store.list_jobs(parent=jid))

    return {"batched_jobs": len(roots) - len(merged), "merged_into_another": len(merged),
            "run_in_a_pause": len(paused),
            "runs_per_job": [runs(j) + sum(runs(m) for m in results[j].get("trained_with") or ())
                             for j in results if j not in merged]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=10, help="protocol-level students (at most 60)")
    ap.add_argument("--browsers", type=int, default=2, help="students in real Chromium contexts (at most 4)")
    ap.add_argument("--model", default="mlp", help="the zoo model every student prunes (unit level)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds for the whole class")
    ap.add_argument("--ramp", type=float, default=0.0, help="spread the students' starts over this many seconds")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds one page run may take")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    ap.add_argument("--root", default="", help="serve the app of another checkout (e.g. the code before a change, "
                                               "for a before/after in the same hour); default this one")
    a = ap.parse_args()
    n, b = min(a.students, 60), min(a.browsers, 4)
    sels = selections(a.model, n + b)
    students = [Student(f"Student {i + 1:02d}", sels[i], browser=i >= n) for i in range(n + b)]
    data = Path(tempfile.mkdtemp(prefix="load_class_"))
    mem = Memory(data)
    mem.thread.start()
    root = {"root": Path(a.root).resolve()} if a.root else {}
    with serve(data, classroom=(JOIN, TEACHER), on_start=lambda pid: setattr(mem, "pid", pid), **root) as url:
        asyncio.run(_warm(url))
        settled = _settle(mem.pid)
        print(f"class server at {url}; {n} protocol students + {b} in Chromium, model {a.model}, "
              f"limit {a.time_limit:.0f} s", flush=True)
        t_start, cpu0, server0 = time.monotonic(), time.process_time(), cpu_s(mem.pid)
        asyncio.run(run_class(url, students, a.model, a.time_limit, a.ramp, a.timeout))
        out = report(students, t_start, mem)
        # the server's one Python thread is what a burst queues on: its CPU per student is the figure to lower
        out["server_cpu_s"] = round(cpu_s(mem.pid) - server0, 1)
        out["server_cpu_per_student_s"] = round(out["server_cpu_s"] / len(students), 2)
        out["jobs"] = scheduling(data)
        out["harness_cpu_s"] = round(time.process_time() - cpu0, 1)
        out["server_settled_s"] = settled
        out["wall_s"] = round(time.monotonic() - t_start, 1)
    mem.stop.set()
    print(json.dumps({k: v for k, v in out.items() if k != "per_student"}, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0 if out["errors"] == 0 and out["verdicts"] == len(students) else 1


def _settle(pid: int, quiet_cpu_s: float = 0.05, limit_s: float = 90.0) -> float:
    """Wait until the server is idle (under `quiet_cpu_s` of CPU in a second: its background imports of torch
    and, on a class server, what *Prune* needs, are done), as a class server is when its students join minutes
    after the teacher started it; the seconds waited."""
    def cpu() -> float:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    t0 = time.monotonic()
    last = cpu()
    while time.monotonic() - t0 < limit_s:
        time.sleep(1.0)
        now = cpu()
        if now - last < quiet_cpu_s:
            break
        last = now
    return round(time.monotonic() - t0, 1)


async def _warm(url: str) -> None:
    """One session runs app.py first, as a teacher opening the class would (the server then routes deep
    links through the app's navigation, and starts its background imports: `_settle` waits for them)."""
    async with Session(url, timeout=300) as c:
        await c.open("")


if __name__ == "__main__":
    sys.exit(main())
