"""Browsing big architectures, side by side in one run (README, Browsing): the CLI against a bare
`torch.export.export`, the Architecture page's module tree, and Model Explorer and Netron on the same
ONNX export, all in headless Chromium.

    python bench/bench_browse.py [--layers 128] [--out bench/out/browse] [--skip-third-party]

1. CLI, fresh processes: `python -c "build the model; torch.export.export(...)"` (the bare baseline), then
   `python -m explorer levels FILE:Llama128 --granularity block --json` (graph, levels and block tree) on an
   empty data folder (cold: sandbox child traces, parent reads the cached graph) and again (cache warm).
2. Our app (`streamlit run app.py`, server warmed on app.py, the trace cached by step 1): time from `goto` of
   the Architecture page's link to the module tree's first picture (its SVG preview, or the plot if that came
   first) and to the module tree drawn by plotly (plotly's data holds the rolled-up run), from a
   click on the run to its 128 layers drawn, and from the search `model.layers.117.self_attn` to that module
   drawn. resnet50 (torchvision) the same way, with `layer1` opened.
3. Netron (`netron.start(file, address=('127.0.0.1', port), browse=False)`) and Model Explorer
   (`python -m model_explorer --host 127.0.0.1 ... --extensions model_explorer_onnx`) on the ONNX export of
   the same models (`torch.onnx.export`, dynamo): time to the first drawn graph (Netron: SVG nodes in the
   DOM; Model Explorer draws with WebGL: the canvas stops changing), and to an expanded block (Model
   Explorer: a click on the expand icon of the graph's top layer, until the canvas settles; Netron draws the whole graph
   flat, so it has no block to expand).

Every request that leaves 127.0.0.1 is blocked (Playwright route) and listed in the output.
Numbers go to OUT/browse.json and a markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_server import ROOT, chromium, serve  # noqa: E402

MODEL_FILE = ROOT / "bench" / "models" / "llama_decoder.py"
LIMIT_S = 900.0  # a state to wait for at most this long (a cold trace on loaded cores)
THIRD_PARTY_LIMIT_S = 300.0  # a viewer that has drawn nothing by then is reported as "> 300 s"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed: {r.stderr[-800:]}")
    return dt


def cli(layers: int, work: Path) -> dict:
    cls = f"Llama{layers}"
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    (data / "models").mkdir(parents=True)
    shutil.copy(MODEL_FILE, data / "models" / MODEL_FILE.name)
    spec = f"{data / 'models' / MODEL_FILE.name}:{cls}"
    env = {**os.environ, "EXPLORER_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    export = ("import sys, torch; sys.path.insert(0, %r); import llama_decoder as L; m = L.%s(); "
              "torch.export.export(m, (m.example_input(),))" % (str(MODEL_FILE.parent), cls))
    out = {"load_before": load()}
    out["torch_export_s"] = timed([sys.executable, "-c", export], env)
    levels = [sys.executable, "-m", "explorer", "levels", spec, "--granularity", "block", "--json"]
    out["ours_cold_s"] = timed(levels, env)
    out["ours_warm_s"] = timed(levels, env)
    out["export_again_s"] = timed([sys.executable, "-c", export], env)  # the baseline after ours: load drift
    out["load_after"] = load()
    out["spec"] = spec
    return out


def onnx_file(which: str, layers: int, work: Path) -> Path:
    """The ONNX export of `which` ("llama" or "resnet50"), made once per model file content."""
    import hashlib

    tag = hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()[:10] if which == "llama" else "tv"
    path = work / f"{which}{layers if which == 'llama' else ''}-{tag}.onnx"
    if path.exists():
        return path
    code = (f"import sys, torch; sys.path.insert(0, {str(MODEL_FILE.parent)!r}); import llama_decoder as L; "
            f"m = L.Llama{layers}(); x = (m.example_input(),)" if which == "llama" else
            "import torch, torchvision; m = torchvision.models.resnet50().eval(); x = (torch.randn(1, 3, 224, 224),)")
    code += f"; torch.onnx.export(m, x, {str(path)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return path


class Blocked:
    """Playwright route: requests leaving this machine are aborted and remembered."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, route) -> None:  # noqa: ANN001
        url = route.request.url
        host = re.sub(r"^[a-z]+://([^/:]+).*", r"\1", url)
        if url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.urls.append(url)
            route.abort()


def new_page(browser, blocked: Blocked):  # noqa: ANN001
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.route("**/*", blocked)
    page = ctx.new_page()
    page.set_default_timeout(LIMIT_S * 1000)
    return page


def until(page, cond, limit_s: float = LIMIT_S, poll_ms: int = 50) -> float:  # noqa: ANN001
    t = time.perf_counter()
    while not cond():
        if time.perf_counter() - t > limit_s:
            raise TimeoutError("gave up waiting")
        page.wait_for_timeout(poll_ms)
    return time.perf_counter()


_SHOWN = """() => { const out = {};
  for (const plot of document.querySelectorAll('.js-plotly-plot'))
    for (const t of plot.data || []) if (['ops', 'modules', 'runs'].includes(t.name))
      for (const c of t.customdata || []) out[c] = t.name;
  return out; }"""

_PICTURE = """(node) => { for (const img of document.querySelectorAll('img[alt^="module tree"]')) {
  try { if (img.complete && img.naturalWidth > 0 && atob(img.src.split(',')[1]).includes('data-id="' + node + '"'))
    return true; } catch (e) {} }
  return false; }"""  # the module tree's SVG preview (ui.module_tree), painted before plotly.js has loaded

_POINT = """(node) => { for (const plot of document.querySelectorAll('.js-plotly-plot'))
  for (const g of plot.querySelectorAll('.scatterlayer .trace')) { const d = g.__data__;
    if (!d || !d[0] || !d[0].trace || !['modules', 'runs'].includes(d[0].trace.name)) continue;
    const pts = g.querySelectorAll('.point');
    for (let i = 0; i < pts.length; i++) if (d[i] && d[0].trace.customdata[d[i].i] === node) {
      const r = pts[i].getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; } }
  return null; }"""


def ours(browser, url: str, spec: str, src: str, rolled: str, expand_to: str, search: str,
         blocked: Blocked, shots: Path, name: str) -> dict:
    link = f"{url}/Architecture?src={src}&model={quote(spec)}&tree=1"
    def drawn(p) -> tuple[float, float]:  # noqa: ANN001 - (picture on screen, interactive figure drawn) since goto
        t0 = time.perf_counter()
        p.goto(link, wait_until="commit")
        pic = until(p, lambda: p.evaluate(_PICTURE, rolled) or rolled in p.evaluate(_SHOWN))
        return pic - t0, until(p, lambda: rolled in p.evaluate(_SHOWN)) - t0

    first = new_page(browser, blocked)  # the server's first visit of this model: its imports, the graph read
    pic_first, t_first = drawn(first)
    first.context.close()
    page = new_page(browser, blocked)  # a second session: what the next user (or a reload) meets
    shown = lambda: page.evaluate(_SHOWN)  # noqa: E731
    pic, t1 = drawn(page)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / f"{name}_rolled.png"))
    box = page.evaluate(_POINT, rolled)
    t2 = time.perf_counter()
    page.mouse.click(box["x"], box["y"])
    t3 = until(page, lambda: expand_to in shown())
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / f"{name}_opened.png"))
    field = page.get_by_label("Search nodes (id, op or module)", exact=True).first
    field.fill(search)
    t4 = time.perf_counter()
    field.press("Enter")
    t5 = until(page, lambda: shown().get(search) is not None)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / f"{name}_search.png"))
    page.context.close()
    return {"first_draw_cold_server_s": t_first, "first_picture_cold_server_s": pic_first, "first_draw_s": t1,
            "first_picture_s": pic, "expand_s": t3 - t2, "search_s": t5 - t4}


def canvas_settled(page, selector: str, since: float, quiet_ms: int = 1500, limit_s: float = LIMIT_S,
                   before: bytes | None = None) -> float:  # noqa: ANN001
    """When the element's picture last changed before staying the same for `quiet_ms` (and differing from
    `before`, when given): the time it was drawn."""
    last, last_change = before, None
    while True:
        shot = page.locator(selector).first.screenshot()
        now = time.perf_counter()
        if shot != last:
            last, last_change = shot, now
        elif last_change is not None and (before is None or shot != before) and (now - last_change) * 1000 > quiet_ms:
            return last_change
        if now - since > limit_s:
            raise TimeoutError("the canvas never settled")
        page.wait_for_timeout(100)


def netron_times(browser, path: Path, blocked: Blocked, shots: Path, name: str) -> dict:
    import netron

    port = _free_port()
    netron.start(str(path), address=("127.0.0.1", port), browse=False)
    page = new_page(browser, blocked)
    t0 = time.perf_counter()
    page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
    accept = page.get_by_text("Accept", exact=True)
    while page.locator("g.node").count() == 0:  # the consent box (once per browser profile) comes first
        if accept.count() and accept.first.is_visible():
            accept.first.click()
        page.wait_for_timeout(50)
        if time.perf_counter() - t0 > THIRD_PARTY_LIMIT_S:
            raise TimeoutError("netron drew nothing")
    t1 = time.perf_counter()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / f"{name}_netron.png"))
    nodes = page.locator("g.node").count()
    page.context.close()
    netron.stop(("127.0.0.1", port))
    return {"first_draw_s": t1 - t0, "expand_s": None, "svg_nodes": nodes}


def model_explorer_times(browser, path: Path, blocked: Blocked, shots: Path, name: str) -> dict:
    port = _free_port()
    log = shots / f"{name}_model_explorer.log"
    proc = subprocess.Popen([sys.executable, "-m", "model_explorer", "--host", "127.0.0.1", "--port", str(port),
                             "--no_open_in_browser", "--skip_health_check", "--extensions", "model_explorer_onnx",
                             str(path)], stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        link = None
        t = time.perf_counter()
        while link is None and time.perf_counter() - t < 120:
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?data=\S+)", log.read_text())
            link = m.group(1) if m else None
            time.sleep(0.2)
        page = new_page(browser, blocked)
        t0 = time.perf_counter()
        page.goto(link, wait_until="commit")
        page.locator("webgl-renderer canvas").first.wait_for(timeout=THIRD_PARTY_LIMIT_S * 1000)
        t1 = canvas_settled(page, "webgl-renderer", t0, limit_s=THIRD_PARTY_LIMIT_S)
        page.screenshot(path=str(shots / f"{name}_me_first.png"))
        before = page.locator("webgl-renderer").first.screenshot()
        box = page.locator("webgl-renderer").first.bounding_box()
        t2 = time.perf_counter()
        # the top layer is drawn centred; its expand icon is at its left end (64 px left of its centre)
        page.mouse.click(box["x"] + box["width"] / 2 - 64, box["y"] + box["height"] / 2)
        t3 = canvas_settled(page, "webgl-renderer", t2, before=before, limit_s=THIRD_PARTY_LIMIT_S)
        page.screenshot(path=str(shots / f"{name}_me_expanded.png"))
        page.context.close()
        return {"first_draw_s": t1 - t0, "expand_s": t3 - t2}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=128, choices=(4, 32, 128))
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "browse"))
    ap.add_argument("--skip-third-party", action="store_true")
    ap.add_argument("--skip-cli", action="store_true", help="reuse OUT/work/data (its trace cache) from a run before")
    a = ap.parse_args()
    out = Path(a.out)
    work = out / "work"
    shots = out / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    res: dict = {"machine": f"{os.cpu_count()} cores", "layers": a.layers}
    if a.skip_cli:
        res["cli"] = {"spec": f"{work / 'data' / 'models' / MODEL_FILE.name}:Llama{a.layers}"}
    else:
        res["cli"] = cli(a.layers, work)
        print(json.dumps(res["cli"], indent=1), flush=True)
    spec = res["cli"]["spec"]
    from playwright.sync_api import TimeoutError as PWTimeout

    blocked = Blocked()
    last = f"model.layers.{a.layers - 1}"
    with serve(work / "data") as url, chromium() as browser:
        warm = new_page(browser, blocked)
        warm.goto(url)
        warm.wait_for_selector('[data-testid="stSidebarNav"]')
        warm.context.close()
        res["load_app"] = load()
        res["ours_llama"] = ours(browser, url, spec, "file", f"model.layers.0-{a.layers - 1}", last,
                                 "model.layers.117.self_attn" if a.layers > 117 else "model.layers.3.self_attn",
                                 blocked, shots, f"llama{a.layers}")
        print("ours llama", res["ours_llama"], flush=True)
        res["ours_resnet50"] = ours(browser, url, "resnet50", "torchvision", "layer1.1-2", "layer1.2",
                                    "layer3.4", blocked, shots, "resnet50")
        print("ours resnet50", res["ours_resnet50"], flush=True)
        res["ours_blocked"] = list(blocked.urls)
        if not a.skip_third_party:
            for model, path in (("llama", onnx_file("llama", a.layers, work)), ("resnet50", onnx_file("resnet50", 0, work))):
                for tool, fn in (("netron", netron_times), ("model_explorer", model_explorer_times)):
                    b = Blocked()
                    try:
                        got = fn(browser, path, b, shots, f"{model}")
                    except (TimeoutError, PWTimeout) as e:
                        got = {"first_draw_s": None, "expand_s": None, "note": f"{e} within {THIRD_PARTY_LIMIT_S:g} s"}
                    res[f"{tool}_{model}"] = {**got, "blocked": b.urls, "load": load()}
                    print(tool, model, res[f"{tool}_{model}"], flush=True)
    (out / "browse.json").write_text(json.dumps(res, indent=1))
    print(table(res))


def table(res: dict) -> str:
    c = res["cli"]
    rows = ["| | ours | Model Explorer | Netron |", "|---|---|---|---|"]
    for model in ("llama", "resnet50"):
        o, me, nt = res.get(f"ours_{model}", {}), res.get(f"model_explorer_{model}", {}), res.get(f"netron_{model}", {})
        f = lambda d, k: "n/a" if d.get(k) is None else f"{d[k]:.2f} s"  # noqa: E731
        rows.append(f"| {model}: first picture of the graph (ours: the SVG preview) | {f(o, 'first_picture_s')} | | |")
        rows.append(f"| {model}: first drawn graph (ours: the interactive plotly figure) | {f(o, 'first_draw_s')} | {f(me, 'first_draw_s')} | {f(nt, 'first_draw_s')} |")
        rows.append(f"| {model}: expanded block | {f(o, 'expand_s')} | {f(me, 'expand_s')} | {f(nt, 'expand_s')} |")
        rows.append(f"| {model}: search and jump | {f(o, 'search_s')} | | |")
        rows.append(f"| {model}: first drawn graph, server's first visit | {f(o, 'first_draw_cold_server_s')} | | |")
    if "torch_export_s" in c:
        rows.append(f"\nCLI: torch.export.export {c['torch_export_s']:.1f} s (again after: {c['export_again_s']:.1f} s); "
                    f"levels --granularity block --json: cold {c['ours_cold_s']:.1f} s "
                    f"({c['ours_cold_s'] / c['torch_export_s']:.2f}x), cached {c['ours_warm_s']:.1f} s; "
                    f"load {c['load_before']} -> {c['load_after']}")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
